"""The web copy after a redaction: never served with the removed words, and a failed re-render
holds the story back from audiences.

Jobs wait in a real (SQLite) queue here instead of running at once, so the moment between a
redaction and its new web copy can be looked at; the test runs each job itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.models import Audience
from storyhub import jobs
from storyhub.extensions import db
from storyhub.models import Job, JobState, MediaFile, MediaRole, Role, Story, StoryState, User
from storyhub.storage import get_storage
from tests.conftest import csrf_token
from tests.training_factory import clip_story, make_video


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    app_config["QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return app_config


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("web-copy") / "story.mp4", 31)


def story_for_training(teller: User, video: Path, *, with_original: bool) -> Story:
    """A story shared for training with a real web copy (and, if asked, its original)."""
    story = clip_story(teller, ["Nobody asked Bronwen what I wanted"], video=video)
    if with_original:
        key = f"stories/{story.id}/original.mp4"
        size = get_storage().put_file(video, key)
        story.media.append(
            MediaFile(
                role=MediaRole.ORIGINAL, storage_key=key, content_type="video/mp4", size_bytes=size
            )
        )
        db.session.commit()
    return story


def redact(client: FlaskClient, story: Story) -> None:
    passage = story.passages[0]
    response = client.post(
        f"/stories/{story.id}/passages/{passage.id}/redact",
        data={"phrase": "Bronwen", "csrf_token": csrf_token(client, f"/stories/{story.id}")},
    )
    assert response.status_code == 302


def run_waiting_jobs() -> list[Job]:
    """Run every queued job, oldest first, as the worker would."""
    waiting = db.session.scalars(
        select(Job).where(Job.state == JobState.QUEUED).order_by(Job.id)
    ).all()
    for job in waiting:
        jobs.execute(job.id)
    db.session.expire_all()
    return list(waiting)


@pytest.fixture
def clients(
    login_as: Callable[[Role], tuple[FlaskClient, User]],
) -> tuple[FlaskClient, FlaskClient, FlaskClient, User]:
    curator_client, _ = login_as(Role.CURATOR)
    trainer_client, _ = login_as(Role.TRAINER)
    teller_client, teller = login_as(Role.STORYTELLER)
    return curator_client, trainer_client, teller_client, teller


def test_the_web_copy_is_not_served_between_a_redaction_and_its_new_copy(
    clients: tuple[FlaskClient, FlaskClient, FlaskClient, User], video: Path
) -> None:
    curator, trainer, _, teller = clients
    story = story_for_training(teller, video, with_original=True)
    media = f"/stories/{story.id}/media/rendition"
    before = trainer.get(media)
    assert before.status_code == 200

    redact(curator, story)
    # The new web copy is not made yet: the old one still has the name in its sound.
    assert trainer.get(media).status_code == 404
    page = trainer.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "The video is being made again" in page and media not in page

    ran = run_waiting_jobs()
    assert "render_story" in {job.kind for job in ran}
    after = trainer.get(media)
    assert after.status_code == 200 and after.get_data() != before.get_data()


def test_a_failed_re_render_holds_the_story_back_and_curators_are_told(
    clients: tuple[FlaskClient, FlaskClient, FlaskClient, User], video: Path
) -> None:
    curator, trainer, teller_client, teller = clients
    # No original to make the web copy from again: the re-render fails.
    story = story_for_training(teller, video, with_original=False)
    assert trainer.get(f"/stories/{story.id}").status_code == 200

    redact(curator, story)
    run_waiting_jobs()
    db.session.refresh(story)
    assert story.state == StoryState.FAILED

    assert trainer.get(f"/stories/{story.id}").status_code == 404
    assert f"/stories/{story.id}" not in trainer.get("/stories").get_data(as_text=True)
    told = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "make the video again without the words" in told and "Try again" in told
    assert "badge-failed" in curator.get("/stories").get_data(as_text=True)
    assert teller_client.get(f"/stories/{story.id}").status_code == 200
    assert story.consent is not None and Audience.TRAINING in story.consent.audiences
