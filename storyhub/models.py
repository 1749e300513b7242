"""The data model: people and their roles, stories and their media, jobs, and the audit trail.

Written for SQLite by default and PostgreSQL when scaling out: portable column types only, string
enums (stored as short strings with CHECK constraints via ``native_enum=False``), UTC timestamps.
Later issues add consent, transcripts, passages, themes, clips, sessions and showcases.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext
from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Re-exported here: the app knows them as parts of its data model (consent defines them, as its
# rules are written in them).
from consent.records import as_utc as as_utc
from consent.records import str_enum, utcnow
from consent.roles import Role
from consent.stories import StoryState
from storyhub.extensions import db

if TYPE_CHECKING:
    from consent.models import ConsentVersion
    from storyhub.themes.models import PassageTheme


class TellerKind(enum.StrEnum):
    SERVICE_USER = "service_user"
    CARER = "carer"
    PRACTITIONER = "practitioner"

    @property
    def label(self) -> str:
        """Who told the story, in the page's language."""
        return str(TELLER_LABELS[self])


TELLER_LABELS = {
    TellerKind.SERVICE_USER: lazy_gettext("A person who uses services"),
    TellerKind.CARER: lazy_gettext("An unpaid carer"),
    TellerKind.PRACTITIONER: lazy_gettext("A practitioner"),
}


class ServiceSetting(enum.StrEnum):
    """Where the support the story is about is given: a search filter and a dashboard axis."""

    HOME_CARE = "home_care"
    CARE_HOME = "care_home"
    DAY_SERVICE = "day_service"
    SUPPORTED_LIVING = "supported_living"
    HOSPITAL = "hospital"
    COMMUNITY_TEAM = "community_team"
    CARERS_SUPPORT = "carers_support"
    OTHER = "other"
    NOT_SAID = "not_said"

    @property
    def label(self) -> str:
        """Where the support was given, in the page's language."""
        return str(SETTING_LABELS[self])


SETTING_LABELS = {
    ServiceSetting.HOME_CARE: lazy_gettext("Support at home"),
    ServiceSetting.CARE_HOME: lazy_gettext("Care home"),
    ServiceSetting.DAY_SERVICE: lazy_gettext("Day service"),
    ServiceSetting.SUPPORTED_LIVING: lazy_gettext("Supported living"),
    ServiceSetting.HOSPITAL: lazy_gettext("Hospital"),
    ServiceSetting.COMMUNITY_TEAM: lazy_gettext("Community health or social work team"),
    ServiceSetting.CARERS_SUPPORT: lazy_gettext("Support for carers"),
    ServiceSetting.OTHER: lazy_gettext("Somewhere else"),
    ServiceSetting.NOT_SAID: lazy_gettext("Not said"),
}


class Language(enum.StrEnum):
    ENGLISH = "en"
    WELSH = "cy"

    @property
    def label(self) -> str:
        """The language's name for this page: "Cymraeg (Welsh)" and "English" on an English
        page, "Cymraeg" and "Saesneg" on a Welsh one (both names where the reader may need
        either: a Welsh speaker finds "Cymraeg" on an English page)."""
        return str(LANGUAGE_LABELS[self])


LANGUAGE_LABELS = {
    Language.ENGLISH: lazy_gettext("English"),
    Language.WELSH: lazy_gettext("Cymraeg (Welsh)"),
}


