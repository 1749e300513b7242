"""Theme tables: the live taxonomy, tags on passages, trained taggers, and an embedding cache."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storyhub.extensions import N_, db
from storyhub.models import str_enum, utcnow
from storyhub.themes.shipped import shown_description, shown_label

if TYPE_CHECKING:
    from storyhub.models import Passage, User


class ThemeKind(enum.StrEnum):
    """The three kinds of personal outcome; fixed by the framework."""

    MAINTENANCE = "maintenance"
    PROCESS = "process"
    CHANGE = "change"

    @property
    def label(self) -> str:
        """The kind's name, in the page's language."""
        return gettext(KIND_LABELS[self])


# The English names (exports that want English read these); ``ThemeKind.label`` translates.
KIND_LABELS = {
    ThemeKind.MAINTENANCE: N_("Quality of life"),
    ThemeKind.PROCESS: N_("Process"),
    ThemeKind.CHANGE: N_("Change"),
}


class TagStatus(enum.StrEnum):
    SUGGESTED = "suggested"  # by the tagger, waiting for a curator
    CONFIRMED = "confirmed"  # a curator agrees (or added it): search and the dashboard count it
    REJECTED = "rejected"  # a curator disagrees: kept, so the tagger learns from it


class Valence(enum.StrEnum):
    """Whether the passage tells of a good or a bad experience of this theme (curator's call)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    MIXED = "mixed"

    @property
    def label(self) -> str:
        """The experience's name, in the page's language."""
        return gettext(VALENCE_LABELS[self.value])


VALENCE_LABELS = {
    "positive": N_("Good experience"),
    "negative": N_("Bad experience"),
    "mixed": N_("Mixed"),
}


class Subtheme(db.Model):  # type: ignore[name-defined]
    """A subtheme of one kind. ``key`` never changes, so renaming keeps every tag and model."""

    __tablename__ = "subthemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[ThemeKind] = mapped_column(str_enum(ThemeKind))
    label: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def shown_label(self) -> str:
        """The name to show people: in Welsh on a Welsh page for a shipped name not renamed;
        a name the organisation typed, as typed (``label`` is the stored name: forms, exports)."""
        return shown_label(self.key, self.label)

    @property
    def shown_description(self) -> str:
        """The description to show people, translated like ``shown_label``."""
        return shown_description(self.key, self.description)


class PassageTheme(db.Model):  # type: ignore[name-defined]
    """A theme on a passage (or on a span of its words): suggested, confirmed or rejected.

    A span is kept as times (seconds), not word numbers, so it survives corrections, splits and
    joins, which keep every word's timing. No span means the whole passage.
    """

    __tablename__ = "passage_themes"
    __table_args__ = (Index("ix_passage_themes_subtheme_status", "subtheme_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    passage_id: Mapped[int] = mapped_column(
        ForeignKey("passages.id", ondelete="CASCADE"), index=True
    )
    subtheme_id: Mapped[int] = mapped_column(ForeignKey("subthemes.id"))
    status: Mapped[TagStatus] = mapped_column(str_enum(TagStatus), default=TagStatus.SUGGESTED)
    # The tagger's confidence (0 to 1) when it suggested this; None when a curator added it.
    confidence: Mapped[float | None]
    span_start: Mapped[float | None]
    span_end: Mapped[float | None]
    valence: Mapped[Valence | None] = mapped_column(str_enum(Valence))
    suggested_at: Mapped[datetime | None]
    # Which version of what the organisation taught (TaggerModel) was applied when it was
    # suggested (None: the shipped tagger alone).
    tagger_id: Mapped[int | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    # Why it was suggested: the times ([start, end] seconds) of the words that drove it.
    reason_times: Mapped[list[list[float]] | None] = mapped_column(JSON)

    passage: Mapped[Passage] = relationship(back_populates="themes")
    subtheme: Mapped[Subtheme] = relationship(lazy="joined")
    decided_by: Mapped[User | None] = relationship()

    @property
    def is_span(self) -> bool:
        return self.span_start is not None and self.span_end is not None


class TaggerModel(db.Model):  # type: ignore[name-defined]
    """A version of what this organisation's curators taught the tagger: an ``Adaptation``
    (media_pipeline/tagger/learning.py) applied on top of the shipped tagger, never a refitted
    tagger. At most one version is in use; an administrator may go back to another or to none.
    """

    __tablename__ = "tagger_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    examples: Mapped[int]  # passages and spans of words curators decided on
    curator_examples: Mapped[int]  # decisions (confirmed or rejected themes) among them
    data: Mapped[bytes] = mapped_column(LargeBinary)
    in_use: Mapped[bool] = mapped_column(default=False)
    # Stories whose decisions it learnt from (erasing one drops the version).
    story_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Measured at refit on decisions held back from a trial fit: how many the tagger got right
    # without and with it, e.g. {"held_back": 40, "before": 29, "after": 33}; None: too few.
    effect: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TextEmbedding(db.Model):  # type: ignore[name-defined]
    """Embeddings already computed, by a digest of model and text (refitting reuses them)."""

    __tablename__ = "text_embeddings"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
