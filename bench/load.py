"""Load: many people at once on the real site, while stories are uploaded and transcribed.

    .venv/bin/python bench/load.py                   # 50 people for 60 s, 3 uploaders
    .venv/bin/python bench/load.py --seconds 20      # a quicker look
    .venv/bin/python bench/load.py --help            # --users, --think, --web-workers, ...

One run, no manual steps:

1. makes a throwaway instance folder and runs `flask --app storyhub setup --no-demo` (the real
   CLI), then loads the search benchmark's corpus into it (bench/search.py's ``make_corpus`` and
   ``load_corpus``: 1,000 stories, about 40,000 passages, 30 % of them with a confirmed theme) and
   builds the search index from the database (``reindex``). It gives 50 of the stories a real
   web copy (a spoken MP4 made with ``media_pipeline.synth``) and allows clips of them, and
   makes the accounts: trainers with clips and a session each, members, curators and
   storytellers;
2. starts the site as `make run` does: `flask --app storyhub serve` (gunicorn, gthread, 8 threads
   a process, and the job worker beside it), with ``--web-workers 2`` unless told otherwise, on a
   free loopback port;
3. signs everyone in through the login form (with its CSRF token), then lets them work at once,
   each in a thread with its own ``requests.Session`` (each request on a new connection, see
   ``timed_get``) and a pause of ``--think`` seconds on average between two clicks:
   - trainers search (single words, two words, phrases, a theme, with and without a filter),
     open a result where it plays, look at all the passages of one story, open story pages,
     their clips, their sessions and one session, and fetch a piece of a web copy (a Range
     request, as the player does);
   - members read the dashboard (with and without a filter) and the passages behind its numbers,
     download its CSV, search and open results, and try a story that is not shared with them
     (404 expected: consent is checked under load too);
   - curators do a bit of everything, including the list of all stories;
   - meanwhile ``--uploaders`` storytellers upload real recordings through the upload form, one
     after another for the whole run, at ``--upload-rate`` MB/s each (a good home connection),
     then open the story page and its progress JSON, as the upload page does. So the worker is
     transcribing (Whisper base, the default) and making web copies all along;
4. after ``--warm-up`` seconds it counts every request that starts in the next ``--seconds``;
5. prints a Markdown table (requests, requests a second, p50, p95 and slowest, errors) per kind
   of request and overall, the CPU each part used, and what the worker got through.

An error is any exception (time-out, connection refused or dropped) or any status other than the
one expected: 200 for pages (a redirect counts as an error: redirects are not followed, so a lost
sign-in can't pass as a page), 206 for the Range request, 404 for the story that is not shared.
A traceback, "[ERROR]" or "WORKER TIMEOUT" in the site's log, and a job that failed, are errors
too. The script
exits 1 on any error. Everything it made is removed at the end, even on Ctrl+C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import random
import re
import resource
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_module(name: str) -> ModuleType:
    """bench/NAME.py, by path (bench/ is not a package, and "search" is the project's own)."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


# bench/dashboard.py drops the shell's STORYHUB_* settings when imported, and loads
# bench/search.py; the upload helpers come from bench/upload_memory.py.
bench_dashboard = _bench_module("dashboard")
bench_search = bench_dashboard.bench_search
bench_upload = _bench_module("upload_memory")

import psutil  # noqa: E402
import requests  # noqa: E402

from tests.live_site import flask, running_site, site_env  # noqa: E402

PASSWORD = "bench password 1"
REQUEST_TIMEOUT = 60.0
UPLOAD_TITLE = "Load test upload"
MEDIA_STORIES = 50
RANGE_BYTES = 64 * 1024
PLAY_LINK = re.compile(r'href="/stories/(\d+)\?t=([0-9.]+)#passage-\d+"')
JOB_URL = re.compile(r'data-job-url="/jobs/(\d+)"')
LOG_PROBLEM = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT")
LANGUAGES, TELLERS = ["en", "cy"], ["service_user", "carer", "practitioner"]
UPLOAD_KIND = "upload (throttled)"

# The rows of the table, in order; "(expected 404)" rows count a 404 as success.
KINDS = [
    "search",
    "search with a filter",
    "search result: play from the passage",
    "search: all passages of one story",
    "story page",
    "story not shared with them (expected 404)",
    "web copy, Range request (206)",
    "dashboard",
    "dashboard: passages behind a number",
    "dashboard: outcomes.csv",
    "all stories (curator)",
    "my clips",
    "my sessions",
    "one session",
    "story page after uploading",
    "upload progress (JSON)",
]
ROLE_MIX = {"trainer": 0.5, "member": 0.3, "curator": 0.2}
# What each kind of person does, with weights.
ACTIONS = {
    "trainer": {
        "search": 25,
        "search with a filter": 12,
        "search result: play from the passage": 15,
        "search: all passages of one story": 5,
        "story page": 10,
        "web copy, Range request (206)": 10,
        "my clips": 8,
        "my sessions": 8,
        "one session": 7,
    },
    "member": {
        "dashboard": 25,
        "dashboard: passages behind a number": 20,
        "dashboard: outcomes.csv": 5,
        "search": 15,
        "search with a filter": 8,
        "search result: play from the passage": 12,
        "story page": 5,
        "story not shared with them (expected 404)": 4,
        "web copy, Range request (206)": 6,
    },
    "curator": {
        "search": 20,
        "search with a filter": 10,
        "search result: play from the passage": 10,
        "search: all passages of one story": 5,
        "story page": 15,
        "dashboard": 12,
        "dashboard: passages behind a number": 8,
        "dashboard: outcomes.csv": 3,
        "all stories (curator)": 5,
        "web copy, Range request (206)": 8,
    },
}
EXPECTED = {
    "story not shared with them (expected 404)": 404,
    "web copy, Range request (206)": 206,
}


# --- the throwaway site ------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    role: str
    session_id: int | None = None  # a trainer's own training session


@dataclass
class Corpus:
    """What the people may open, by who they are (story ids), and the queries they type."""

    visible: dict[str, list[int]]
    hidden_from_members: list[int]
    with_media: list[int]
    queries: list[dict[str, str]]
    passages: int
    web_copy_bytes: int
    choices: Any  # the dashboard's filter values (bench/dashboard.py's Choices)


def make_recordings(folder: Path) -> list[Path]:
    """Two real recordings to upload: a spoken MP4 of captioned slides, and its sound as the
    48 kHz stereo WAV a voice recorder makes. The MP4 is also the corpus stories' web copy."""
    from media_pipeline.ffmpeg import file_url, run_ffmpeg
    from media_pipeline.synth import render_story

    video = render_story(
        folder / "story.mp4",
        title="Tuesdays at the library",
        paragraphs=[
            "After my husband died I did not leave the house for weeks, and nobody called.",
            "Then a support worker came on Tuesdays. We walked to the library together and she "
            "listened to me about the garden and about him.",
            "Now I help at the library myself. People say hello to me in the shop, and I am "
            "not lonely any more. I wanted the council to know what made the difference.",
        ],
        size=(640, 360),
    )
    wav = folder / "story.wav"
    sound = ["-vn", "-ac", "2", "-ar", "48000", "-c:a", "pcm_s16le", "-y"]
    run_ffmpeg(["-i", file_url(video), *sound, file_url(wav)], timeout=120)
    return [video, wav]


def seed(stories: int, people: list[Person], web_copy: Path, seed_: int) -> Corpus:
    """Load the corpus, the accounts, web copies, clips and sessions, and the search index."""
    from sqlalchemy import select, update

    from consent.models import ConsentVersion
    from storyhub import create_app
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.finder.indexing import reindex
    from storyhub.models import MediaFile, MediaRole, Passage, Role, Story
    from storyhub.storage import get_storage
    from storyhub.training.models import Clip, ItemKind, Lesson, LessonItem

    docs, words = bench_search.make_corpus(stories)
    by_story: dict[int, tuple[str, ...]] = {d.story_id: d.audiences for d in docs}
    app = create_app()
    bench_search.load_corpus(app, docs)
    rng = random.Random(seed_)
    with app.app_context():
        users = {p.username: create_user(p.username, PASSWORD, Role(p.role)) for p in people}
        db.session.commit()
        # Web copies (and clips allowed) for stories shared both for training and for events,
        # so that everyone has media to play.
        both = [s for s, a in by_story.items() if "training" in a and "learning_events" in a]
        with_media = sorted(rng.sample(both, min(MEDIA_STORIES, len(both))))
        storage = get_storage()
        for story_id in with_media:
            key = f"stories/bench-{story_id}/web-r1.mp4"
            size = storage.put_file(web_copy, key)
            db.session.add(
                MediaFile(
                    story_id=story_id,
                    role=MediaRole.RENDITION,
                    storage_key=key,
                    content_type="video/mp4",
                    size_bytes=size,
                )
            )
        db.session.execute(update(Story).where(Story.id.in_(with_media)).values(kind="video"))
        db.session.execute(
            update(ConsentVersion)
            .where(ConsentVersion.story_id.in_(with_media))
            .values(clips_allowed=True)
        )
        # Each trainer has three clips (a passage each) and a session holding them.
        for person in people:
            if person.role != "trainer":
                continue
            trainer = users[person.username]
            session = Lesson(owner=trainer, title=f"Loneliness, for {person.username}")
            session.items.append(LessonItem(kind=ItemKind.HEADING, text="What helped", position=0))
            for position, story_id in enumerate(rng.sample(with_media, 3), start=1):
                passage = db.session.scalars(
                    select(Passage).where(Passage.story_id == story_id).limit(1)
                ).one()
                consent = db.session.scalar(select(Story.consent_id).where(Story.id == story_id))
                clip = Clip(
                    owner=trainer,
                    story_id=story_id,
                    start=passage.start,
                    end=passage.end,
                    title=f"Passage of story {story_id}",
                    consent_id=consent,
                )
                session.items.append(LessonItem(kind=ItemKind.CLIP, clip=clip, position=position))
            db.session.add(session)
            db.session.flush()
            person.session_id = session.id
        db.session.commit()
        choices = bench_dashboard.Choices()
        started = time.perf_counter()
        passages = reindex()
        print(f"indexed {passages:,} passages in {time.perf_counter() - started:.0f} s", flush=True)
        db.session.remove()
        db.engine.dispose()

    queries = [
        q for items in bench_search.make_queries(words, 50, seed=seed_).values() for q in items
    ]
    return Corpus(
        visible={
            "trainer": [s for s, a in by_story.items() if "training" in a],
            "member": [s for s, a in by_story.items() if "learning_events" in a],
            "curator": sorted(by_story),
        },
        hidden_from_members=[s for s, a in by_story.items() if "learning_events" not in a],
        with_media=with_media,
        queries=queries,
        passages=len(docs),
        web_copy_bytes=web_copy.stat().st_size,
        choices=choices,
    )


def people_for(users: int, uploaders: int) -> tuple[list[Person], list[Person]]:
    counts = {role: round(users * share) for role, share in ROLE_MIX.items()}
    counts["trainer"] += users - sum(counts.values())
    browsing = [Person(f"bench-{role}-{n}", role) for role, c in counts.items() for n in range(c)]
    tellers = [Person(f"bench-storyteller-{n}", "storyteller") for n in range(uploaders)]
    return browsing, tellers


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    error: str | None  # None when the answer was the expected one


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def timed_get(
    recorder: Recorder,
    session: requests.Session,
    kind: str,
    url: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response | None:
    """GET ``url`` (no redirects followed), record it; the response if it was the one expected."""
    # Each request on a new connection. gunicorn closes one idle for 2 s (its keep-alive), and
    # on a busy machine a client can't tell its idle time well enough to reuse one safely: a
    # request sent as the server closes it fails for nothing (a browser would send it again).
    # Connecting costs a fraction of a millisecond on loopback.
    session.close()  # drops the idle connection; the session (its cookie) stays usable
    started = time.monotonic()
    error: str | None = None
    response = None
    try:
        response = session.get(
            url, params=params, headers=headers, allow_redirects=False, timeout=REQUEST_TIMEOUT
        )
        expected = EXPECTED.get(kind, 200)
        if response.status_code != expected:
            error = f"{response.status_code} (expected {expected}) for {response.url}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    recorder.add(Sample(kind, started, time.monotonic() - started, error))
    return response if error is None else None


def sign_in(base: str, username: str) -> requests.Session:
    """Through the login form, with its CSRF token; fails unless it redirects (signed in)."""
    session = requests.Session()
    token = bench_upload.csrf_token(session.get(f"{base}/login", timeout=REQUEST_TIMEOUT).text)
    answer = session.post(
        f"{base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: {answer.status_code}")
    return session


class Browser:
    """One person: signed in, clicking through the site with pauses, until told to stop."""

    def __init__(
        self,
        base: str,
        person: Person,
        corpus: Corpus,
        recorder: Recorder,
        think: float,
        seed_: int,
    ) -> None:
        self.base, self.person, self.corpus, self.choices = base, person, corpus, corpus.choices
        self.recorder, self.think = recorder, think
        self.rng = random.Random(seed_)
        self.session: requests.Session | None = None
        self.results: list[tuple[int, str]] = []  # (story, time) of the last search's results
        self.last_query: dict[str, str] = {"q": "care"}
        actions = ACTIONS[person.role]
        self.kinds, self.weights = list(actions), list(actions.values())

    def get(
        self,
        kind: str,
        path: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response | None:
        assert self.session is not None
        return timed_get(self.recorder, self.session, kind, f"{self.base}{path}", params, headers)

    def act(self, kind: str) -> None:
        rng, corpus, role = self.rng, self.corpus, self.person.role
        if kind == "search":
            self.search(kind, dict(rng.choice(corpus.queries)))
        elif kind == "search with a filter":
            query = dict(rng.choice(corpus.queries))
            which = rng.choice(["language", "teller", "setting", "year", "dates", "page"])
            if which == "language":
                query["language"] = rng.choice(LANGUAGES)
            elif which == "teller":
                query["teller"] = rng.choice(TELLERS)
            elif which == "setting":
                query["setting"] = rng.choice(bench_search.SETTINGS)
            elif which == "year":
                query["year"] = str(rng.randint(2023, 2026))
            elif which == "dates":
                year = rng.randint(2023, 2026)
                query.update({"from": f"{year}-01-01", "to": f"{year}-06-30"})
            else:
                query["page"] = str(rng.randint(2, 3))
            self.search(kind, query)
        elif kind == "search result: play from the passage":
            if not self.results:
                self.search("search", dict(rng.choice(corpus.queries)))
            if self.results:
                story_id, at = rng.choice(self.results)
                self.get(kind, f"/stories/{story_id}", {"t": at})
        elif kind == "search: all passages of one story":
            if self.results:
                story_id = rng.choice(self.results)[0]
                self.get(kind, "/search", {**self.last_query, "story": str(story_id)})
        elif kind == "story page":
            self.get(kind, f"/stories/{rng.choice(corpus.visible[role])}")
        elif kind == "story not shared with them (expected 404)":
            self.get(kind, f"/stories/{rng.choice(corpus.hidden_from_members)}")
        elif kind == "web copy, Range request (206)":
            start = rng.randrange(0, max(1, corpus.web_copy_bytes - RANGE_BYTES))
            self.get(
                kind,
                f"/stories/{rng.choice(corpus.with_media)}/media/rendition",
                headers={"Range": f"bytes={start}-{start + RANGE_BYTES - 1}"},
            )
        elif kind == "dashboard":
            filters = bench_dashboard.one_filter(rng, self.choices) if rng.random() < 0.6 else {}
            self.get(kind, "/dashboard", filters)
        elif kind == "dashboard: passages behind a number":
            self.get(kind, "/dashboard/passages", bench_dashboard.cell_filter(rng, self.choices))
        elif kind == "dashboard: outcomes.csv":
            self.get(kind, "/dashboard/outcomes.csv")
        elif kind == "all stories (curator)":
            self.get(kind, "/stories")
        elif kind == "my clips":
            self.get(kind, "/clips")
        elif kind == "my sessions":
            self.get(kind, "/sessions")
        elif kind == "one session":
            self.get(kind, f"/sessions/{self.person.session_id}")
        else:
            raise ValueError(kind)

    def search(self, kind: str, query: dict[str, str]) -> None:
        response = self.get(kind, "/search", query)
        if response is not None:
            self.last_query = {k: v for k, v in query.items() if k != "page"}
            self.results = [(int(s), t) for s, t in PLAY_LINK.findall(response.text)]

    def run(self, session: requests.Session, stop_at: float) -> None:
        self.session = session
        try:
            while time.monotonic() < stop_at:
                self.act(self.rng.choices(self.kinds, self.weights)[0])
                time.sleep(self.rng.uniform(0, 2 * self.think))
        finally:
            session.close()


@dataclass
class ThrottledBody:
    """A multipart body sent at ``rate`` bytes a second, as a real connection would."""

    body: Any  # bench/upload_memory.py's MultipartBody
    rate: float
    piece: int = 64 * 1024

    @property
    def content_type(self) -> str:
        return str(self.body.content_type)

    def __len__(self) -> int:
        return len(self.body)

    def __iter__(self) -> Iterator[bytes]:
        started, sent = time.monotonic(), 0
        for chunk in self.body:
            for i in range(0, len(chunk), self.piece):
                piece = chunk[i : i + self.piece]
                yield piece
                sent += len(piece)
                ahead = sent / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)


class Uploader:
    """A storyteller uploading recordings one after another through the upload form."""

    def __init__(
        self,
        base: str,
        person: Person,
        files: list[Path],
        recorder: Recorder,
        rate: float,
        seed_: int,
    ) -> None:
        self.base, self.person, self.files, self.recorder = base, person, files, recorder
        self.rate = rate
        self.rng = random.Random(seed_)
        self.sent = 0
        self.uploads = 0

    def run(self, session: requests.Session, stop_at: float) -> None:
        try:
            while time.monotonic() < stop_at:
                path = self.files[self.uploads % len(self.files)]
                url = self.upload(session, path)
                if url is None:
                    time.sleep(1)  # don't hammer a failing site
                    continue
                # What the upload page's script does next: the story page, which polls the job.
                page = timed_get(
                    self.recorder, session, "story page after uploading", f"{self.base}{url}"
                )
                job = JOB_URL.search(page.text) if page is not None else None
                if job is not None:
                    timed_get(
                        self.recorder,
                        session,
                        "upload progress (JSON)",
                        f"{self.base}/jobs/{job.group(1)}",
                    )
        finally:
            session.close()

    def upload(self, session: requests.Session, path: Path) -> str | None:
        started = time.monotonic()
        error: str | None = None
        url = None
        try:
            session.close()  # a new connection, as in timed_get()
            form = session.get(f"{self.base}/stories/new", timeout=REQUEST_TIMEOUT)
            fields = bench_upload.story_fields(f"{UPLOAD_TITLE} {self.uploads + 1}")
            fields["csrf_token"] = bench_upload.csrf_token(form.text)
            body = bench_upload.MultipartBody(
                fields, "media", bench_upload.FilePart(path.name, path.stat().st_size, path)
            )
            headers = {**bench_upload.UPLOAD_HEADER, "Cookie": bench_upload.cookie_header(session)}
            reply = bench_upload.post_streaming(
                self.base, "/stories/new", ThrottledBody(body, self.rate), headers
            )
            payload = reply.json() or {}
            if reply.status == 200 and payload.get("ok") and payload.get("url"):
                url = str(payload["url"])
                self.sent += reply.sent
                self.uploads += 1
            else:
                error = f"upload answered {reply.status}: {reply.body[:200]!r}"
        except (requests.RequestException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.recorder.add(Sample(UPLOAD_KIND, started, time.monotonic() - started, error))
        return url


# --- CPU, the site's log, the worker's progress ------------------------------------------------


def site_processes(base: str) -> dict[str, list[psutil.Process]]:
    """The gunicorn workers and the job worker (with its children) of the site at ``base``."""
    bind = base.removeprefix("http://")
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "gunicorn" in cmdline and bind in cmdline:
            serve = proc.parent()
            assert serve is not None
            job_worker = [p for p in serve.children() if "worker" in p.cmdline()]
            return {"web": [proc, *proc.children()], "worker": job_worker}
    raise RuntimeError(f"no gunicorn serving {bind}")


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """CPU time of the processes and of the children they have waited for (ffmpeg, probes)."""
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all processes, all cores), in core-seconds."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def log_problems(log_path: Path) -> list[str]:
    """Errors in the site's log (gunicorn's and the worker's), each with its traceback."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    problems = []
    for n, line in enumerate(lines):
        if LOG_PROBLEM.search(line) and not line.startswith(" "):
            block = [line]
            for more in lines[n + 1 : n + 60]:
                block.append(more)
                if not more.startswith((" ", "Traceback", "During handling", "The above")) and more:
                    break  # the exception's own line ends the traceback
            # Where it was raised and what: the last frame and the exception.
            problems.append("\n".join([*block[:1], "    ...", *block[-3:]]))
    return problems


def worker_progress(db_path: Path) -> dict[str, int]:
    """The stories uploaded during the run and their jobs, by state."""
    title = f"{UPLOAD_TITLE} %"
    with sqlite3.connect(db_path, timeout=30) as conn:
        stories = conn.execute(
            "SELECT 'story ' || state, count(*) FROM stories WHERE title LIKE ? GROUP BY state",
            (title,),
        ).fetchall()
        jobs = conn.execute(
            "SELECT 'job ' || jobs.state, count(*) FROM jobs JOIN stories "
            "ON stories.id = jobs.story_id WHERE stories.title LIKE ? GROUP BY jobs.state",
            (title,),
        ).fetchall()
    return dict(stories + jobs)


# --- report ------------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    return float(bench_search.percentile(values, pct)) if values else 0.0


def row(name: str, samples: list[Sample], window: float) -> str:
    times = [s.seconds * 1000 for s in samples]
    errors = sum(1 for s in samples if s.error)
    return (
        f"| {name} | {len(samples):,} | {len(samples) / window:.1f} | "
        f"{percentile(times, 50):.0f} | {percentile(times, 95):.0f} | "
        f"{max(times, default=0):.0f} | {errors} |"
    )


def report(samples: list[Sample], window: float) -> str:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    lines = [
        "| request | requests | per second | p50 ms | p95 ms | slowest ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [row(kind, by_kind[kind], window) for kind in KINDS if by_kind[kind]]
    pages = [s for s in samples if s.kind != UPLOAD_KIND]
    lines.append(row("**all requests but uploads**", pages, window))
    if by_kind[UPLOAD_KIND]:
        lines.append(row(f"{UPLOAD_KIND}, whole upload", by_kind[UPLOAD_KIND], window))
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60, help="counted time (default 60)")
    parser.add_argument("--warm-up", type=float, default=10, help="not counted (default 10)")
    parser.add_argument("--users", type=int, default=50, help="people browsing (default 50)")
    parser.add_argument("--uploaders", type=int, default=3, help="storytellers (default 3)")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean pause between two clicks, seconds (default 1)",
    )
    parser.add_argument(
        "--upload-rate",
        type=float,
        default=1.0,
        help="each uploader's speed, MB/s (default 1, 8 Mbit/s)",
    )
    parser.add_argument("--stories", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=2,
        help="gunicorn processes, as `flask serve --web-workers` (default 2)",
    )
    parser.add_argument("--whisper-model", default="base", help="the worker's (default base)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where temp files go")
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the site's log here")
    return parser.parse_args(argv)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the `finally` blocks clean up on SIGTERM too


def start_threads(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)
    run_started = time.monotonic()
    load_start = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="storyhub-bench-load-", dir=args.workdir))
    problems: list[str] = []
    try:
        instance = root / "instance"
        settings = {"STORYHUB_WHISPER_MODEL": args.whisper_model}
        if (
            "STORYHUB_MODEL_CACHE" in os.environ
        ):  # bench_dashboard dropped it; keep where models are
            settings["STORYHUB_MODEL_CACHE"] = os.environ["STORYHUB_MODEL_CACHE"]
        env = site_env(instance, **settings)
        os.environ.update({k: v for k, v in env.items() if k.startswith("STORYHUB_")})
        print(f"Setting up a throwaway site in {root} ...", flush=True)
        flask(env, "setup", "--no-demo")
        recordings = make_recordings(root)
        browsing, tellers = people_for(args.users, args.uploaders)
        started = time.perf_counter()
        corpus = seed(args.stories, browsing + tellers, recordings[0], args.seed)
        print(
            f"Seeded {args.stories:,} stories ({corpus.passages:,} passages), "
            f"{len(browsing) + len(tellers)} accounts in {time.perf_counter() - started:.0f} s",
            flush=True,
        )

        with running_site(env, web_workers=args.web_workers) as base:
            print(f"Site up on {base} with {args.web_workers} web workers", flush=True)
            recorder = Recorder()
            started = time.monotonic()
            sessions: dict[str, requests.Session] = {}

            def sign_in_one(person: Person) -> None:
                begun = time.monotonic()
                try:
                    sessions[person.username] = sign_in(base, person.username)
                    error = None
                except (requests.RequestException, RuntimeError) as exc:
                    error = str(exc)
                recorder.add(Sample("sign in", begun, time.monotonic() - begun, error))

            for thread in start_threads([lambda p=p: sign_in_one(p) for p in browsing + tellers]):
                thread.join()
            sign_ins = recorder.samples[:]
            recorder.samples.clear()
            signed_in_s = time.monotonic() - started
            failed = [s.error for s in sign_ins if s.error]
            if failed:
                raise RuntimeError(f"{len(failed)} people could not sign in: {failed[:3]}")

            processes = site_processes(base)
            window_start = time.monotonic() + args.warm_up
            window_end = window_start + args.seconds
            browsers = [
                Browser(base, p, corpus, recorder, args.think, args.seed * 1000 + i)
                for i, p in enumerate(browsing)
            ]
            uploaders = [
                Uploader(
                    base, p, recordings, recorder, args.upload_rate * 1024 * 1024, args.seed + i
                )
                for i, p in enumerate(tellers)
            ]
            threads = start_threads(
                [lambda b=b: b.run(sessions[b.person.username], window_end) for b in browsers]
                + [lambda u=u: u.run(sessions[u.person.username], window_end) for u in uploaders]
            )
            print(
                f"{len(browsers)} people browsing, {len(uploaders)} uploading: "
                f"{args.warm_up:.0f} s warm-up, then {args.seconds:.0f} s counted ...",
                flush=True,
            )
            time.sleep(max(0.0, window_start - time.monotonic()))
            cpu_start = {part: cpu_seconds(procs) for part, procs in processes.items()}
            client_start = resource.getrusage(resource.RUSAGE_SELF)
            busy_start = machine_busy_seconds()
            time.sleep(max(0.0, window_end - time.monotonic()))
            cpu_end = {part: cpu_seconds(procs) for part, procs in processes.items()}
            client_end = resource.getrusage(resource.RUSAGE_SELF)
            busy = machine_busy_seconds() - busy_start
            load_window = os.getloadavg()
            for thread in threads:  # requests and uploads under way finish
                thread.join(timeout=REQUEST_TIMEOUT + 30)
            if any(thread.is_alive() for thread in threads):
                problems.append("some people were still waiting for an answer long after the end")
            progress = worker_progress(instance / "storyhub.sqlite3")
            problems += [f"site log: {line}" for line in log_problems(instance / "site.log")]
            if args.keep_log is not None:
                shutil.copyfile(instance / "site.log", args.keep_log)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    counted = [s for s in recorder.samples if window_start <= s.started < window_end]
    errors = [s for s in recorder.samples if s.error]  # counted or not, an error is an error
    problems += [f"{s.kind}: {s.error}" for s in errors]
    if progress.get("job failed"):
        problems.append(f"{progress['job failed']} processing jobs failed")
    uploads = [s for s in counted if s.kind == UPLOAD_KIND and not s.error]
    client_cpu = (
        client_end.ru_utime + client_end.ru_stime - client_start.ru_utime - client_start.ru_stime
    )
    cpu = {part: cpu_end[part] - cpu_start[part] for part in cpu_end}

    print()
    print(
        f"{dt.date.today().isoformat()}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}"
    )
    mix = ", ".join(f"{sum(p.role == r for p in browsing)} {r}s" for r in ROLE_MIX)
    print(
        f"{len(browsing)} people ({mix}), "
        f"pausing {args.think:g} s on average between clicks; {len(tellers)} uploading at "
        f"{args.upload_rate:g} MB/s each; {args.stories:,} stories ({corpus.passages:,} passages); "
        f"{args.web_workers} web workers x 8 threads; Whisper {args.whisper_model}. "
        f"Counted {args.seconds:.0f} s after {args.warm_up:.0f} s of warm-up.\n"
    )
    print(report(counted, args.seconds))
    print()
    print(
        f"Sign-in of all {len(sign_ins)} people at once (before the warm-up): "
        f"{signed_in_s:.1f} s; p50 {percentile([s.seconds * 1000 for s in sign_ins], 50):.0f} ms, "
        f"p95 {percentile([s.seconds * 1000 for s in sign_ins], 95):.0f} ms."
    )
    sent_mb = sum(u.sent for u in uploaders) / 1024 / 1024
    print(
        f"Uploads finished in the counted time: {len(uploads)}; in the whole run "
        f"{sum(u.uploads for u in uploaders)} ({sent_mb:.0f} MB). The stories uploaded during the "
        f"run and their jobs at the end: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(progress.items())) or 'none'}."
    )
    print(
        f"CPU in the counted time (core-seconds; {os.cpu_count()} cores x {args.seconds:.0f} s = "
        f"{(os.cpu_count() or 1) * args.seconds:.0f} available): web {cpu['web']:.0f}, job worker "
        f"{cpu['worker']:.0f}, this load client {client_cpu:.0f}, anything else on the machine "
        f"{max(0.0, busy - sum(cpu.values()) - client_cpu):.0f} (busy in all {busy:.0f})."
    )
    print(
        f"Load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in load_window)} at the end of the counted time."
    )
    print(f"Whole run: {time.monotonic() - run_started:.0f} s.")
    if problems:
        for problem in problems[:20]:
            print(f"ERROR {problem}", file=sys.stderr)
        print(f"FAILED: {len(problems)} errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
