"""On Redis, a real worker that sits idle waits in a blocking read, and a job sent then runs.

A private redis-server is started on a free loopback port (nothing saved to disk) and a real
`flask --app storyhub worker` process is pointed at it. How fast the job starts is a benchmark
figure (bench/queue_wait.py), not something this test times."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from storyhub import jobs
from storyhub.extensions import db
from storyhub.finder.indexing import REINDEX_JOB
from storyhub.models import Job, JobState
from tests.live_site import free_port, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (`make test` installs it: TEST_APT_PACKAGES)")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port)

    def answering() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        assert wait_for(answering, 10, interval=0.05), "redis-server did not start"
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def worker_env(app_config: dict[str, Any], tmp_path: Path, redis_url: str) -> dict[str, str]:
    """Settings shared by the test's app and the worker it starts: the same database and Redis."""
    app_config["QUEUE_URL"] = redis_url
    env = dict(os.environ)
    env.update(
        STORYHUB_WHISPER_MODEL=app_config["WHISPER_MODEL"],
        STORYHUB_INSTANCE_PATH=str(tmp_path / "instance"),
        STORYHUB_DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
        STORYHUB_MEDIA_ROOT=app_config["MEDIA_ROOT"],
        STORYHUB_QUEUE_URL=redis_url,
        STORYHUB_SECRET_KEY="test-secret",
    )
    return env


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask --app storyhub worker`, as production runs it, on the test's Redis."""
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "storyhub", "worker", "--threads", "1"],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def job_state(job_id: int) -> JobState:
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None
    state = job.state
    db.session.rollback()  # end the read, so the worker's writes never wait for it
    return state


def send_job() -> int:
    job = jobs.submit(REINDEX_JOB, message="Rebuilding the search index")
    db.session.commit()  # the commit sends it to Redis
    return job.id


def test_a_job_sent_to_an_idle_worker_on_redis_runs(
    app: Flask, redis_url: str, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    first = send_job()
    # The first job also waits for the worker to start up (it loads its libraries first).
    assert wait_for(lambda: job_state(first) == JobState.DONE, 180, interval=0.1), log.read_text()

    # Idle: the worker's thread waits inside a blocking read on Redis (BRPOP), rather than
    # sleeping between polls; that is what lets it wake the moment a job arrives.
    client = redis.Redis.from_url(redis_url)
    blocked = lambda: client.info("clients")["blocked_clients"] >= 1  # noqa: E731
    assert wait_for(blocked, 30, interval=0.05), log.read_text()

    second = send_job()
    assert wait_for(lambda: job_state(second) == JobState.DONE, 60, interval=0.05), log.read_text()
    assert worker.poll() is None, log.read_text()
    client.close()
