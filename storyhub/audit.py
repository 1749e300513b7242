"""The audit trail: who did what kind of action to which object, and when.

Events join the caller's transaction, so an action and its record commit (or roll back) together.
Details hold ids and kinds only, never story content, so erasure leaves nothing behind here.
"""

from __future__ import annotations

from typing import Any

from storyhub.extensions import db
from storyhub.models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None = None,
    object_type: str = "",
    object_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current session (committed with the caller's work)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    db.session.add(event)
    return event
