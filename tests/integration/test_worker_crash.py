"""A real worker process, killed in the middle of a job and started again, finishes the job
once: no lost job, no duplicate output, no partial files left behind.

Every kind of job is covered. The long ones (processing a story, making its web copy again,
cutting a clip, exporting a session, packing a showcase) are caught while they run and killed
with SIGKILL, with the programs they started (as a power cut or an out-of-memory kill of the
service would). The purge jobs take milliseconds, too short to catch reliably, so their crash is
set up: left "running" by a dead worker with half their files already deleted, as if it had
died before its commit. Each must be run again and then be harmless to run once more."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from flask import Flask

from storyhub.models import Role
from tests.live_site import wait_for

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
        TMPDIR=str(tmp_path / "tmp"),  # the worker keeps its own; nothing may land here either
    )
    (tmp_path / "tmp").mkdir()
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


def crash(worker: subprocess.Popen[bytes]) -> None:
    """Kill the worker and every program it started, with no chance to tidy up."""
    proc = psutil.Process(worker.pid)
    worker.send_signal(signal.SIGSTOP)  # freeze it first, so the job can't move on meanwhile
    children = proc.children(recursive=True)
    for child in children:
        child.kill()
    worker.kill()
    worker.wait()
    psutil.wait_procs(children, timeout=10)


def running_ffmpeg(worker: subprocess.Popen[bytes]) -> bool:
    """Whether the worker is running ffmpeg for its job (cutting, encoding, joining)."""
    try:
        children = psutil.Process(worker.pid).children()
        return any("ffmpeg" in Path((child.cmdline() or [""])[0]).name for child in children)
    except psutil.Error:  # a child that has just ended
        return False


def work_of(worker: subprocess.Popen[bytes], media_root: Path) -> list[str]:
    """What is in the worker's own temporary folder (in staging): its jobs' scratch."""
    folder = media_root / ".staging" / f"worker-{worker.pid}@{socket.gethostname()}"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def partial_files(media_root: Path) -> list[str]:
    """Files in the staging folder, where workers keep their temporary files."""
    staging = media_root / ".staging"
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())


def assert_no_partial_files(worker_env: dict[str, str], worker: subprocess.Popen[bytes]) -> None:
    """Only the running worker's own temporary folder is left, and it holds nothing."""
    staging = Path(worker_env["STORYHUB_MEDIA_ROOT"]) / ".staging"
    assert [p.name for p in staging.iterdir()] == [f"worker-{worker.pid}@{socket.gethostname()}"]
    assert partial_files(staging.parent) == []
    assert list(Path(worker_env["TMPDIR"]).iterdir()) == []


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
    crash(first)
    state, attempts, _ = job_row(db_path, job_id)
    assert (state, attempts) == ("running", 1), "the job finished before the crash"
    assert work_of(first, Path(worker_env["STORYHUB_MEDIA_ROOT"]))  # its scratch: audio, picture

    second = start_worker()
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
    assert_no_partial_files(worker_env, second)


# --- every other kind of job ------------------------------------------------------------------

PASSAGES = [
    "I was lonely after the stroke and nobody called me for weeks",
    "Then the volunteers came every Tuesday and we talked about the garden",
]


@pytest.fixture(scope="module")
def web_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264/AAC video as long as the stories' two passages (60 s)."""
    from tests.training_factory import make_video

    return make_video(tmp_path_factory.mktemp("crash-web-copy") / "web.mp4", 60)


@dataclass
class LongJob:
    job_id: int
    outputs: Callable[[], list[str]]  # the storage keys the finished job recorded
    folder: str  # where under the media root its outputs go (and nothing else may be)
    once: Callable[[], None]  # checks that its effects happened once


def _files(media_root: Path, folder: str) -> list[str]:
    return sorted(
        str(p.relative_to(media_root)) for p in (media_root / folder).rglob("*") if p.is_file()
    )


def _clip(trainer: Any, story: Any) -> Any:
    from storyhub.training.services import create_clip, story_words

    return create_clip(trainer, story, 0, len(story_words(story)) - 1, "Lonely, then Tuesdays")


def cut_clip_job(make_user: Callable[..., Any], story: Any) -> LongJob:
    from storyhub.extensions import db
    from storyhub.models import AuditEvent
    from storyhub.training.clip_files import made_from, request_file

    trainer = make_user(Role.TRAINER)
    clip = _clip(trainer, story)
    job = request_file(trainer, clip)
    db.session.commit()
    assert job is not None

    def once() -> None:
        db.session.expire_all()
        assert clip.file_made_from == made_from(clip)
        events = db.session.scalars(db.select(AuditEvent).filter_by(action="clip.file_made"))
        assert len(events.all()) == 1

    return LongJob(job.id, lambda: [clip.file_key], "clips", once)


