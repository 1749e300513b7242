"""A real worker process, killed in the middle of a job and started again, finishes the story
once: no lost job, no duplicate output."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from storyhub.models import Role

pytestmark = pytest.mark.slow


@pytest.fixture
def worker_env(app_config: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """Settings shared by the test's app and the worker processes it starts."""
    app_config["QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    env = dict(os.environ)
    env.update(
        STORYHUB_WHISPER_MODEL=app_config["WHISPER_MODEL"],
        STORYHUB_INSTANCE_PATH=str(tmp_path / "instance"),
        STORYHUB_DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
        STORYHUB_MEDIA_ROOT=app_config["MEDIA_ROOT"],
        STORYHUB_QUEUE_URL=app_config["QUEUE_URL"],
        STORYHUB_SECRET_KEY="test-secret",
    )
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str]) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "storyhub", "worker", "--threads", "1"],
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def job_row(db_path: str, job_id: int) -> tuple[str, int, float]:
    with sqlite3.connect(db_path, timeout=5) as conn:
        state, attempts, progress = conn.execute(
            "SELECT state, attempts, progress FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
    return state, attempts, progress


def job_message(db_path: str, job_id: int) -> str:
    with sqlite3.connect(db_path, timeout=5) as conn:
        (message,) = conn.execute("SELECT message FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return str(message)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 20 seconds of speech, so the worker can be caught in the middle of transcribing."""
    from media_pipeline.synth import render_story

    return render_story(
        tmp_path_factory.mktemp("crash") / "story.mp4",
        title="Crash test",
        paragraphs=[
            "I have lived in this town all my life and I know everybody on my street.",
            "When my wife died the house was very quiet and I did not go out for a long time.",
            "A support worker came every Tuesday and we walked to the library together.",
            "Now I help at the library myself, and people say hello to me in the shop.",
        ],
    )


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_killed_worker_resumes_the_job_on_restart_and_finishes_once(
    worker_env: dict[str, str],
    app: Flask,
    make_user: Callable[..., Any],
    start_worker: Callable[[], subprocess.Popen[bytes]],
    spoken: Path,
) -> None:
    from storyhub.models import Language, TellerKind
    from storyhub.uploads import StoryDetails, store_story_file

    db_path = worker_env["STORYHUB_DATABASE_URL"].removeprefix("sqlite:///")
    teller = make_user(Role.STORYTELLER)
    story = store_story_file(
        spoken,
        StoryDetails("Crash", "", Language.ENGLISH, TellerKind.SERVICE_USER),
        uploader=teller,
        storyteller=teller,
        original_filename="story.mp4",
    )
    job_id = story.latest_job.id
    assert job_row(db_path, job_id)[0] == "queued"

    first = start_worker()
    # Transcription has the 12% to 75% share of the job's progress.
    assert wait_for(lambda: 0.12 <= job_row(db_path, job_id)[2] < 0.75, timeout=120), job_message(
        db_path, job_id
    )
    # Freeze it at once, then kill it: a crash in the middle of transcribing.
    first.send_signal(signal.SIGSTOP)
    state, attempts, _ = job_row(db_path, job_id)
    assert (state, attempts) == ("running", 1), "the job finished before the crash"
    first.kill()
    first.wait()
    assert job_row(db_path, job_id)[0] == "running"  # orphaned: its worker is gone

    start_worker()
    assert wait_for(lambda: job_row(db_path, job_id)[0] == "done", timeout=60, interval=0.1)
    state, attempts, progress = job_row(db_path, job_id)
    assert (state, attempts, progress) == ("done", 2, 1.0)
    with sqlite3.connect(db_path) as conn:
        story_state = conn.execute("SELECT state FROM stories WHERE id = ?", (story.id,)).fetchone()
        media_roles = sorted(
            role
            for (role,) in conn.execute(
                "SELECT role FROM media_files WHERE story_id = ?", (story.id,)
            )
        )
        transcripts = conn.execute("SELECT count(*) FROM transcripts").fetchone()[0]
        positions = [p for (p,) in conn.execute("SELECT position FROM passages ORDER BY 1")]
        texts = " ".join(t for (t,) in conn.execute("SELECT text FROM passages ORDER BY position"))
        revisions = conn.execute("SELECT count(*) FROM transcript_revisions").fetchone()[0]
    assert story_state == ("ready",)
    # Each output once: no duplicate thumbnail, transcript, passages or web copy.
    assert media_roles == ["audio", "original", "rendition", "thumbnail"]
    assert transcripts == 1 and revisions == 1
    assert positions == list(range(len(positions))) and positions
    assert "library" in texts.lower()
