"""Showcases, their items, who they are shared with, and the offline packs handed out."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storyhub.extensions import db
from storyhub.models import Story
from storyhub.playlists.models import (
    ItemColumns,
    MadeByJobColumns,
    PlaylistColumns,
    ShareColumns,
)
from storyhub.training.models import Clip


class Showcase(PlaylistColumns, db.Model):  # type: ignore[name-defined]
    """A short, ordered set of whole stories and clips for one learning event."""

    __tablename__ = "showcases"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    introduction: Mapped[str] = mapped_column(Text, default="")
    event_date: Mapped[date | None]
    event_place: Mapped[str] = mapped_column(String(200), default="")
    # The event's time window (UTC): an access code opens the showcase only inside it.
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    # Only a hash of the event's access code is kept.
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    items: Mapped[list[ShowcaseItem]] = relationship(
        back_populates="showcase", order_by="ShowcaseItem.position", cascade="all, delete-orphan"
    )
    members: Mapped[list[ShowcaseMember]] = relationship(
        back_populates="showcase", cascade="all, delete-orphan"
    )


class ShowcaseItem(ItemColumns, db.Model):  # type: ignore[name-defined]
    """A whole story, or one clip of it, with a line on what to listen for."""

    __tablename__ = "showcase_items"

    showcase_id: Mapped[int] = mapped_column(ForeignKey("showcases.id"), index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"))
    listen_for: Mapped[str] = mapped_column(Text, default="")

    showcase: Mapped[Showcase] = relationship(back_populates="items")
    story: Mapped[Story] = relationship()
    clip: Mapped[Clip | None] = relationship()


class ShowcaseMember(ShareColumns, db.Model):  # type: ignore[name-defined]
    """A member account a showcase is shared with."""

    __tablename__ = "showcase_members"
    __table_args__ = (UniqueConstraint("showcase_id", "user_id"),)

    showcase_id: Mapped[int] = mapped_column(ForeignKey("showcases.id"), index=True)

    showcase: Mapped[Showcase] = relationship(back_populates="members")


class ShowcasePack(MadeByJobColumns, db.Model):  # type: ignore[name-defined]
    """An offline pack asked for by someone: made by a job, then downloaded (a copy handed out)."""

    __tablename__ = "showcase_packs"

    showcase_id: Mapped[int] = mapped_column(ForeignKey("showcases.id"), index=True)
    file_key: Mapped[str | None] = mapped_column(String(255))

    showcase: Mapped[Showcase] = relationship()
