"""Clips, training sessions, who they are shared with, and their exports.

A clip is a reference (a story and two times on word boundaries), never a copy: what it shows is
always made from the story's current words and web copy, so a redaction or a withdrawal reaches
every clip at once. Media is only cut when a session is exported.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storyhub.extensions import db
from storyhub.models import Job, Story, User, str_enum, utcnow
from storyhub.playlists.models import (
    ItemColumns,
    MadeByJobColumns,
    PlaylistColumns,
    ShareColumns,
)


class Clip(db.Model):  # type: ignore[name-defined]
    """A stretch of one story that a trainer chose: from one word's start to another's end."""

    __tablename__ = "clips"
    __table_args__ = (Index("ix_clips_owner_created", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    start: Mapped[float]
    end: Mapped[float]
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    # The consent version in force when it was cut: what the teller had agreed to then.
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The clip cut as a file to take away (made by a job on request): where it is, and what it
    # was cut from ("web copy key|start|end"); a file cut from anything else is never served.
    file_key: Mapped[str | None] = mapped_column(String(255))
    file_made_from: Mapped[str] = mapped_column(String(300), default="", server_default="")
    file_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))

    owner: Mapped[User] = relationship()
    story: Mapped[Story] = relationship()
    file_job: Mapped[Job | None] = relationship()

    @property
    def duration(self) -> float:
        return self.end - self.start


class ItemKind(enum.StrEnum):
    HEADING = "heading"  # a section heading
    CLIP = "clip"
    PROMPT = "prompt"  # a discussion prompt, shown to the room between clips


class Lesson(PlaylistColumns, db.Model):  # type: ignore[name-defined]
    """A lesson: what trainers call a training session, an ordered list of headings, clips and
    prompts that a trainer runs in a room. (Named so it is never confused with ``db.session``; the
    table keeps its first name.)"""

    __tablename__ = "training_sessions"
    __table_args__ = (Index("ix_training_sessions_owner", "owner_id", "updated_at"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text, default="")

    items: Mapped[list[LessonItem]] = relationship(
        back_populates="session", order_by="LessonItem.position", cascade="all, delete-orphan"
    )
    shares: Mapped[list[LessonShare]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    exports: Mapped[list[LessonExport]] = relationship(
        back_populates="session",
        order_by="LessonExport.id.desc()",
        cascade="all, delete-orphan",
    )


class LessonItem(ItemColumns, db.Model):  # type: ignore[name-defined]
    """A heading, a prompt or a clip, at its place in a session."""

    __tablename__ = "session_items"

    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind))
    text: Mapped[str] = mapped_column(Text, default="")  # the heading or the prompt
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"), index=True)
    # For the trainer only: never shown to the room or printed in the handout.
    notes: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[Lesson] = relationship(back_populates="items")
    clip: Mapped[Clip | None] = relationship()


class LessonShare(ShareColumns, db.Model):  # type: ignore[name-defined]
    """Another trainer who may open, run, export and copy a session (only its owner edits it)."""

    __tablename__ = "session_shares"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[Lesson] = relationship(back_populates="shares")


class LessonExport(MadeByJobColumns, db.Model):  # type: ignore[name-defined]
    """One export of a session: a compiled video, its captions and a handout, made by a job."""

    __tablename__ = "session_exports"

    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    burn_captions: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[datetime | None]
    # {"video": key, "captions": key, "handout_html": key, "handout_pdf": key}
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The stories inside it (a withdrawal of any of them deletes the files).
    story_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # [{"title": clip title, "reason": why it was left out}], shown with the export.
    left_out: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duration: Mapped[float | None]
    # Set when a story inside it was withdrawn or stopped being shared: its files are deleted.
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[Lesson] = relationship(back_populates="exports")
