"""The columns every playlist, playlist item and share has; each kind keeps its own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from storyhub.models import Job, User, utcnow


class PlaylistColumns:
    """A playlist's own record: who made it, its title, and when it was made and last changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr
    def owner(cls) -> Mapped[User]:
        return relationship(User)


class ItemColumns:
    """One entry of a playlist, at its place in the order (0 first)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]


class ShareColumns:
    """A person a playlist is shared with."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    @declared_attr
    def user(cls) -> Mapped[User]:
        return relationship(User)


class MadeByJobColumns:
    """Something made from a playlist by a job, for the person who asked for it (a session's
    export, a showcase's offline pack); what it holds is each kind's own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr
    def requested_by(cls) -> Mapped[User]:
        return relationship(User)

    @declared_attr
    def job(cls) -> Mapped[Job | None]:
        return relationship(Job)
