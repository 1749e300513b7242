"""The consent policy: before release, only the teller and staff may see a story; the list
filter and the per-story answer always agree."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_login import AnonymousUserMixin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from consent import Purpose, can_manage, can_view, viewable_stories
from storyhub.extensions import db
from storyhub.models import Language, Role, Story, TellerKind, User


def test_anonymous_visitors_see_nothing(make_story: Callable[..., Any]) -> None:
    story = make_story(None, "wav")
    anonymous = AnonymousUserMixin()
    assert not can_view(anonymous, story)
    assert db.session.scalars(select(Story).where(viewable_stories(anonymous))).all() == []


def test_a_deactivated_teller_loses_access(
    make_story: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = make_story(teller, "wav")
    assert can_view(teller, story) and can_manage(teller, story)
    teller.active = False
    assert not can_view(teller, story)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    roles=st.lists(st.sampled_from(list(Role)), min_size=1, max_size=5),
    owners=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=5),
    purpose=st.sampled_from(list(Purpose)),
)
def test_the_list_filter_and_the_story_check_agree(
    app: Flask,
    roles: list[Role],
    owners: list[int],
    purpose: Purpose,
) -> None:
    # Plain rows (no password hashing): the policy reads roles and ownership only.
    users = [User(username=f"u{uuid.uuid4().hex[:12]}", display_name="u", role=r) for r in roles]
    db.session.add_all(users)
    for owner_index in owners:
        owner = users[owner_index % len(users)]
        if owner.role == Role.STORYTELLER:
            # Rows only: the policy reads who owns a story, not its media.
            db.session.add(
                Story(
                    title="t",
                    language=Language.ENGLISH,
                    teller_kind=TellerKind.CARER,
                    storyteller=owner,
                    uploaded_by=owner,
                    kind="audio",
                    duration=10.0,
                )
            )
    db.session.commit()
    all_stories = db.session.scalars(select(Story)).all()
    for user in users:
        listed = set(db.session.scalars(select(Story.id).where(viewable_stories(user, purpose))))
        allowed = {s.id for s in all_stories if can_view(user, s, purpose)}
        assert listed == allowed
        for story in all_stories:
            expected = user.role in (Role.CURATOR, Role.ADMIN) or story.storyteller_id == user.id
            assert can_view(user, story, purpose) == expected
