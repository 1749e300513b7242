"""What consent needs from the archive that holds the stories, given to it once at start-up.

consent/ never imports the app (``storyhub/``). To record a version it needs the database
session; to keep its promises it needs the audit trail, a job to delete copies, the files'
storage, and the app's fingerprint of what was removed from a story. The app hands over these
means with ``consent.bind(archive)`` (``storyhub/consent_binding.py``), and is told of every
consent event through ``Archive.consent_changed``: that is where the app's features hook in.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from consent.models import ConsentVersion
    from consent.stories import ConsentedStory


class ConsentEvent(enum.StrEnum):
    """What just happened to a story's consent (told to the app after the version is added)."""

    RELEASED = "released"  # shared with audiences (again)
    CHANGED = "changed"  # a shared story's choices changed (or someone in it agreed / was removed)
    WITHDRAWN = "withdrawn"  # withdrawn or erased: stop using it, everywhere


class Archive(Protocol):
    """The app's side of consent's work (see ``storyhub/consent_binding.py``)."""

    def session(self) -> Session:
        """The database session of the current request or job."""
        ...

    def audit(
        self,
        action: str,
        *,
        actor: Any = None,
        object_type: str = "",
        object_id: int | None = None,
        **detail: Any,
    ) -> None:
        """Add an event to the audit trail, in the current transaction."""
        ...

    def consent_changed(
        self, event: ConsentEvent, story: ConsentedStory, version: ConsentVersion
    ) -> None:
        """Run what the app's features registered for ``event`` (in the same transaction)."""
        ...

    def submit_job(self, kind: str, story: ConsentedStory, message: str) -> None:
        """Queue a job of ``kind`` for ``story``, sent after the commit."""
        ...

    def delete_file(self, key: str) -> None:
        """Delete a stored file (safe if it is already gone)."""
        ...

    def redaction_state(self, story: ConsentedStory) -> str:
        """A fingerprint of everything removed from ``story``'s words, sound and picture."""
        ...

    def copy_forgotten(self, copy: Any) -> None:
        """A copy's files were deleted (``copy``: a ``consent.copies.Copy``): its owner clears what
        points at them."""
        ...

    def review_months(self) -> int:
        """The review period offered first, in months (the organisation's setting)."""
        ...


_archive: Archive | None = None


def bind(archive: Archive) -> None:
    """Give consent the app's means (``create_app`` calls this; binding again replaces it)."""
    global _archive
    _archive = archive


def archive() -> Archive:
    """The app's means, as bound at start-up."""
    if _archive is None:
        raise RuntimeError("consent is not bound to an archive: create_app calls consent.bind")
    return _archive


def session() -> Session:
    """The database session consent works in: the current request's or job's."""
    return archive().session()
