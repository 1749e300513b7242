"""The job queue: submit after commit, claim atomically, report progress, recover orphans."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from storyhub.extensions import N_, db
from storyhub.jobs.context import JobContext, JobFailed
from storyhub.jobs.messages import job_text
from storyhub.models import Job, JobState, Role, Story, as_utc, utcnow
from storyhub.registry import registry

log = logging.getLogger(__name__)

PENDING_KEY = "storyhub.pending_jobs"
QUEUE_EXTENSION = "storyhub.queue"


def may_follow(user: Any, job: Job) -> bool:
    """Whether ``user`` may see a story-less job's progress (the rule its feature registered;
    without one, administrators only)."""
    rule = registry().job_access.get(job.kind)
    if rule is not None:
        return rule(user, job)
    return getattr(user, "role", None) == Role.ADMIN


def send(name: str) -> None:
    """Ask the worker to run housekeeping task ``name`` (call after the commit)."""
    if name not in registry().tasks:
        raise ValueError(f"no housekeeping task {name!r}")
    try:
        get_queue().send(name)
    except Exception:
        # Nothing is lost: the sweep runs every task again within minutes.
        log.exception("could not send task %s to the queue; the next sweep will run it", name)


def submit(kind: str, story: Story | None = None, message: str = N_("Waiting to start")) -> Job:
    """Add a job to the current transaction; it is sent to the queue only after the commit.

    Sending before the commit could let a fast worker look for a row that does not exist yet,
    and a rollback would leave the queue holding a job for nothing.
    """
    if kind not in registry().handlers:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, story=story, message=message)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def _send_pending_jobs(session: Session) -> None:
    job_ids = session.info.pop(PENDING_KEY, [])
    for job_id in job_ids:
        try:
            get_queue().enqueue(job_id)
        except Exception:
            # The row stays queued; recover_orphans sends it again when the queue is back.
            log.exception("could not send job %s to the queue; it will be recovered", job_id)


def _forget_pending_jobs(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def worker_identity() -> str:
    """This process as "host:pid", recorded on the jobs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_tag() -> str:
    """This process as "pid@host", in the names of files and folders only it may use."""
    return f"{os.getpid()}@{socket.gethostname()}"


def ended_here(tag: str) -> bool:
    """Whether ``tag`` (from process_tag) names a process of this host that has ended."""
    pid, _, host = tag.partition("@")
    return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))


def use_private_tmp() -> Path:
    """Give this worker process a temporary folder of its own, beside the media.

    Every temporary file of its jobs (theirs and the libraries they call) goes there. A worker
    killed in the middle of a job leaves its partial files in that folder only, and
    ``storyhub.uploads.remove_abandoned_files`` deletes the folder once the process is gone.
    """
    folder = Path(current_app.config["UPLOAD_STAGING"]) / f"worker-{process_tag()}"
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)  # and the programs it runs (ffmpeg, the probe helper)
    return folder


def _claim(job_id: int) -> bool:
    """Mark a queued job as running by this worker; False if someone else has it or it is done.

    A conditional UPDATE makes duplicates harmless: a job sent twice (recovery plus the queue)
    runs once.
    """
    now = utcnow()
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            claimed_by=worker_identity(),
            heartbeat_at=now,
            started_at=now,
            attempts=Job.attempts + 1,
            error_code=None,
            error_message=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _finish(job_id: int, state: JobState, message: str, code: str | None = None) -> None:
    values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "message": message[:200]}
    if state == JobState.DONE:
        values["progress"] = 1.0
    else:
        values["error_code"] = code
        values["error_message"] = message
    db.session.execute(update(Job).where(Job.id == job_id).values(**values))
    db.session.commit()


def execute(job_id: int) -> None:
    """Run one job by id, in the current app context. Safe to call for a job already done."""
    if not _claim(job_id):
        log.info("job %s is not queued (already running or finished); skipping", job_id)
        return
    job = db.session.get(Job, job_id)
    assert job is not None
    context = JobContext(job_id=job.id, story_id=job.story_id)
    kind = job.kind
    handlers = registry()
    try:
        handlers.handlers[kind](context)
    except JobFailed as failure:
        db.session.rollback()
        _finish(job_id, JobState.FAILED, failure.message, failure.code)
        if kind in handlers.on_failure:
            handlers.on_failure[kind](context, failure)
        return
    except Exception:
        db.session.rollback()
        message = N_("Something went wrong on our side. A curator can try again.")
        _finish(job_id, JobState.FAILED, message, "internal")
        if kind in handlers.on_failure:
            handlers.on_failure[kind](context, JobFailed("internal", message))
        raise  # so the worker logs the traceback; the job row already says what happened
    _finish(job_id, JobState.DONE, N_("Finished"))


