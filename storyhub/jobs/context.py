"""What a job handler is given (``JobContext``) and how it fails in words a person can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from storyhub.extensions import db
from storyhub.models import Job, utcnow


class JobFailed(Exception):
    """A failure a person can read: ``message`` is shown on the story page as it is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class JobContext:
    """What a handler gets: the job's ids, and a way to report progress (which is a heartbeat)."""

    job_id: int
    story_id: int | None

    def report(self, progress: float, message: str | None = None) -> None:
        """Record progress (0 to 1) and, optionally, a plain-language step name; commits."""
        values: dict[str, Any] = {
            "progress": max(0.0, min(1.0, progress)),
            "heartbeat_at": utcnow(),
        }
        if message is not None:
            values["message"] = message[:200]
        db.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
        db.session.commit()
