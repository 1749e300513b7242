"""What a page asks for by id: found if this person may see it, otherwise "not found".

Shared by every feature's views, so it sits below them all.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from consent import can_manage, can_view
from storyhub.extensions import db
from storyhub.models import Passage, Story


def story_or_404(story_id: int, *, manage: bool = False) -> Story:
    """The story, if this person may see (or manage) it; otherwise the same 404 as a missing one.

    A refusal looks like "not found" so that ids can't be probed for which stories exist.
    """
    story = db.session.get(Story, story_id)
    allowed = can_manage if manage else can_view
    if story is None or not allowed(current_user, story):
        abort(404)
    return story


def passage_or_404(story: Story, passage_id: int) -> Passage:
    """One of ``story``'s passages (a passage id of another story is "not found" here)."""
    passage = next((p for p in story.passages if p.id == passage_id), None)
    if passage is None:
        abort(404)
    return passage
