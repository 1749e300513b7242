"""The first `make run`: setup builds the database and a living demo archive."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from storyhub.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_STORIES
from storyhub.extensions import db
from storyhub.models import MediaRole, Story, StoryState
from tests.conftest import login

pytestmark = pytest.mark.slow


def test_setup_adds_demo_accounts_and_spoken_stories_once(
    app: Flask, runner: FlaskCliRunner
) -> None:
    # `make run` asks for the demo explicitly; plain `setup` never makes these accounts.
    result = runner.invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output
    assert f"password for each: {DEMO_PASSWORD}" in result.output

    stories = db.session.scalars(select(Story).order_by(Story.id)).all()
    assert [s.title for s in stories] == [spec.title for spec in DEMO_STORIES]
    for story, spec in zip(stories, DEMO_STORIES, strict=True):
        assert story.state == StoryState.READY, story.failure_message
        assert story.kind == ("audio" if spec.audio_only else "video")
        assert story.language == spec.language
        assert story.duration > 8  # real speech, not a stub
        assert story.media_file(MediaRole.THUMBNAIL) is not None
        assert story.storyteller.username == spec.owner

    for username, _name, _role in DEMO_ACCOUNTS:
        client = app.test_client()
        assert login(client, username, DEMO_PASSWORD).status_code == 302, username

    # Running it again (every `make run` does) adds nothing twice.
    again = runner.invoke(args=["setup", "--demo"])
    assert again.exit_code == 0, again.output
    assert len(db.session.scalars(select(Story)).all()) == len(DEMO_STORIES)
