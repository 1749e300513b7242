"""The consent policy: may this person see this story, for this purpose?

Until a storyteller releases their story (consent step 2, a later issue), it is private: only the
teller and the staff who look after stories (curators, administrators) can see or manage it.
``can_view`` answers for one story; ``viewable_stories`` is the same rule as a SQL filter for
lists, so a list can never show a story that its page would refuse.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from storyhub.models import Role, Story

# Staff who support storytellers: they may see and manage every story, before and after release.
STORY_STAFF = (Role.CURATOR, Role.ADMIN)


class Purpose(enum.StrEnum):
    """Why someone wants to see a story; consent is given per purpose and audience."""

    WATCH = "watch"  # the story page, its player and media bytes
    MANAGE = "manage"  # edit details, retry processing, remove


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def can_view(user: Any, story: Story, purpose: Purpose = Purpose.WATCH) -> bool:
    """Whether ``user`` may see ``story`` for ``purpose``."""
    if not _signed_in(user):
        return False
    if user.role in STORY_STAFF:
        return True
    return bool(story.storyteller_id == user.id)


def can_manage(user: Any, story: Story) -> bool:
    """Whether ``user`` may change or retry ``story`` (its teller, or staff)."""
    return can_view(user, story, Purpose.MANAGE)


def viewable_stories(user: Any, purpose: Purpose = Purpose.WATCH) -> ColumnElement[bool]:
    """A SQL condition on ``Story`` matching exactly the stories ``can_view`` allows."""
    if not _signed_in(user):
        return false()
    if user.role in STORY_STAFF:
        return true()
    return or_(Story.storyteller_id == user.id)
