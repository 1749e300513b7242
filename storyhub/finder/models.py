"""The search index's to-do list, kept in the database (a transactional outbox).

A change to a story's words, themes, details or consent writes a row here in the same
transaction, so a committed change can never be forgotten by the index, even if the worker is
down; the sync job works through the rows after the commit. The oldest row not yet done is the
index's lag, shown on the admin page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from storyhub.extensions import db
from storyhub.models import utcnow


class SearchChange(db.Model):  # type: ignore[name-defined]
    __tablename__ = "search_changes"
    __table_args__ = (Index("ix_search_changes_done_id", "done_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the row must outlive an erased story so the index forgets it too.
    story_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
