"""Blind double coding: two curators code one story's passages apart, then settle one version.

Each coder's choices live here, not in ``PassageTheme``, until the pair settle: nothing either
chooses is seen by search, the dashboard or the tagger's learning before then, and neither sees
the other's choices while coding. Rounds are kept after settling: the agreement figures are
worked out from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storyhub.extensions import db
from storyhub.models import utcnow

if TYPE_CHECKING:
    from storyhub.models import Story, User


class BlindRound(db.Model):  # type: ignore[name-defined]
    """One story coded by two people, each without seeing the other's choices."""

    __tablename__ = "blind_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    # The first coder started the round and chose the second.
    first_coder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    second_coder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_finished_at: Mapped[datetime | None]
    second_finished_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    story: Mapped[Story] = relationship()
    first_coder: Mapped[User] = relationship(foreign_keys=[first_coder_id])
    second_coder: Mapped[User] = relationship(foreign_keys=[second_coder_id])
    settled_by: Mapped[User | None] = relationship(foreign_keys=[settled_by_id])
    units: Mapped[list[BlindUnit]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )
    choices: Mapped[list[BlindChoice]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )

    @property
    def both_finished(self) -> bool:
        return self.first_finished_at is not None and self.second_finished_at is not None

    @property
    def settled(self) -> bool:
        return self.settled_at is not None

    def coder_ids(self) -> tuple[int, int]:
        return (self.first_coder_id, self.second_coder_id)


class BlindUnit(db.Model):  # type: ignore[name-defined]
    """A passage the round asks both coders about (fixed when the round starts)."""

    __tablename__ = "blind_units"
    __table_args__ = (UniqueConstraint("round_id", "passage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("blind_rounds.id", ondelete="CASCADE"), index=True
    )
    passage_id: Mapped[int] = mapped_column(
        ForeignKey("passages.id", ondelete="CASCADE"), index=True
    )

    round: Mapped[BlindRound] = relationship(back_populates="units")


class BlindChoice(db.Model):  # type: ignore[name-defined]
    """One coder says this passage is about this subtheme (absence is not stored)."""

    __tablename__ = "blind_choices"
    __table_args__ = (UniqueConstraint("round_id", "coder_id", "passage_id", "subtheme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("blind_rounds.id", ondelete="CASCADE"), index=True
    )
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    passage_id: Mapped[int] = mapped_column(
        ForeignKey("passages.id", ondelete="CASCADE"), index=True
    )
    subtheme_id: Mapped[int] = mapped_column(ForeignKey("subthemes.id", ondelete="CASCADE"))

    round: Mapped[BlindRound] = relationship(back_populates="choices")