class MediaRole(enum.StrEnum):
    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"
    AUDIO = "audio"  # 16 kHz mono WAV for the transcriber; kept so a retry can resume
    RENDITION = "rendition"  # the web-playable copy (H.264/AAC MP4, or AAC M4A)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A trainer an administrator lets build showcases for learning events (curators always may).
    builds_showcases: Mapped[bool] = mapped_column(default=False, server_default="0")
    # "en" or "cy", chosen with the language link (storyhub/i18n.py); None: follow the browser.
    # It is also the language their uploads are transcribed in, unless they say otherwise.
    language: Mapped[str | None] = mapped_column(String(8))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated accounts
        return self.active

    def has_role(self, *roles: Role) -> bool:
        """True when this user holds one of ``roles``."""
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class Invitation(db.Model):  # type: ignore[name-defined]
    """A one-time sign-up link; only a hash of its token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    display_name: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id])


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for the JSON API; only a hash of it is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Story(db.Model):  # type: ignore[name-defined]
    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_storyteller_created", "storyteller_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[Language] = mapped_column(str_enum(Language))
    teller_kind: Mapped[TellerKind] = mapped_column(str_enum(TellerKind))
    setting: Mapped[ServiceSetting] = mapped_column(
        str_enum(ServiceSetting), default=ServiceSetting.NOT_SAID
    )
    storyteller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[StoryState] = mapped_column(str_enum(StoryState), default=StoryState.UPLOADED)
    # "video" or "audio", and the length in seconds, from the upload's validation.
    kind: Mapped[str] = mapped_column(String(8))
    duration: Mapped[float]
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Consent choices that came with an imported story (recorded on paper before): released by
    # the processing job once the story is ready, then cleared.
    imported_consent: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The current consent version (consent/ owns the rules; versions are never edited).
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "consent_versions.id", use_alter=True, name="fk_stories_consent_id_consent_versions"
        )
    )

    storyteller: Mapped[User] = relationship(foreign_keys=[storyteller_id])
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    media: Mapped[list[MediaFile]] = relationship(
        back_populates="story", cascade="all, delete-orphan"
    )
    jobs: Mapped[list[Job]] = relationship(
        back_populates="story", order_by="Job.id", cascade="all, delete-orphan"
    )
    transcript: Mapped[Transcript | None] = relationship(
        back_populates="story", cascade="all, delete-orphan"
    )
    passages: Mapped[list[Passage]] = relationship(
        back_populates="story", order_by="Passage.position", cascade="all, delete-orphan"
    )
    consent: Mapped[ConsentVersion | None] = relationship(
        foreign_keys=[consent_id], post_update=True
    )
    consent_history: Mapped[list[ConsentVersion]] = relationship(
        foreign_keys="ConsentVersion.story_id", order_by="ConsentVersion.version", viewonly=True
    )

    def media_file(self, role: str) -> MediaFile | None:
        """The stored media file with ``role``, if there is one."""
        return next((m for m in self.media if m.role == role), None)

    @property
    def latest_job(self) -> Job | None:
        return self.jobs[-1] if self.jobs else None


class MediaFile(db.Model):  # type: ignore[name-defined]
    """A file held in storage for a story: the original upload, its thumbnail, later renditions."""

    __tablename__ = "media_files"
    __table_args__ = (UniqueConstraint("story_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    role: Mapped[MediaRole] = mapped_column(str_enum(MediaRole))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int]
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    # What the probe found (container, codecs, size, rotation, duration), as plain JSON.
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    story: Mapped[Story] = relationship(back_populates="media")


class Job(db.Model):  # type: ignore[name-defined]
    """One unit of background work: its state, progress and a readable failure.

    The queue only carries the job's id; this row is the truth, so a job lost by the queue or
    interrupted by a crash can be found again and re-run.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    state: Mapped[JobState] = mapped_column(str_enum(JobState), default=JobState.QUEUED)
    progress: Mapped[float] = mapped_column(default=0.0)  # 0.0 to 1.0
    message: Mapped[str] = mapped_column(String(200), default="Waiting to start")
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # "host:pid" of the worker running it, and when it last reported; used to find orphans.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    story: Mapped[Story | None] = relationship(back_populates="jobs")

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)


class Transcript(db.Model):  # type: ignore[name-defined]
    """A story's transcript: which model made it, and whether its teller has approved it.

    The words live in its passages; every edit is kept as a numbered revision.
    """

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    model: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # How well the machine followed the words (media_pipeline.recognition): "good", "poor"
    # (audiences wait until a person approves them: consent.policy.words_need_checking) or
    # "checked" (was poor, then approved). None: made before this was judged.
    recognition: Mapped[str | None] = mapped_column(String(10))

    story: Mapped[Story] = relationship(back_populates="transcript")


class Passage(db.Model):  # type: ignore[name-defined]
    """The unit trainers search, tag and clip: sentences spanning roughly 15 to 60 seconds."""

    __tablename__ = "passages"
    __table_args__ = (UniqueConstraint("story_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    position: Mapped[int]
    start: Mapped[float]
    end: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    # [{"start": s, "end": e, "text": "word", "redacted": bool}], times in seconds (floats).
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    speaker: Mapped[str] = mapped_column(String(80), default="")
    # When the tagger last suggested themes for it (None: not yet, e.g. just split off).
    themes_suggested_at: Mapped[datetime | None]

    story: Mapped[Story] = relationship(back_populates="passages")
    themes: Mapped[list[PassageTheme]] = relationship(
        back_populates="passage", cascade="all, delete-orphan", lazy="selectin"
    )


class TranscriptRevision(db.Model):  # type: ignore[name-defined]
    """A snapshot of a story's passages after each change, so edits can be seen and undone."""

    __tablename__ = "transcript_revisions"
    __table_args__ = (UniqueConstraint("story_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))  # machine, edit, split, merge, speaker, redact
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    passages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Redaction(db.Model):  # type: ignore[name-defined]
    """Words a curator removed (a name, a place): a span of the story's time, hidden and silent.

    The record, not the words' flags, is what holds: edits, splits, joins and a new machine
    transcript re-mark the words inside it, and only a curator's audited undo ends it. It keeps
    times and who, never the removed words themselves.
    """

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    start: Mapped[float]
    end: Mapped[float]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undo_reason: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Who did what kind of thing to which object, and when. Never the content itself."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
