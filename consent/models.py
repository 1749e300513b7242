"""Consent records. Every change is a new, numbered version; no version is ever edited, so the
history shows who agreed to what, when, and on whose behalf."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from consent.records import Record, str_enum, utcnow


class Audience(enum.StrEnum):
    """Who a story may be shown to, each chosen separately by its teller."""

    CARE_TEAM = "care_team"
    TRAINING = "training"
    LEARNING_EVENTS = "learning_events"
    PARTNERS = "partners"
    PUBLIC = "public"
    STATISTICS = "statistics"

    @property
    def label(self) -> str:
        """The short name, in the page's language: "training"."""
        return str(AUDIENCE_LABELS[self][0])

    @property
    def explanation(self) -> str:
        """What choosing it means, in the page's language."""
        return str(AUDIENCE_LABELS[self][1])

    @property
    def choice(self) -> str:
        """The wizard's whole choice, name and meaning, in the page's language."""
        return str(AUDIENCE_LABELS[self][2])


# (short label, plain explanation, the wizard's choice as one message), each lazy: read when shown,
# in the language of the page that shows it. The choice is its own message, not label + ": " +
# explanation, so the Welsh can write it as a whole.
AUDIENCE_LABELS = {
    Audience.CARE_TEAM: (
        lazy_gettext("my care team"),
        lazy_gettext("the people who support me, so they know me better"),
        lazy_gettext("My care team: the people who support me, so they know me better"),
    ),
    Audience.TRAINING: (
        lazy_gettext("training"),
        lazy_gettext("courses for staff in this organisation, so they learn from my experience"),
        lazy_gettext(
            "Training: courses for staff in this organisation, so they learn from my experience"
        ),
    ),
    Audience.LEARNING_EVENTS: (
        lazy_gettext("learning events"),
        lazy_gettext("councillors and senior managers watch stories at events"),
        lazy_gettext("Learning events: councillors and senior managers watch stories at events"),
    ),
    Audience.PARTNERS: (
        lazy_gettext("partner organisations"),
        lazy_gettext("staff in other organisations we work with"),
        lazy_gettext("Partner organisations: staff in other organisations we work with"),
    ),
    Audience.PUBLIC: (
        lazy_gettext("the public"),
        lazy_gettext("anyone, on a public website"),
        lazy_gettext("The public: anyone, on a public website"),
    ),
    Audience.STATISTICS: (
        lazy_gettext("anonymous statistics"),
        lazy_gettext("counting what matters to people, without my name or my words"),
        lazy_gettext(
            "Anonymous statistics: counting what matters to people, without my name or my words"
        ),
    ),
}


class Naming(enum.StrEnum):
    FULL = "full"
    FIRST = "first"
    ANONYMOUS = "anonymous"

    @property
    def label(self) -> str:
        """How the name is shown, in the page's language."""
        return str(NAMING_LABELS[self.value])


class ConsentStatus(enum.StrEnum):
    ACTIVE = "active"  # taking part; shared only once released, to the chosen audiences
    WITHDRAWN = "withdrawn"  # the teller stopped sharing; shown to nobody but teller and staff
    ERASED = "erased"  # the story's media and words were deleted


class RecordedFor(enum.StrEnum):
    """On whose say-so the choices were made."""

    SELF = "self"  # the teller, perhaps with a curator sitting with them
    PROXY = "proxy"  # someone deciding in the teller's best interests
    PARENT = "parent"  # a parent or guardian for a child

    @property
    def label(self) -> str:
        """Who made the choices, in the page's language."""
        return str(RECORDED_FOR_LABELS[self.value])


# Lazy, so each is read in the language of the page that shows it.
NAMING_LABELS = {
    "full": lazy_gettext("My full name"),
    "first": lazy_gettext("My first name only"),
    "anonymous": lazy_gettext("No name (anonymous)"),
}
RECORDED_FOR_LABELS = {
    "self": lazy_gettext("The storyteller, for themselves"),
    "proxy": lazy_gettext("Someone else, in the storyteller's best interests"),
    "parent": lazy_gettext("A parent or guardian, for a child"),
}


class ConsentAction(enum.StrEnum):
    TAKE_PART = "take_part"  # step 1, at upload
    RELEASE = "release"  # step 2, after watching the finished story
    CHANGE = "change"  # narrow or widen the choices
    RENEW = "renew"  # a new review date
    WITHDRAW = "withdraw"
    ERASE = "erase"


def waiting(person: dict[str, Any]) -> bool:
    """Whether this other person in a story holds it back: not agreed, and not yet removed."""
    return not person.get("agreed") and not person.get("removed")


class ConsentVersion(Record):
    __tablename__ = "consent_versions"
    __table_args__ = (UniqueConstraint("story_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    version: Mapped[int]
    action: Mapped[ConsentAction] = mapped_column(str_enum(ConsentAction))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus))
    # Step 2: set once the teller has watched the finished story and released it.
    released_at: Mapped[datetime | None]
    # Audiences, one column each so a list query can filter on them in any database.
    audience_care_team: Mapped[bool] = mapped_column(default=False)
    audience_training: Mapped[bool] = mapped_column(default=False)
    audience_learning_events: Mapped[bool] = mapped_column(default=False)
    audience_partners: Mapped[bool] = mapped_column(default=False)
    audience_public: Mapped[bool] = mapped_column(default=False)
    audience_statistics: Mapped[bool] = mapped_column(default=False)
    clips_allowed: Mapped[bool] = mapped_column(default=False)
    naming: Mapped[Naming] = mapped_column(str_enum(Naming), default=Naming.FIRST)
    # After this date the story is shown to nobody but its teller and staff, until renewed.
    review_date: Mapped[date | None]
    recorded_for: Mapped[RecordedFor] = mapped_column(
        str_enum(RecordedFor), default=RecordedFor.SELF
    )
    proxy_name: Mapped[str] = mapped_column(String(120), default="")
    proxy_relationship: Mapped[str] = mapped_column(String(120), default="")
    best_interests_note: Mapped[str] = mapped_column(Text, default="")
    # For a child's story: the day they turn 18, when their own consent must be asked.
    adult_on: Mapped[date | None]
    # [{"name": "...", "agreed": true|false}] — anyone not agreed must be redacted. A curator who
    # has removed someone adds "removed": true and, for a video, "picture": "covered"|"absent".
    third_parties: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # True while someone in third_parties has not agreed and has not been removed: the story then
    # reaches nobody but its teller and staff. Kept with the list (see _hold) so SQL can filter.
    people_held: Mapped[bool] = mapped_column(default=False, server_default="0")
    notes: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # e.g. why a curator withdrew it

    # The person who recorded it (the app's ``User``: consent names it, never imports it).
    recorded_by: Mapped[Any] = relationship("User")  # untranslated: a model name

    @validates("third_parties")
    def _hold(self, _key: str, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.people_held = any(waiting(p) for p in people or ())
        return people

    @property
    def audiences(self) -> set[Audience]:
        """The audiences chosen in this version."""
        return {a for a in Audience if getattr(self, f"audience_{a.value}")}

    @property
    def released(self) -> bool:
        return self.released_at is not None


class StoryUse(Record):
    """One use of a story: a view by an audience, and later sessions, showcases and exports.

    This is what "where my story has been used" shows its teller.
    """

    __tablename__ = "story_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "view" now; "session", "showcase", "export"
    audience: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
