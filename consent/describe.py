"""Consent in plain words wherever a story plays: "Shared for: training · until March 2027"."""

from __future__ import annotations

from dataclasses import dataclass

from consent.models import Audience, ConsentStatus, ConsentVersion
from consent.policy import today
from storyhub.models import Story


@dataclass(frozen=True)
class Sharing:
    state: str  # "private", "shared", "expired", "withdrawn", "erased"
    text: str


def _audience_list(audiences: set[Audience]) -> str:
    names = [a.label for a in Audience if a in audiences]
    return ", ".join(names) if names else "nobody yet"


def sharing(story: Story, viewer_is_teller: bool = False) -> Sharing:
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
    audiences = _audience_list(consent.audiences)
    if until is not None and until < today():
        return Sharing(
            "expired",
            f"Sharing ended on {until.strftime('%-d %B %Y')} and needs renewing: "
            f"only {who} and curators can see it.",
        )
    suffix = f" · until {until.strftime('%B %Y')}" if until else ""
    return Sharing("shared", f"Shared for: {audiences}{suffix}")
