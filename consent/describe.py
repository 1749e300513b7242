"""Consent in plain words wherever a story plays: "Shared for: training · until March 2027"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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


def audience_list(audiences: set[Audience]) -> str:
    """The chosen audiences in plain words, in a fixed order: "training, learning events"."""
    names = [a.label for a in Audience if a in audiences]
    return ", ".join(names) if names else "nobody yet"


def sharing(story: ConsentedStory, viewer_is_teller: bool = False) -> Sharing:
    """Who can see this story, and until when, in one sentence."""
    who = "you" if viewer_is_teller else "the storyteller"
    consent: ConsentVersion | None = story.consent
    if consent is None or (consent.status == ConsentStatus.ACTIVE and consent.released_at is None):
        return Sharing("private", f"Not shared yet: only {who} and curators can see it.")
    if consent.status == ConsentStatus.ERASED:
        return Sharing("erased", "This story was erased.")
    if consent.status == ConsentStatus.WITHDRAWN:
        when = consent.created_at.strftime("%-d %B %Y")
        return Sharing(
            "withdrawn",
            f"Withdrawn by the storyteller on {when}: only {who} and curators can see it.",
        )
    until = consent.review_date
    audiences = audience_list(consent.audiences)
    if until is not None and until < today():
        return Sharing(
            "expired",
            f"Sharing ended on {until.strftime('%-d %B %Y')} and needs renewing: "
            f"only {who} and curators can see it.",
            renewal_due=True,
        )
    due = until is not None and until - today() <= RENEWAL_WINDOW
    if people_to_remove(consent):
        # The choices stand, but nobody else sees the story until the person is removed.
        return Sharing(
            "held",
            f"Held back: someone in it has not agreed to be in it. Only {who} and curators can "
            f"see it until a curator removes them (then: {audiences}).",
            renewal_due=due,
        )
    suffix = f" · until {until.strftime('%B %Y')}" if until else ""
    return Sharing("shared", f"Shared for: {audiences}{suffix}", renewal_due=due)


def teller_name(story: ConsentedStory, viewer: object) -> str:
    """The teller's name as they chose it to be shown to this viewer.

    The teller sees "you"; staff who look after the story see the full name; everyone else
    sees the full name, the first name only, or nothing, as the current consent says.
    """
    from consent.policy import STORY_STAFF

    if getattr(viewer, "id", None) == story.storyteller_id:
        return "you"
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
        return full.split()[0] if full.split() else "Anonymous storyteller"
    return "an anonymous storyteller"
