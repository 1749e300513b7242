"""The app's side of consent: the means consent/ works with, and the copies' upkeep.

consent/ never imports the app; ``init_app`` hands it this app's database session, audit trail,
queue, storage and redaction fingerprint (``consent.bind``), and registers the jobs that delete
copies which may no longer be handed out. Features that must act on a consent event register
with ``storyhub.registry.on_consent`` in their own ``init_app``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

import consent
from consent import copies
from consent.archive import ConsentEvent
from consent.copies import Copy
from storyhub import audit, jobs
from storyhub.extensions import db
from storyhub.registry import housekeeping_task, job_handler, on_consent, registry
from storyhub.storage import get_storage
from storyhub.transcripts import redaction_state


class AppArchive:
    """``consent.archive.Archive`` for this app: each call works in the current app context."""

    def session(self) -> Session:
        return db.session()

    def audit(
        self,
        action: str,
        *,
        actor: Any = None,
        object_type: str = "",
        object_id: int | None = None,
        **detail: Any,
    ) -> None:
        audit.record(action, actor=actor, object_type=object_type, object_id=object_id, **detail)

    def consent_changed(self, event: ConsentEvent, story: Any, version: Any) -> None:
        for hook in registry().consent_hooks.get(event, ()):
            hook(story, version)

    def submit_job(self, kind: str, story: Any, message: str) -> None:
        jobs.submit(kind, story, message=message)

    def delete_file(self, key: str) -> None:
        get_storage().delete(key)

    def redaction_state(self, story: Any) -> str:
        return redaction_state(story)

    def copy_forgotten(self, copy: Copy) -> None:
        forget = registry().forgetters.get(copy.kind)
        if forget is not None:
            forget(copy)

    def review_months(self) -> int:
        return int(current_app.config.get("CONSENT_REVIEW_MONTHS", 12))


def _purge_copies(context: jobs.JobContext) -> None:
    if context.story_id is not None:
        copies.purge(context.story_id)


def _copies_follow_their_stories(story: Any, _version: Any) -> None:
    """Withdrawal, erasure and every change of choices reach the copies holding the story."""
    copies.story_changed(story)


def init_app(app: Flask) -> None:
    """Bind consent to this app, and keep copies in step with what they were made from."""
    consent.bind(AppArchive())
    job_handler(app, copies.PURGE_COPIES, _purge_copies)
    # Expiry has no event: the queue's sweep deletes copies whose review date passed.
    housekeeping_task(app, "forget_stale_copies", copies.forget_stale)
    on_consent(app, ConsentEvent.WITHDRAWN, _copies_follow_their_stories)
    on_consent(app, ConsentEvent.CHANGED, _copies_follow_their_stories)
