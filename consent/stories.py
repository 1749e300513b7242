"""What consent knows of a story: the states it passes through, and the shape its rules read.

The app's ``Story`` (``storyhub.models``) is the record; consent never imports it. Its rules take
any object of the shape ``ConsentedStory``, and its SQL conditions are written on the ``stories``
table itself, found by name in the shared metadata (``consent.records.Record``), the same way the
consent tables' foreign keys name it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table

from consent.records import Record

if TYPE_CHECKING:
    from consent.models import ConsentVersion


class StoryState(enum.StrEnum):
    UPLOADED = "uploaded"  # stored and validated; waiting for the worker
    PROCESSING = "processing"
    TRANSCRIBED = "transcribed"  # the words are ready; the web-playable copy is being made
    READY = "ready"  # processed; can be watched by those allowed to (and released: consent)
    FAILED = "failed"  # processing failed, or held back: a curator can retry or remove it


class ConsentedStory(Protocol):
    """A story as consent's rules read (and, for erasure, blank) it."""

    id: int
    storyteller_id: int
    state: StoryState
    title: str
    description: str
    consent_id: int | None
    consent: ConsentVersion | None
    storyteller: Any  # the person whose story it is (their name, as consented)
    transcript: Any  # its words, which releasing the story approves

    @property
    def consent_history(self) -> list[ConsentVersion]: ...

    def media_file(self, role: Any) -> Any: ...


def stories() -> Table:
    """The ``stories`` table, for SQL conditions on the app's stories."""
    return Record.metadata.tables["stories"]


def story_class() -> Any:
    """The app's class mapped to the ``stories`` table, for queries that return stories."""
    for mapper in Record.registry.mappers:
        if mapper.local_table is stories():
            return mapper.class_
    raise LookupError("no class is mapped to the stories table")
