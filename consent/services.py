"""Changing consent: take part, release, change, renew, withdraw, erase. Each makes a new version.

The caller commits. Side effects that must follow a release, a change, a withdrawal or an erasure
everywhere (deleting derived media, copies, search entries) are the app's: consent tells it of
each event (``Archive.consent_changed``), and the features that registered for it run inside the
same transaction (typically by submitting a job that is sent after the commit).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, select

from consent.archive import ConsentEvent, archive, session
from consent.models import (
    Audience,
    ConsentAction,
    ConsentStatus,
    ConsentVersion,
    Naming,
    RecordedFor,
    StoryUse,
)
from consent.policy import POOR_RECOGNITION, STORY_STAFF, Purpose, purpose_for, today
from consent.records import utcnow
from consent.roles import Person
from consent.stories import ConsentedStory, StoryState, story_class

# Fields copied from one version to the next unless a change says otherwise.
_CARRIED = (
    "status",
    "released_at",
    "clips_allowed",
    "naming",
    "review_date",
    "recorded_for",
    "proxy_name",
    "proxy_relationship",
    "best_interests_note",
    "adult_on",
    "third_parties",
    "notes",
    *(f"audience_{a.value}" for a in Audience),
)


class ConsentError(ValueError):
    """A consent change that can't be made; the message says why, in plain words."""


@dataclass
class Choices:
    """What the storyteller (or someone on their behalf) chose in the consent wizard."""

    audiences: set[Audience]
    clips_allowed: bool = False
    naming: Naming = Naming.FIRST
    review_months: int = 12
    recorded_for: RecordedFor = RecordedFor.SELF
    proxy_name: str = ""
    proxy_relationship: str = ""
    best_interests_note: str = ""
    adult_on: date | None = None
    third_parties: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""

    def check(self) -> None:
        """Raise ConsentError if the choices are incomplete."""
        if not 1 <= self.review_months <= 36:
            raise ConsentError(_("Please choose how long your story may be shared for."))
        if self.recorded_for == RecordedFor.PROXY and not (
            self.proxy_name.strip()
            and self.proxy_relationship.strip()
            and self.best_interests_note.strip()
        ):
            raise ConsentError(
                _(
                    "When someone decides for the storyteller, please give their name, how they "
                    "know the storyteller, and why sharing is in the storyteller's best interests."
                )
            )
        if self.recorded_for == RecordedFor.PARENT and (
            not self.proxy_name.strip() or self.adult_on is None
        ):
            raise ConsentError(
                _(
                    "For a child's story, please give the parent's or guardian's name and the "
                    "child's 18th birthday, when we will ask the child themselves."
                )
            )
        for person in self.third_parties:
            if not str(person.get("name", "")).strip():
                raise ConsentError(_("Please give a name for each other person in the story."))


# What a curator records on a person who has been removed from a story (see person_removed).
_REMOVAL_KEYS = ("removed", "picture")


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _review_date(months: int, adult_on: date | None) -> date:
    review = add_months(today(), months)
    # A child's consent lapses when they turn 18: then they are asked themselves.
    return min(review, adult_on) if adult_on else review


def _new_version(
    story: ConsentedStory, by: Person, action: ConsentAction, **changes: Any
) -> ConsentVersion:
    previous = story.consent
    values: dict[str, Any] = {}
    if previous is not None:
        values = {name: getattr(previous, name) for name in _CARRIED}
        values["third_parties"] = [dict(p) for p in previous.third_parties]
        if "third_parties" in changes:
            changes["third_parties"] = _keep_removals(previous.third_parties, changes)
    values.update(changes)
    number = (previous.version if previous else 0) + 1
    version = ConsentVersion(
        story_id=story.id, version=number, action=action, recorded_by_id=by.id, **values
    )
    session().add(version)
    session().flush()
    story.consent = version
    archive().audit(
        f"consent.{action.value}",
        actor=by,
        object_type="story",
        object_id=story.id,
        version=number,
    )
    return version


