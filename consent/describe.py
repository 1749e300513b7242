"""Consent in plain words wherever a story plays: "Shared for: training · until March 2027"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from babel.lists import format_list
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from consent.models import Audience, ConsentStatus, ConsentVersion
from consent.policy import people_to_remove, today
from consent.stories import ConsentedStory

# Offer renewal from this long before the review date.
RENEWAL_WINDOW = timedelta(days=60)


@dataclass(frozen=True)
class Sharing:
    state: str  # "private", "shared", "held", "expired", "withdrawn", "erased"
    text: str
    renewal_due: bool = False  # the review date has passed or is near: offer to renew


def _language() -> str:
    """The page's language ("cy" or "en"); English outside a request."""
    return str(get_locale() or "en")


# Welsh "and" before the list's last name: "a", "ac" before a vowel, "a'r" for "y"/"yr" ("the").
# Babel's Welsh list pattern is CLDR's placeholder "a(c)", so this picks the right word itself.
_WELSH_VOWELS = "aeiouwyâêîôûŵŷ"
# "a" softens nothing but turns c, p, t into ch, ph, th (the aspirate mutation).
_ASPIRATE = {"c": "ch", "p": "ph", "t": "th"}


def _welsh_and(name: str) -> str:
    """ "a"/"ac"/"a'r" and ``name``, mutated as Welsh writes it after "and"."""
    article = re.match(r"(?i)yr? ", name)
    if article:
        return "a'r " + name[article.end() :]
    first = name[:1].lower()
    if first in _WELSH_VOWELS:
        return "ac " + name
    if first in _ASPIRATE and name[1:2].lower() not in ("h", "s"):
        mutated = _ASPIRATE[first]
        return "a " + (mutated.capitalize() if name[:1].isupper() else mutated) + name[1:]
    return "a " + name


def list_of(names: list[str]) -> str:
    """Names as one list in the page's language: "training, learning events" (English keeps
    its short comma list); "hyfforddiant, digwyddiadau dysgu a'r cyhoedd" (Welsh)."""
    if _language() == "cy" and len(names) > 1:
        return ", ".join(names[:-1]) + " " + _welsh_and(names[-1])
    return format_list(names, style="unit", locale="en") if names else ""


def audience_list(audiences: set[Audience], capitalized: bool = False) -> str:
    """The chosen audiences in plain words, in a fixed order: "training, learning events"."""
    names = [a.label for a in Audience if a in audiences]
    if capitalized:
        # English capitalises each name in a summary; Welsh writes a list in sentence case.
        first_only = _language() == "cy"
        names = [
            name[:1].upper() + name[1:] if i == 0 or not first_only else name
            for i, name in enumerate(names)
        ]
    return list_of(names)


def sharing(story: ConsentedStory, viewer_is_teller: bool = False) -> Sharing:
    """Who can see this story, and until when, in one sentence (the page's language).

    Each sentence is whole, for the teller ("you") and for everyone else ("the storyteller"), so
    a translation can order its words its own way.
    """
    consent: ConsentVersion | None = story.consent
    if consent is None or (consent.status == ConsentStatus.ACTIVE and consent.released_at is None):
        if viewer_is_teller:
            return Sharing("private", _("Not shared yet: only you and curators can see it."))
        return Sharing(
            "private", _("Not shared yet: only the storyteller and curators can see it.")
        )
    if consent.status == ConsentStatus.ERASED:
        return Sharing("erased", _("This story was erased."))
    if consent.status == ConsentStatus.WITHDRAWN:
        when = format_date(consent.created_at, "d MMMM y")
        if viewer_is_teller:
            text = _(
                "Withdrawn by the storyteller on %(date)s: only you and curators can see it.",
                date=when,
            )
        else:
            text = _(
                "Withdrawn by the storyteller on %(date)s: only the storyteller and curators "
                "can see it.",
                date=when,
            )
        return Sharing("withdrawn", text)
    until = consent.review_date
    if until is not None and until < today():
        ended = format_date(until, "d MMMM y")
        if viewer_is_teller:
            text = _(
                "Sharing ended on %(date)s and needs renewing: only you and curators can see it.",
                date=ended,
            )
        else:
            text = _(
                "Sharing ended on %(date)s and needs renewing: only the storyteller and curators "
                "can see it.",
                date=ended,
            )
        return Sharing("expired", text, renewal_due=True)
    due = until is not None and until - today() <= RENEWAL_WINDOW
    audiences = audience_list(consent.audiences)
    if people_to_remove(consent):
        then = audiences or _("nobody yet")
        # The choices stand, but nobody else sees the story until the person is removed.
        if viewer_is_teller:
            text = _(
                "Held back: someone in it has not agreed to be in it. Only you and curators can "
                "see it until a curator removes them (then: %(audiences)s).",
                audiences=then,
            )
        else:
            text = _(
                "Held back: someone in it has not agreed to be in it. Only the storyteller and "
                "curators can see it until a curator removes them (then: %(audiences)s).",
                audiences=then,
            )
        return Sharing("held", text, renewal_due=due)
    if not consent.audiences:
        text = _("Shared for: nobody yet")
    elif until is not None:
        text = _(
            "Shared for: %(audiences)s · until %(month)s",
            audiences=audiences,
            month=format_date(until, "MMMM y"),
        )
    else:
        text = _("Shared for: %(audiences)s", audiences=audiences)
    return Sharing("shared", text, renewal_due=due)


def teller_name(story: ConsentedStory, viewer: object) -> str:
    """The teller's name as they chose it to be shown to this viewer.

    The teller sees "you"; staff who look after the story see the full name; everyone else
    sees the full name, the first name only, or nothing, as the current consent says.
    """
    from consent.policy import STORY_STAFF

    if getattr(viewer, "id", None) == story.storyteller_id:
        return _("you")
    if getattr(viewer, "role", None) in STORY_STAFF:
        return story.storyteller.display_name
    return name_as_consented(story)


def name_as_consented(story: ConsentedStory) -> str:
    """The teller's name as their consent lets it be shown to an audience (a room, an event):
    full name, first name only, or none, whoever is presenting."""
    from consent.models import Naming

    full = story.storyteller.display_name
    naming = story.consent.naming if story.consent else Naming.ANONYMOUS
    if naming == Naming.FULL:
        return full
    if naming == Naming.FIRST:
        return full.split()[0] if full.split() else _("Anonymous storyteller")
    return _("an anonymous storyteller")
