"""The names of the Talking Points themes this project ships, in words a Welsh page can show.

The shipped taxonomy (media_pipeline/tagger/taxonomy.json) is copied into the ``subthemes`` table
on set-up, in English, and an organisation may rename a theme there. Each shipped name and
description is marked here once (``N_``), so the catalogue carries its Welsh; a page shows the
Welsh only while the row still holds the shipped English (``shown_label``). A name an
organisation typed itself is its own words and is shown as typed, in every language.

Why a catalogue entry rather than a Welsh column: the names already live in gettext with every
other word, the translators see them with the glossary, and no migration is needed; a Welsh
column would need a form to keep up to date and would still say nothing for typed names.
"""

from __future__ import annotations

from flask_babel import gettext

from storyhub.extensions import N_  # one marker for messages translated when shown

# theme key -> (shipped name, shipped description), as in taxonomy.json.
SHIPPED_THEMES: dict[str, tuple[str, str]] = {
    "feeling-safe": (
        N_("Feeling safe"),
        N_("Safe and secure at home and out; free from abuse, harm, falls and fear."),
    ),
    "things-to-do": (
        N_("Having things to do"),
        N_("Purpose, work, volunteering, hobbies, learning, a reason to get up."),
    ),
    "seeing-people": (
        N_("Seeing people"),
        N_(
            "Family, friends, community, keeping in touch; loneliness and isolation when it "
            "is missing."
        ),
    ),
    "staying-well": (
        N_("Staying as well as I can"),
        N_("Keeping health, mental wellbeing and energy as good as they can be."),
    ),
    "living-as-i-want": (
        N_("Living where and as I want"),
        N_("Home, independence in daily life, routines, control over everyday choices."),
    ),
    "dealing-with-stigma": (
        N_("Dealing with stigma"),
        N_("Being seen as a person, not a condition; discrimination and labels."),
    ),
    "carer-own-life": (
        N_("Carer's own health and life"),
        N_(
            "For unpaid carers: their own health, a life of their own, balance with caring, "
            "money worries, the relationship with the person they care for."
        ),
    ),
    "listened-to": (
        N_("Listened to"),
        N_("Being heard and understood; someone asking what matters."),
    ),
    "having-a-say": (
        N_("Having a say"),
        N_("Choice and control over the support; decisions made with, not for, the person."),
    ),
    "treated-with-respect": (
        N_("Treated with respect"),
        N_("Dignity, being valued, treated as an individual and as an expert in one's own life."),
    ),
    "responded-to": (
        N_("Responded to"),
        N_(
            "Help that comes when needed, flexible and timely; being passed around or waiting"
            " is its absence."
        ),
    ),
    "reliability": (
        N_("Reliability"),
        N_("Workers who turn up, continuity of the same people, trust that built up over time."),
    ),
    "kept-informed": (
        N_("Kept informed"),
        N_("Knowing what is happening, clear information, no surprises."),
    ),
    "confidence-morale": (
        N_("Improved confidence and morale"),
        N_("Feeling better about oneself, hope, motivation, belief in the future."),
    ),
    "skills": (
        N_("Improved skills"),
        N_(
            "Learning to do things: cooking, budgeting, travel, managing a condition, caring "
            "skills."
        ),
    ),
    "mobility": (
        N_("Improved mobility"),
        N_("Walking, getting about, physical functioning, reablement after illness or a fall."),
    ),
    "reduced-symptoms": (
        N_("Reduced symptoms"),
        N_("Less pain, fewer crises, better mental health symptoms, fewer admissions."),
    ),
    "regaining-control": (
        N_("Regaining control"),
        N_("Getting back on track, recovery, being back in charge of one's life."),
    ),
}

# kind -> the shipped description the taxonomy page shows under its heading.
SHIPPED_KIND_DESCRIPTIONS: dict[str, str] = {
    "maintenance": N_(
        "The parts of a whole life that a person works to keep or achieve, whatever "
        "services do: what matters to them day to day. Losing one of these, or fearing to"
        " lose it, is still this kind."
    ),
    "process": N_(
        "How it felt to seek, get and use support: the way services and workers treated "
        "the person. Bad experiences count as much as good ones."
    ),
    "change": N_(
        "Improvements that a person wants support to bring about, has seen it bring "
        "about, or has seen it fail to bring about."
    ),
}


def shown_label(key: str, label: str) -> str:
    """The theme's name for this page: the Welsh of a shipped name not renamed, else as typed."""
    shipped = SHIPPED_THEMES.get(key)
    return gettext(label) if shipped is not None and shipped[0] == label else label


def shown_description(key: str, description: str) -> str:
    """The theme's description for this page, translated like ``shown_label``."""
    shipped = SHIPPED_THEMES.get(key)
    if shipped is not None and description and shipped[1] == description:
        return gettext(description)
    return description
