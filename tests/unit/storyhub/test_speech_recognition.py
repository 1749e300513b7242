"""Words the machine could not follow: the teller and curator are told so on the story page, and
nobody else sees the words (page, captions, search, clips, showcases) until a person approves
them. Releasing the story does not approve them by itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from consent import clip_refusal, listed_in_search, may_fetch_media, may_read_words
from consent.models import Audience
from consent.policy import showcase_refusal
from consent.services import Choices, release
from media_pipeline.recognition import CHECKED, POOR
from storyhub.extensions import db
from storyhub.finder.models import SearchChange
from storyhub.models import Language, Role, Story
from storyhub.transcripts import approve
from tests import search_factory

NOTICE = "The computer could not follow the words of this story well."
WAITING = "This story can be watched once its storyteller has checked its words."
# What Whisper base made of the demo's Welsh story.
GIBBERISH = "i 'n gweld i 'n gweld i 'n gweld i 'n gweld i 'n gweld i 'n gweld"


@pytest.fixture
def poor_story(app: Flask, make_user: Callable[..., Any]) -> Story:
    """A Welsh story whose machine words were judged poor, then released for training."""
    teller = make_user(Role.STORYTELLER)
    story = search_factory.make_story(teller, [GIBBERISH], language=Language.WELSH)
    assert story.transcript is not None
    story.transcript.recognition = POOR
    release(
        story,
        teller,
        Choices(audiences={Audience.TRAINING, Audience.LEARNING_EVENTS}, clips_allowed=True),
        watched=True,
    )
    db.session.commit()
    return story


def page_of(client: FlaskClient, story: Story) -> str:
    response = client.get(f"/stories/{story.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_release_does_not_approve_words_judged_poor(poor_story: Story) -> None:
    assert poor_story.transcript is not None
    assert poor_story.transcript.approved_at is None
    assert poor_story.transcript.recognition == POOR


def test_the_teller_and_curator_are_told_and_see_the_words(
    poor_story: Story, app: Flask, login_as: Callable[..., Any]
) -> None:
    from tests.conftest import login

    teller = app.test_client()
    login(teller, poor_story.storyteller.username)
    curator, _ = login_as(Role.CURATOR)
    for client in (teller, curator):
        page = page_of(client, poor_story)
        assert NOTICE in page and "gweld" in page
        assert "The words are right" in page
        assert client.get(f"/stories/{poor_story.id}/captions.vtt").status_code == 200


def test_audiences_see_no_words_until_a_person_approves_them(
    poor_story: Story, login_as: Callable[..., Any]
) -> None:
    trainer_client, trainer = login_as(Role.TRAINER)
    page = page_of(trainer_client, poor_story)
    assert "gweld" not in page and NOTICE not in page and WAITING in page
    assert "<track" not in page and "data-player" not in page
    assert trainer_client.get(f"/stories/{poor_story.id}/captions.vtt").status_code == 404
    assert not may_read_words(trainer, poor_story)
    # Nor the video: a story plays only with its captions. Its teller still may.
    assert not may_fetch_media(trainer, poor_story, "rendition")
    assert may_fetch_media(trainer, poor_story, "thumbnail")  # the card that says so
    assert may_fetch_media(poor_story.storyteller, poor_story, "rendition")
    assert not listed_in_search(poor_story)
    assert clip_refusal(poor_story) and showcase_refusal(poor_story)

    db.session.execute(delete(SearchChange))
    approve(poor_story, poor_story.storyteller)
    db.session.commit()
    # The search index is told: the story's words may now be found.
    assert db.session.scalars(select(SearchChange.story_id)).all() == [poor_story.id]

    assert poor_story.transcript is not None and poor_story.transcript.recognition == CHECKED
    page = page_of(trainer_client, poor_story)
    assert "gweld" in page and WAITING not in page and "<track" in page
    assert trainer_client.get(f"/stories/{poor_story.id}/captions.vtt").status_code == 200
    assert may_read_words(trainer, poor_story)
    assert may_fetch_media(trainer, poor_story, "rendition")
    assert listed_in_search(poor_story)
    assert clip_refusal(poor_story) is None and showcase_refusal(poor_story) is None


def test_good_words_are_shared_as_before(app: Flask, make_user: Callable[..., Any]) -> None:
    teller = make_user(Role.STORYTELLER)
    story = search_factory.make_story(
        teller, ["The carer came every morning."], audiences={Audience.TRAINING}
    )
    assert story.transcript is not None and story.transcript.approved_at is not None
    trainer = make_user(Role.TRAINER)
    assert may_read_words(trainer, story) and listed_in_search(story)