def export_session_job(make_user: Callable[..., Any], story: Any) -> LongJob:
    from consent.models import StoryUse
    from storyhub.extensions import db
    from storyhub.training.exports import request_export
    from storyhub.training.services import add_item, create_session

    trainer = make_user(Role.TRAINER)
    session = create_session(trainer, "Loneliness")
    add_item(trainer, session, "clip", clip_id=_clip(trainer, story).id)
    export = request_export(trainer, session, burn_captions=True)
    db.session.commit()
    assert export.job is not None

    def once() -> None:
        db.session.expire_all()
        assert export.story_ids == [story.id] and export.finished_at is not None
        uses = db.session.scalars(db.select(StoryUse).filter_by(kind="export")).all()
        assert [u.story_id for u in uses] == [story.id]

    return LongJob(export.job.id, lambda: sorted(export.files.values()), "exports", once)


def pack_showcase_job(make_user: Callable[..., Any], story: Any) -> LongJob:
    from storyhub.extensions import db
    from storyhub.showcases.pack import request_pack
    from storyhub.showcases.services import add_item, create_showcase
    from storyhub.storage import get_storage

    curator = make_user(Role.CURATOR)
    showcase = create_showcase(curator, "Council learning day")
    add_item(showcase, story)
    pack = request_pack(curator, showcase)
    db.session.commit()
    assert pack.job is not None

    def once() -> None:
        import zipfile

        db.session.expire_all()
        assert pack.file_key is not None
        with zipfile.ZipFile(get_storage().local_path(pack.file_key)) as archive:
            assert sorted(archive.namelist()) == [
                "showcase/01.en.vtt",
                "showcase/01.mp4",
                "showcase/index.html",
            ]

    return LongJob(pack.job.id, lambda: [pack.file_key], "packs", once)


def render_story_job(make_user: Callable[..., Any], story: Any) -> LongJob:
    """A web copy made again (as after a redaction) from the story's original."""
    from storyhub import jobs
    from storyhub.extensions import db
    from storyhub.models import MediaFile, MediaRole
    from storyhub.processing import RENDER_STORY
    from storyhub.storage import get_storage

    rendition = story.media_file(MediaRole.RENDITION)
    folder = Path(rendition.storage_key).parent
    key = str(folder / "original.mp4")
    size = get_storage().put_file(get_storage().local_path(rendition.storage_key), key)
    story.media.append(
        MediaFile(
            role=MediaRole.ORIGINAL, storage_key=key, content_type="video/mp4", size_bytes=size
        )
    )
    job = jobs.submit(RENDER_STORY, story, message="Making a copy that plays everywhere")
    db.session.commit()

    def outputs() -> list[str]:
        db.session.expire_all()
        return [story.media_file(MediaRole.RENDITION).storage_key, key]

    def once() -> None:
        db.session.expire_all()
        roles = sorted(m.role.value for m in story.media)
        assert roles == ["original", "rendition"]
        assert Path(story.media_file(MediaRole.RENDITION).storage_key).name.startswith("web-r")

    return LongJob(job.id, outputs, str(folder), once)


@pytest.mark.parametrize(
    "make_job",
    [render_story_job, cut_clip_job, export_session_job, pack_showcase_job],
    ids=["render_story", "cut_clip", "export_session", "pack_showcase"],
)
def test_a_long_job_killed_half_way_is_finished_once_by_the_next_worker(
    make_job: Callable[..., LongJob],
    worker_env: dict[str, str],
    app: Flask,
    make_user: Callable[..., Any],
    start_worker: Callable[[], subprocess.Popen[bytes]],
    web_copy: Path,
) -> None:
    from consent.models import Audience
    from storyhub.extensions import db
    from tests.training_factory import clip_story

    db_path = worker_env["STORYHUB_DATABASE_URL"].removeprefix("sqlite:///")
    media_root = Path(worker_env["STORYHUB_MEDIA_ROOT"])
    teller = make_user(Role.STORYTELLER)
    shared = {Audience.TRAINING, Audience.LEARNING_EVENTS}
    story = clip_story(teller, PASSAGES, title="Tuesdays", audiences=shared, video=web_copy)
    job = make_job(make_user, story)
    assert job_row(db_path, job.job_id)[0] == "queued"
    stored_before = _files(media_root, job.folder)

    first = start_worker()
    assert wait_for(
        lambda: job_row(db_path, job.job_id)[0] == "running" and running_ffmpeg(first), 120
    ), job_message(db_path, job.job_id)
    crash(first)
    state, attempts, _ = job_row(db_path, job.job_id)
    assert (state, attempts) == ("running", 1), "the job finished before the crash"
    assert work_of(first, media_root), "the job had nothing under way"
    assert _files(media_root, job.folder) == stored_before  # the crash came before storing

    second = start_worker()
    finished = ("done", "failed")
    assert wait_for(lambda: job_row(db_path, job.job_id)[0] in finished, 120, interval=0.1)
    assert job_row(db_path, job.job_id) == ("done", 2, 1.0), job_message(db_path, job.job_id)
    # Exactly what the job recorded is stored: no second copy, nothing partial.
    db.session.expire_all()
    assert _files(media_root, job.folder) == sorted(job.outputs())
    job.once()
    assert_no_partial_files(worker_env, second)


