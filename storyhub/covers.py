"""Picture covers: stretches of a video story whose picture is blanked in the web copy.

A curator covers where someone who did not agree to be in a story can be seen, as a name is
silenced where it is said. Covers are removals like redacted words: the render blanks them, and
``storyhub.transcripts.redaction_state`` folds them in, so every copy made before a cover is stale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, mapped_column

from storyhub.extensions import db
from storyhub.models import Story, utcnow


class PictureCover(db.Model):  # type: ignore[name-defined]
    """One stretch (seconds from the start) of a story whose picture is covered for audiences."""

    __tablename__ = "picture_covers"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    start: Mapped[float]
    end: Mapped[float]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def picture_covers(story: Story) -> list[tuple[float, float]]:
    """The stretches whose picture is blanked in ``story``'s web copy, in order, overlaps joined."""
    rows = db.session.execute(
        select(PictureCover.start, PictureCover.end)
        .where(PictureCover.story_id == story.id)
        .order_by(PictureCover.start, PictureCover.end)
    ).all()
    spans: list[tuple[float, float]] = []
    for start, end in rows:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((float(start), float(end)))
    return spans
