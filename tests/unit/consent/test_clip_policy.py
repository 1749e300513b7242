"""Which stories' clips may be used in training: the current consent decides, every time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask

from consent import can_clip, clip_refusal
from consent.models import Audience
from consent.policy import today
from consent.services import Choices, change, erase, renew, withdraw
from storyhub.extensions import db
from storyhub.models import Role, User
from tests.training_factory import clip_story

PASSAGES = ["We talked about what matters to me", "Then things changed for the better"]


@pytest.fixture
def teller(app: Flask, make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER)


def test_clips_need_training_and_the_tellers_yes(
    teller: User, make_user: Callable[..., User]
) -> None:
    trainer, curator, member = (make_user(r) for r in (Role.TRAINER, Role.CURATOR, Role.MEMBER))
    story = clip_story(teller, PASSAGES)
    assert clip_refusal(story) is None
    assert can_clip(trainer, story) and can_clip(curator, story)
    # Members watch showcases, and tellers their own stories: neither cuts clips.
    assert not can_clip(member, story) and not can_clip(teller, story)

    no_clips = clip_story(teller, PASSAGES, clips_allowed=False)
    assert clip_refusal(no_clips) == "Its storyteller does not allow clips to be made from it."
    assert not can_clip(trainer, no_clips) and not can_clip(curator, no_clips)

    events_only = clip_story(teller, PASSAGES, audiences={Audience.LEARNING_EVENTS})
    assert clip_refusal(events_only) == "Its storyteller no longer shares it for training."
    assert not can_clip(curator, events_only)  # staff see it, but a clip is for training

    private = clip_story(teller, PASSAGES, audiences=set())
    private.consent.released_at = None
    assert clip_refusal(private) == "Its storyteller has not shared it yet."


def test_clips_follow_every_later_change(teller: User, make_user: Callable[..., User]) -> None:
    trainer = make_user(Role.TRAINER)
    story = clip_story(teller, PASSAGES)

    change(story, teller, Choices(audiences={Audience.TRAINING}, clips_allowed=False))
    db.session.commit()
    assert "does not allow clips" in (clip_refusal(story) or "")
    change(story, teller, Choices(audiences={Audience.TRAINING}, clips_allowed=True))
    db.session.commit()
    assert can_clip(trainer, story)

    assert story.consent is not None
    story.consent.review_date = today() - timedelta(days=1)
    assert (clip_refusal(story) or "").startswith("Its sharing ended on")
    assert not can_clip(trainer, story)
    renew(story, teller, 12)
    db.session.commit()
    assert can_clip(trainer, story)

    withdraw(story, teller, "no more")
    db.session.commit()
    assert clip_refusal(story) == "Its storyteller withdrew it."
    assert not can_clip(trainer, story)
    erase(story, teller, "please delete it")
    db.session.commit()
    assert clip_refusal(story) == "Its storyteller erased it."