def test_purge_jobs_left_running_by_a_dead_worker_run_again_and_again_harmlessly(
    worker_env: dict[str, str],
    app: Flask,
    make_user: Callable[..., Any],
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    from consent import copies
    from consent.copies import PURGE_COPIES, CopyKind
    from consent.models import Audience
    from consent.policy import Purpose
    from consent.services import withdraw
    from storyhub import jobs
    from storyhub.extensions import db
    from storyhub.jobs.queue import get_queue, worker_identity
    from storyhub.models import Job, JobState, MediaRole
    from storyhub.retention import PURGE_MEDIA
    from storyhub.showcases.models import ShowcasePack
    from storyhub.showcases.services import add_item, create_showcase
    from storyhub.storage import get_storage
    from storyhub.training.exports import EXPORT_FILES
    from storyhub.training.models import Lesson, LessonExport
    from tests.training_factory import clip_story

    db_path = worker_env["STORYHUB_DATABASE_URL"].removeprefix("sqlite:///")
    storage = get_storage()
    teller, trainer, curator = (
        make_user(r) for r in (Role.STORYTELLER, Role.TRAINER, Role.CURATOR)
    )
    story = clip_story(teller, PASSAGES, audiences={Audience.TRAINING, Audience.LEARNING_EVENTS})

    # What the story's withdrawal must delete: its web copy, a clip's file, an export, a pack.
    def stored(key: str) -> str:
        source = Path(worker_env["TMPDIR"]).parent / "made.bin"
        source.write_bytes(b"made by an earlier job")
        storage.put_file(source, key)
        source.unlink()
        return key

    stored(story.media_file(MediaRole.RENDITION).storage_key)
    clip = _clip(trainer, story)
    clip.file_key = stored(f"clips/{clip.id}-cafe.mp4")
    clip.file_made_from = "earlier"
    session = Lesson(owner=trainer, title="Loneliness")
    export = LessonExport(session=session, requested_by=trainer, story_ids=[story.id])
    export.files = {
        kind: stored(f"exports/1-cafe/{name}") for kind, (name, _) in EXPORT_FILES.items()
    }
    showcase = create_showcase(curator, "Council learning day")
    add_item(showcase, story)
    pack = ShowcasePack(
        showcase=showcase, requested_by=curator, file_key=stored("packs/1-cafe.zip")
    )
    db.session.add_all([session, export, pack])
    db.session.flush()
    # Each as its job records it: a copy holding the story.
    for kind, subject, purpose, keys in [
        (CopyKind.CLIP_FILE, clip.id, Purpose.TRAINING, [clip.file_key]),
        (CopyKind.EXPORT, export.id, Purpose.TRAINING, list(export.files.values())),
        (CopyKind.PACK, pack.id, Purpose.LEARNING_EVENT, [pack.file_key]),
    ]:
        copies.record(kind, subject, purpose, [copies.made_from(story)], keys)
    db.session.commit()
    before = [p for p in Path(worker_env["STORYHUB_MEDIA_ROOT"]).rglob("*") if p.is_file()]
    assert len(before) == 7

    withdraw(story, teller)
    db.session.commit()
    kinds = [PURGE_MEDIA, PURGE_COPIES]  # the web copy, and every other copy holding the story
    purges = db.session.scalars(db.select(Job).where(Job.kind.in_(kinds))).all()
    assert sorted(j.kind for j in purges) == sorted(kinds)

    # A worker took them all and died before its commits, having deleted some files already.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = worker_identity().rpartition(":")[0]
    for purge in purges:
        purge.state, purge.attempts = JobState.RUNNING, 1
        purge.claimed_by, purge.heartbeat_at = f"{host}:{dead.pid}", purge.created_at
    db.session.commit()
    get_queue().huey.flush()  # the queue lost them too: only recovery can find them
    storage.delete(story.media_file(MediaRole.RENDITION).storage_key)
    storage.delete(export.files["video"])

    worker = start_worker()
    ids = [j.id for j in purges]
    finished = ("done", "failed")
    assert wait_for(lambda: all(job_row(db_path, i)[0] in finished for i in ids), 120, 0.1)
    assert [job_row(db_path, i) for i in ids] == [("done", 2, 1.0)] * len(ids)
    db.session.expire_all()
    assert story.media_file(MediaRole.RENDITION) is None
    assert clip.file_key is None and export.files == {} and pack.file_key is None
    assert [p for p in Path(worker_env["STORYHUB_MEDIA_ROOT"]).rglob("*") if p.is_file()] == []

    # Running each once more (a duplicate delivery, or the next withdrawal) changes nothing.
    again = [jobs.submit(kind, story, message="again") for kind in kinds]
    db.session.commit()
    assert wait_for(lambda: all(job_row(db_path, j.id)[0] == "done" for j in again), 60, 0.1), [
        job_message(db_path, j.id) for j in again
    ]
    db.session.expire_all()
    assert clip.file_key is None and export.files == {} and pack.file_key is None
    assert_no_partial_files(worker_env, worker)