def _keep_removals(before: list[dict[str, Any]], changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The wizard's list of people, keeping what a curator recorded about each (by name):
    changing who may see a story must not put back a person who was already removed."""
    done = {str(p.get("name", "")).strip().casefold(): p for p in before if p.get("removed")}
    people = []
    for person in changes["third_parties"]:
        person = dict(person)
        earlier = done.get(str(person.get("name", "")).strip().casefold())
        if earlier is not None and not person.get("removed"):
            person.update({k: v for k, v in earlier.items() if k in _REMOVAL_KEYS})
        people.append(person)
    return people


def _choice_fields(choices: Choices) -> dict[str, Any]:
    fields: dict[str, Any] = {f"audience_{a.value}": a in choices.audiences for a in Audience}
    fields.update(
        clips_allowed=choices.clips_allowed,
        naming=choices.naming,
        recorded_for=choices.recorded_for,
        proxy_name=choices.proxy_name.strip(),
        proxy_relationship=choices.proxy_relationship.strip(),
        best_interests_note=choices.best_interests_note.strip(),
        adult_on=choices.adult_on,
        third_parties=[
            {"name": str(p["name"]).strip(), "agreed": bool(p.get("agreed"))}
            for p in choices.third_parties
        ],
        notes=choices.notes.strip(),
    )
    return fields


def take_part(story: ConsentedStory, by: Person) -> ConsentVersion:
    """Step 1, at upload: the teller agrees to take part and have the story prepared."""
    if story.consent is not None:
        raise ConsentError(_("This story already has a consent record."))
    return _new_version(story, by, ConsentAction.TAKE_PART, status=ConsentStatus.ACTIVE)


def _require_open(story: ConsentedStory) -> ConsentVersion:
    consent = story.consent
    if consent is None or consent.status == ConsentStatus.ERASED:
        raise ConsentError(_("This story has been erased."))
    return consent


def release(
    story: ConsentedStory, by: Person, choices: Choices, *, watched: bool
) -> ConsentVersion:
    """Step 2: share the finished story with the chosen audiences until its review date."""
    _require_open(story)
    if story.state != StoryState.READY:
        raise ConsentError(_("Your story can be shared once it is ready to watch."))
    if not watched:
        raise ConsentError(_("Please watch your finished story before you choose who may see it."))
    choices.check()
    transcript = story.transcript
    if (
        transcript is not None
        and transcript.approved_at is None
        and getattr(transcript, "recognition", None) != POOR_RECOGNITION
    ):
        # Watching the finished story includes checking its words: step 2 approves them. Not
        # words the machine could not follow: the teller approves those on their own.
        transcript.approved_at = utcnow()
        transcript.approved_by_id = by.id
    version = _new_version(
        story,
        by,
        ConsentAction.RELEASE,
        status=ConsentStatus.ACTIVE,
        released_at=utcnow(),
        review_date=_review_date(choices.review_months, choices.adult_on),
        **_choice_fields(choices),
    )
    archive().consent_changed(ConsentEvent.RELEASED, story, version)
    return version


def change(story: ConsentedStory, by: Person, choices: Choices) -> ConsentVersion:
    """Narrow or widen a released story's choices; the review date starts again from today."""
    consent = _require_open(story)
    if consent.status != ConsentStatus.ACTIVE or consent.released_at is None:
        raise ConsentError(_("This story isn't being shared, so there is nothing to change."))
    choices.check()
    version = _new_version(
        story,
        by,
        ConsentAction.CHANGE,
        review_date=_review_date(choices.review_months, choices.adult_on),
        **_choice_fields(choices),
    )
    archive().consent_changed(ConsentEvent.CHANGED, story, version)
    return version


def renew(story: ConsentedStory, by: Person, months: int = 12) -> ConsentVersion:
    """Keep sharing with the same choices for another ``months``."""
    consent = _require_open(story)
    if consent.status != ConsentStatus.ACTIVE or consent.released_at is None:
        raise ConsentError(_("This story isn't being shared, so there is nothing to renew."))
    if not 1 <= months <= 36:
        raise ConsentError(_("Please choose how long your story may be shared for."))
    return _new_version(
        story, by, ConsentAction.RENEW, review_date=_review_date(months, consent.adult_on)
    )


def withdraw(story: ConsentedStory, by: Person, reason: str = "") -> ConsentVersion:
    """Stop sharing the story, everywhere, at once. Staff acting for the teller give a reason."""
    consent = _require_open(story)
    if consent.status == ConsentStatus.WITHDRAWN:
        raise ConsentError(_("This story has already been withdrawn."))
    if by.id != story.storyteller_id and not reason.strip():
        raise ConsentError(_("Please say why you are withdrawing this story for its teller."))
    version = _new_version(
        story, by, ConsentAction.WITHDRAW, status=ConsentStatus.WITHDRAWN, reason=reason.strip()
    )
    archive().consent_changed(ConsentEvent.WITHDRAWN, story, version)
    return version


def erase(story: ConsentedStory, by: Person, reason: str = "") -> ConsentVersion:
    """Erase the story (GDPR Art. 17): its media and words go; only the bare record stays.

    The consent history keeps who agreed to what kind of thing and when, but the free text in it
    (names of other people, notes, best-interests notes) is removed with the story's words.
    """
    _require_open(story)
    if by.id != story.storyteller_id and not reason.strip():
        raise ConsentError(_("Please say why you are erasing this story for its teller."))
    for old in story.consent_history:
        old.third_parties = [
            {**p, "name": "", "agreed": p.get("agreed", False)} for p in old.third_parties
        ]
        old.notes = ""
        old.best_interests_note = ""
        old.proxy_name = ""
        old.reason = ""
    version = _new_version(story, by, ConsentAction.ERASE, status=ConsentStatus.ERASED)
    story.title = "(erased story)"
    story.description = ""
    archive().consent_changed(ConsentEvent.WITHDRAWN, story, version)
    return version


# Staff are asked to review a story from one calendar month before its review date. Counted in
# calendar months by add_months, the same sum that set the date (not a fixed 30 days), so a
# release for one month is listed from the day it is made, whatever the month's length.
REVIEW_NOTICE_MONTHS = 1


def reviews_due(within_months: int = REVIEW_NOTICE_MONTHS) -> list[Any]:
    """Shared stories whose review date falls within ``within_months`` months (or has passed)."""
    horizon = add_months(today(), within_months)
    return list(
        session().scalars(
            select(story_class())
            .join(ConsentVersion, story_class().consent_id == ConsentVersion.id)
            .where(
                and_(
                    ConsentVersion.status == ConsentStatus.ACTIVE,
                    ConsentVersion.released_at.is_not(None),
                    ConsentVersion.review_date <= horizon,
                )
            )
            .order_by(ConsentVersion.review_date)
        )
    )


def record_view(story: ConsentedStory, user: Person) -> None:
    """Count a view by an audience (not the teller's or staff's own looking)."""
    if story.storyteller_id == user.id or user.role in STORY_STAFF:
        return
    purpose = purpose_for(user)
    if purpose == Purpose.OWN:
        return
    session().add(StoryUse(story_id=story.id, kind="view", audience=purpose.value, user_id=user.id))


def record_use(
    story: ConsentedStory, user: Person | None, *, kind: str, audience: Audience
) -> None:
    """Record a use of ``story`` for ``audience``: a session run in a room, an export, a
    showcase. Unlike a view, staff uses count too: the story reached its audience either way."""
    session().add(
        StoryUse(story_id=story.id, kind=kind, audience=audience.value, user_id=user and user.id)
    )


def uses_by_audience(story: ConsentedStory) -> dict[tuple[str, str], int]:
    """How many times the story was used, by (kind, audience)."""
    rows = (
        session()
        .execute(
            select(StoryUse.kind, StoryUse.audience, func.count())
            .where(StoryUse.story_id == story.id)
            .group_by(StoryUse.kind, StoryUse.audience)
        )
        .all()
    )
    return {(kind, audience): count for kind, audience, count in rows}


def default_review_months() -> int:
    """The review period offered first (``CONSENT_REVIEW_MONTHS``, default 12)."""
    return archive().review_months()


# --- other people in the story ------------------------------------------------------------
# Someone the teller marked as not agreeing holds the story back from every audience until a
# curator has removed them (consent.policy.people_to_remove), or until they agree. Either is a
# new version, so the history shows who recorded what, and when.


def _person(consent: ConsentVersion, index: int) -> dict[str, Any]:
    if not 0 <= index < len(consent.third_parties or ()):
        raise ConsentError(_("We couldn't find that person in this story. Please try again."))
    return dict(consent.third_parties[index])


def person_agreed(story: ConsentedStory, by: Person, index: int) -> ConsentVersion:
    """Record that person ``index`` in the story has now agreed to be in it (a new version)."""
    consent = _require_open(story)
    person = _person(consent, index)
    if person.get("agreed"):
        raise ConsentError(_("We already have a note that %(name)s agreed.", name=person["name"]))
    people = [dict(p) for p in consent.third_parties]
    people[index]["agreed"] = True
    version = _new_version(
        story, by, ConsentAction.CHANGE, third_parties=people,
        # Kept as written, in the language of the person who recorded it, like a typed reason.
        reason=_("Recorded that %(name)s agreed to be in the story.", name=person["name"]),
    )  # fmt: skip
    archive().audit("consent.person_agreed", actor=by, object_type="story", object_id=story.id,
                 version=version.version, person=index)  # fmt: skip
    return version


def person_removed(
    story: ConsentedStory, by: Person, index: int, picture: str | None
) -> ConsentVersion:
    """Record that a curator took person ``index`` out of the story: their name out of the words
    and sound, and for a video, the picture covered where they appear ("covered") or checked
    that they don't appear ("absent"). The caller checks the story; this records it."""
    consent = _require_open(story)
    if by.role not in STORY_STAFF:
        raise ConsentError(_("Only a curator can record that someone was removed from a story."))
    person = _person(consent, index)
    if person.get("agreed") or person.get("removed"):
        raise ConsentError(
            _("%(name)s doesn't need removing from this story.", name=person["name"])
        )
    people = [dict(p) for p in consent.third_parties]
    people[index]["removed"] = True
    if picture is not None:
        people[index]["picture"] = picture
    version = _new_version(
        story, by, ConsentAction.CHANGE, third_parties=people,
        # Kept as written, in the language of the person who recorded it, like a typed reason.
        reason=_("Recorded that %(name)s was removed from the story.", name=person["name"]),
    )  # fmt: skip
    archive().audit("consent.person_removed", actor=by, object_type="story", object_id=story.id,
                 version=version.version, person=index, picture=picture or "")  # fmt: skip
    return version
