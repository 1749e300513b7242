"""The job queue: sent only after the commit, run once, failures readable, orphans recovered."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from storyhub import jobs
from storyhub.extensions import db
from storyhub.jobs.queue import execute, get_queue, recover_orphans, worker_identity
from storyhub.models import Job, JobState, MediaFile, MediaRole, Role, StoryState, utcnow
from storyhub.processing import PROCESS_STORY
from storyhub.storage import get_storage
from tests.conftest import csrf_token


@pytest.fixture
def real_queue(app_config: dict[str, Any], tmp_path: Path) -> None:
    """Use the embedded SQLite queue, with no worker: jobs wait in it until a test runs them."""
    app_config["QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"


def pending(app: Flask) -> int:
    return int(get_queue().huey.pending_count())


def test_a_job_reaches_the_queue_only_after_the_commit(
    real_queue: None, app: Flask, make_story: Callable[..., Any]
) -> None:
    story = make_story(None, "wav")  # its own job was committed and sent
    assert pending(app) == 1
    job = jobs.submit(PROCESS_STORY, story)
    assert job.id is not None
    assert pending(app) == 1  # flushed, not committed: not sent yet
    db.session.commit()
    assert pending(app) == 2


def test_a_rolled_back_job_is_never_sent(
    real_queue: None, app: Flask, make_story: Callable[..., Any]
) -> None:
    story = make_story(None, "wav")
    jobs.submit(PROCESS_STORY, story)
    db.session.rollback()
    assert pending(app) == 1
    assert len(db.session.scalars(select(Job)).all()) == 1
    # A later, unrelated commit does not send the forgotten job either.
    db.session.commit()
    assert pending(app) == 1


def test_a_queued_job_runs_once_even_if_sent_twice(
    real_queue: None, app: Flask, make_story: Callable[..., Any]
) -> None:
    story = make_story(None, "mp4")
    job_id = story.latest_job.id
    assert story.state == StoryState.UPLOADED
    execute(job_id)
    execute(job_id)  # a duplicate delivery is a no-op
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None and job.state == JobState.DONE and job.attempts == 1
    assert job.story is not None and job.story.state == StoryState.READY
    thumbnails = db.session.scalars(
        select(MediaFile).where(MediaFile.role == MediaRole.THUMBNAIL)
    ).all()
    assert len(thumbnails) == 1


def test_the_queued_job_is_run_by_the_queue_itself(
    real_queue: None, app: Flask, make_story: Callable[..., Any]
) -> None:
    """What a worker does: take the task from the queue and run it."""
    story = make_story(None, "m4a")
    huey = get_queue().huey
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    db.session.expire_all()
    assert story.latest_job.state == JobState.DONE
    assert story.state == StoryState.READY


def _damage(story: Any) -> bytes:
    original = story.media_file(MediaRole.ORIGINAL)
    path = get_storage().local_path(original.storage_key)
    good = path.read_bytes()
    # Replace, don't overwrite: stored files may be hard links to the shared sample media.
    path.unlink()
    path.write_bytes(b"this is not a video any more" * 100)
    return good


def test_a_damaged_file_ends_in_a_failed_state_that_a_curator_can_retry(
    real_queue: None, app: Flask, make_story: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    story = make_story(None, "mp4")
    good = _damage(story)  # slipped past validation, broken in storage afterwards
    execute(story.latest_job.id)
    db.session.expire_all()
    job = story.latest_job
    assert job.state == JobState.FAILED and job.error_code in {"not_media", "damaged"}
    assert story.state == StoryState.FAILED
    assert story.failure_message and "video or a sound recording" in story.failure_message

    client, _ = login_as(Role.CURATOR)
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "We couldn't prepare this story." in page and "Try again" in page

    damaged = get_storage().local_path(story.media_file(MediaRole.ORIGINAL).storage_key)
    damaged.unlink()
    damaged.write_bytes(good)
    response = client.post(
        f"/stories/{story.id}/retry", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    retry_job = story.latest_job
    assert retry_job.id != job.id and retry_job.state == JobState.QUEUED
    execute(retry_job.id)
    db.session.expire_all()
    assert story.state == StoryState.READY and story.failure_message is None


def test_storytellers_cannot_retry_other_peoples_stories(
    real_queue: None, make_story: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    story = make_story(None, "mp4")
    client, _ = login_as(Role.STORYTELLER)
    response = client.post(
        f"/stories/{story.id}/retry", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 404
    assert len(story.jobs) == 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_recover_orphans_requeues_jobs_of_dead_or_silent_workers(
    real_queue: None, app: Flask, make_story: Callable[..., Any]
) -> None:
    host = worker_identity().rpartition(":")[0]
    dead, alive, silent = (make_story(None, "wav").latest_job for _ in range(3))
    for job, claimed_by, heartbeat in (
        (dead, f"{host}:{_dead_pid()}", utcnow()),
        (alive, f"{host}:{os.getpid()}", utcnow()),
        (silent, "another-host:123", utcnow() - timedelta(hours=1)),
    ):
        job.state, job.claimed_by, job.heartbeat_at = JobState.RUNNING, claimed_by, heartbeat
    db.session.commit()
    huey = get_queue().huey
    huey.flush()

    recovered = recover_orphans(stale_after=timedelta(minutes=5))

    assert sorted(recovered) == sorted([dead.id, silent.id])
    db.session.expire_all()
    assert dead.state == JobState.QUEUED and silent.state == JobState.QUEUED
    assert alive.state == JobState.RUNNING
    assert pending(app) == 2  # the two orphans were sent again; the live one was not