def recover_orphans(stale_after: timedelta | None = None) -> list[int]:
    """Send again every job that was queued but never ran, or was running in a dead worker.

    A running job is an orphan when its worker was on this host and that process is gone, or
    when its heartbeat is older than ``stale_after`` (a worker on another machine that died).
    """
    if stale_after is None:
        stale_after = timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    host = socket.gethostname()
    cutoff = utcnow() - stale_after
    recovered: list[int] = []
    running = db.session.scalars(select(Job).where(Job.state == JobState.RUNNING)).all()
    for job in running:
        claimed_host, _, pid = (job.claimed_by or ":").rpartition(":")
        dead_here = claimed_host == host and pid.isdigit() and not _process_alive(int(pid))
        stale = job.heartbeat_at is None or as_utc(job.heartbeat_at) < cutoff
        if dead_here or stale:
            job.state = JobState.QUEUED
            job.message = N_("Picked up again after an interruption")
            recovered.append(job.id)
    db.session.commit()
    queued = db.session.scalars(
        select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id)
    ).all()
    queue = get_queue()
    for job_id in queued:
        queue.enqueue(job_id)
    return recovered


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed process that nobody has reaped yet still has its pid, but it has ended. (Where
    the init process doesn't reap orphans, a killed site's processes stay like that.)"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # not Linux, or it has just gone
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


class JobQueue:
    """The app's Huey instance with the one task that runs jobs by id."""

    def __init__(self, app: Flask) -> None:
        self.huey = _make_huey(app.config["QUEUE_URL"])

        def run_job(job_id: int) -> None:
            with app.app_context():
                execute(job_id)

        def run_task(name: str) -> None:
            # Looked up when it runs, in the app's registry: a task registered after the
            # queue was made is found all the same.
            with app.app_context():
                registry().tasks[name]()

        def sweep() -> None:
            with app.app_context():
                recover_orphans()
                for func in registry().tasks.values():
                    func()

        self._run_job = self.huey.task(name="storyhub.run_job")(run_job)
        self._run_task = self.huey.task(name="storyhub.run_task")(run_task)
        # Every few minutes, catch jobs whose worker died on another machine.
        self.huey.periodic_task(crontab(minute="*/5"), name="storyhub.recover_orphans")(sweep)

    def enqueue(self, job_id: int) -> None:
        """Send a job id to the queue."""
        self._run_job(job_id)

    def send(self, name: str) -> None:
        """Send housekeeping task ``name`` to the queue."""
        self._run_task(name)

    def consumer_options(self) -> dict[str, Any]:
        """How the worker's consumer waits for jobs on this queue (see SQLITE_POLL_SECONDS)."""
        if self.huey.storage.blocking:
            # Each read waits for a job itself; the delay only spaces out retries while the
            # queue can't be reached: within a second, the worker is back as soon as Redis is.
            return {"max_delay": 1.0}
        return {"initial_delay": SQLITE_POLL_SECONDS, "max_delay": SQLITE_POLL_SECONDS}


# How a new job reaches an idle worker. Huey's consumer sleeps between reads only when its
# storage can't block: then each worker thread polls, and its sleep grows by 1.15 times after
# every empty read, up to ``max_delay`` (10 s by default: a job sent to a quiet site waited
# 0-10 s). Redis can block: each thread waits inside BRPOP and Redis hands it the job the moment
# it is pushed, so nothing is polled. The embedded SQLite queue has no way to wake a reader, so
# the worker polls it at least this often; a read of an empty queue is one indexed SELECT, and
# at this rate the idle worker uses about 0.2 % of one core (bench/queue_wait.py).
SQLITE_POLL_SECONDS = 0.2
# How long one blocking read on Redis waits before the thread loops round (to notice a stop).
REDIS_READ_TIMEOUT_SECONDS = 1


def _make_huey(url: str) -> Huey:
    if url == "immediate":
        return MemoryHuey("storyhub", immediate=True, results=False)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteHuey("storyhub", filename=path, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(
            "storyhub",
            url=url,
            results=False,
            blocking=True,
            read_timeout=REDIS_READ_TIMEOUT_SECONDS,
        )
    raise ValueError(f"unsupported STORYHUB_QUEUE_URL: {url!r}")


def init_app(app: Flask) -> None:
    """Create the app's queue from ``QUEUE_URL``, and send each job once its commit is done."""
    app.extensions[QUEUE_EXTENSION] = JobQueue(app)
    # Messages are stored in English and shown in the reader's language: {{ job.message|job_text }}
    app.add_template_filter(job_text, "job_text")
    # On the app's sessions (Flask-SQLAlchemy's), not on every SQLAlchemy session in the process.
    for name, listener in (
        ("after_commit", _send_pending_jobs),
        ("after_rollback", _forget_pending_jobs),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def get_queue() -> JobQueue:
    """The current app's queue."""
    queue: JobQueue = current_app.extensions[QUEUE_EXTENSION]
    return queue
