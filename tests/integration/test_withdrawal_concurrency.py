"""Withdrawal under concurrent reads, on the real site (gunicorn with two web processes + worker).

While the storyteller withdraws a shared story, a trainer and a member keep reading it through
every path: the story page, its media bytes (a Range request) and thumbnail, its job JSON, the
story list, and the API's story, job and list. Once the withdrawal request has returned, no read
that starts afterwards may return the story's content.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live_site import flask, running_site, site_env
from tests.media_factory import make_mp4

pytestmark = pytest.mark.slow

PASSWORD = "race-password-1"
TELLER, TRAINER, MEMBER = "race-teller", "race-trainer", "race-member"
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
RANGE_BYTES = 1024
READ_TIMEOUT = 10.0
# Bounds on the reader threads: they stop after this long, or this many reads each, whichever
# comes first (normally the test stops them much sooner).
READERS_MAX_SECONDS = 20.0
READS_MAX_PER_READER = 3000
WARM_UP_SECONDS = 1.0
AFTER_SECONDS = 2.0


# --- the real site ---------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    env: dict[str, str]
    sample: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def flask(self, *args: str) -> str:
        """Run a `flask --app storyhub` command against this site's instance."""
        return flask(self.env, *args)

    def api(self, username: str) -> requests.Session:
        """A session that uses ``username``'s API token (the caller closes it)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return session

    def web(self, username: str) -> requests.Session:
        """A session signed in through the real login form (the caller closes it)."""
        session = requests.Session()
        try:
            with session.get(f"{self.url}/login", timeout=READ_TIMEOUT) as page:
                token = csrf_token(page.text)
            with session.post(
                f"{self.url}/login",
                data={"username": username, "password": PASSWORD, "csrf_token": token},
                allow_redirects=False,
                timeout=READ_TIMEOUT,
            ) as signed_in:
                assert signed_in.status_code == 302, signed_in.text
        except BaseException:
            session.close()
            raise
        return session


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The site as `make run` starts it (`flask serve`), with two web processes, on loopback."""
    samples = tmp_path_factory.mktemp("race-media")
    env = site_env(tmp_path_factory.mktemp("race-instance"))
    with running_site(env, web_workers=2) as url:
        live = Site(url, env, make_mp4(samples, "race.mp4"))
        for role, username in (("storyteller", TELLER), ("trainer", TRAINER), ("member", MEMBER)):
            live.flask("users", "create", "--role", role, "--username", username,
                       "--password", PASSWORD)  # fmt: skip
            live.tokens[username] = live.flask("users", "token", username).strip()
        yield live


# --- a shared story --------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedStory:
    id: int
    job_id: int
    title: str


def share_a_story(site: Site, title: str) -> SharedStory:
    """Upload a real story through the API as the teller, wait until ready, release it."""
    with site.api(TELLER) as api:
        with site.sample.open("rb") as media:
            created = api.post(
                f"{site.url}/api/v1/stories",
                files={"media": (site.sample.name, media, "video/mp4")},
                data={"title": title, "language": "en", "teller_kind": "service_user",
                      "take_part": "y"},
                timeout=60,
            )  # fmt: skip
        with created:
            assert created.status_code == 201, created.text
            story_id = created.json()["id"]
        deadline = time.monotonic() + 60
        while True:
            with api.get(f"{site.url}/api/v1/stories/{story_id}", timeout=READ_TIMEOUT) as got:
                assert got.status_code == 200, got.text
                story = got.json()
            if story["state"] == "ready":
                break
            assert story["state"] in ("uploaded", "processing", "transcribed"), story
            assert time.monotonic() < deadline, f"the story never became ready: {story}"
            time.sleep(0.2)
        with api.post(
            f"{site.url}/api/v1/stories/{story_id}/consent",
            json={"watched": True, "audiences": ["training", "learning_events"],
                  "review_months": 12},
            timeout=READ_TIMEOUT,
        ) as released:  # fmt: skip
            assert released.status_code == 200, released.text
            assert released.json()["current"]["released"], released.text
    return SharedStory(story_id, story["job"]["id"], title)


# --- read paths and readers ------------------------------------------------------------------


@dataclass(frozen=True)
class ReadPath:
    name: str
    url: str
    is_list: bool
    shows: Callable[[requests.Response], bool]  # the story's content is in this response
    headers: dict[str, str] = field(default_factory=dict)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def read_paths(site: Site, story: SharedStory, channel: str) -> list[ReadPath]:
    """Every path a reader uses: the web's (signed-in session) or the API's (token)."""
    base, sid = site.url, story.id

    def page_shows(r: requests.Response) -> bool:
        return story.title in r.text

    def list_page_shows(r: requests.Response) -> bool:
        return story.title in r.text or f'href="/stories/{sid}"' in r.text

    def media_shows(r: requests.Response) -> bool:
        kind = r.headers.get("Content-Type", "")
        return kind.startswith(("video/", "audio/")) and len(r.content) > 0

    def thumbnail_shows(r: requests.Response) -> bool:
        return r.headers.get("Content-Type", "").startswith("image/") and len(r.content) > 0

    def job_shows(r: requests.Response) -> bool:
        body = _json(r)
        return isinstance(body, dict) and body.get("story_id") == sid

    def story_json_shows(r: requests.Response) -> bool:
        body = _json(r)
        if not isinstance(body, dict):
            return False
        return body.get("id") == sid or body.get("title") == story.title

    def api_list_shows(r: requests.Response) -> bool:
        body = _json(r)
        stories = body.get("stories", []) if isinstance(body, dict) else []
        return any(s.get("id") == sid for s in stories)

    if channel == "web":
        return [
            ReadPath("web page", f"{base}/stories/{sid}", False, page_shows),
            ReadPath(
                "web media range",
                f"{base}/stories/{sid}/media/rendition",
                False,
                media_shows,
                {"Range": f"bytes=0-{RANGE_BYTES - 1}"},
            ),
            ReadPath(
                "web thumbnail", f"{base}/stories/{sid}/media/thumbnail", False, thumbnail_shows
            ),
            ReadPath("web job", f"{base}/jobs/{story.job_id}", False, job_shows),
            ReadPath("web list", f"{base}/stories", True, list_page_shows),
        ]
    return [
        ReadPath("api story", f"{base}/api/v1/stories/{sid}", False, story_json_shows),
        ReadPath("api job", f"{base}/api/v1/jobs/{story.job_id}", False, job_shows),
        ReadPath("api list", f"{base}/api/v1/stories?limit=200", True, api_list_shows),
    ]


@dataclass(frozen=True)
class Read:
    reader: str
    path: str
    start: float
    end: float
    status: int  # -1 when no response came
    got_content: bool  # a 200/206 carrying the story's content
    shows: bool  # the story's content was in the body, whatever the status
    error: str = ""

    def __str__(self) -> str:
        return (
            f"{self.reader} {self.path}: {self.status} content={self.shows} "
            f"[{self.start:.3f}..{self.end:.3f}] {self.error}"
        )


def read_once(reader: str, session: requests.Session, path: ReadPath) -> Read:
    start = time.monotonic()
    try:
        with session.get(
            path.url, headers=path.headers, allow_redirects=False, timeout=READ_TIMEOUT
        ) as response:
            shows = path.shows(response)
            status = response.status_code
    except requests.RequestException as problem:
        return Read(reader, path.name, start, time.monotonic(), -1, False, False, repr(problem))
    end = time.monotonic()
    return Read(reader, path.name, start, end, status, shows and status in (200, 206), shows)


@dataclass
class Reader:
    name: str
    sessions: list[tuple[requests.Session, list[ReadPath]]]
    reads: list[Read] = field(default_factory=list)
    crashed: str = ""

    def plan(self) -> list[tuple[requests.Session, ReadPath]]:
        return [(s, p) for s, paths in self.sessions for p in paths]

    def run(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + READERS_MAX_SECONDS
        try:
            for session, path in itertools.cycle(self.plan()):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                if len(self.reads) >= READS_MAX_PER_READER:
                    break
                self.reads.append(read_once(self.name, session, path))
        except Exception as problem:  # reported by the test, never lost in a thread
            self.crashed = repr(problem)


def make_readers(site: Site, story: SharedStory, opened: list[requests.Session]) -> list[Reader]:
    """Six readers: a trainer and a member, each on the web, on the API, and on both."""
    readers = []
    for username in (TRAINER, MEMBER):
        for channels in (("web",), ("api",), ("web", "api")):
            sessions = []
            for channel in channels:
                session = site.web(username) if channel == "web" else site.api(username)
                opened.append(session)
                sessions.append((session, read_paths(site, story, channel)))
            readers.append(Reader(f"{username}/{'+'.join(channels)}", sessions))
    return readers


# --- withdrawing -----------------------------------------------------------------------------


def prepare_withdrawal(
    site: Site, story: SharedStory, via: str, opened: list[requests.Session]
) -> Callable[[], requests.Response]:
    """Everything before the withdrawal request (sign-in, form token), so the request is alone."""
    if via == "web":
        session = site.web(TELLER)
        opened.append(session)
        url = f"{site.url}/stories/{story.id}/withdraw"
        with session.get(url, timeout=READ_TIMEOUT) as form_page:
            assert form_page.status_code == 200, form_page.text
            token = csrf_token(form_page.text)
        return lambda: session.post(
            url, data={"csrf_token": token}, allow_redirects=False, timeout=READ_TIMEOUT
        )
    session = site.api(TELLER)
    opened.append(session)
    url = f"{site.url}/api/v1/stories/{story.id}/consent/withdraw"
    return lambda: session.post(url, json={}, timeout=READ_TIMEOUT)


# --- the test --------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["web", "api"])
def test_no_read_returns_a_withdrawn_story_once_the_withdrawal_has_returned(
    site: Site, via: str
) -> None:
    story = share_a_story(site, f"Withdrawal race via {via} {uuid.uuid4().hex[:8]}")
    opened: list[requests.Session] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    readers: list[Reader] = []
    try:
        readers = make_readers(site, story, opened)
        withdraw = prepare_withdrawal(site, story, via, opened)

        # Sanity: every reader reads the shared story through every one of its paths.
        for reader in readers:
            for session, path in reader.plan():
                first = read_once(reader.name, session, path)
                assert first.got_content, f"not readable before the withdrawal: {first}"

        threads = [
            threading.Thread(target=r.run, args=(stop,), name=r.name, daemon=True) for r in readers
        ]
        for thread in threads:
            thread.start()
        time.sleep(WARM_UP_SECONDS)

        t_sent = time.monotonic()
        with withdraw() as response:
            t_returned = time.monotonic()
            assert response.status_code == (302 if via == "web" else 200), response.text
            if via == "api":
                assert response.json()["current"]["status"] == "withdrawn", response.text

        time.sleep(AFTER_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=READ_TIMEOUT + 5)
        for session in opened:
            session.close()

    assert not any(t.is_alive() for t in threads), "a reader did not stop"
    assert not [r.crashed for r in readers if r.crashed]
    reads = sorted((read for r in readers for read in r.reads), key=lambda read: read.start)
    before = [r for r in reads if r.end < t_sent]
    during = [r for r in reads if r.end >= t_sent and r.start <= t_returned]
    after = [r for r in reads if r.start > t_returned]
    print(
        f"\nvia {via}: {len(reads)} reads; {len(before)} before the withdrawal was sent, "
        f"{len(during)} overlapping it ({sum(r.got_content for r in during)} with content), "
        f"{len(after)} after it returned; withdrawal took {t_returned - t_sent:.3f}s"
    )

    # Every request got an answer, and none was a server error.
    failed = [r for r in reads if r.status == -1 or r.status >= 500]
    assert not failed, "\n".join(map(str, failed[:20]))

    # Meaningful: the story was readable through every path until the withdrawal was sent...
    paths = {p.name for r in readers for _s, p in r.plan()}
    assert {r.path for r in before if r.got_content} == paths
    not_shown = [r for r in before if not r.got_content]
    assert not not_shown, "\n".join(map(str, not_shown[:20]))
    # ...and every path was read, by the trainer and by the member, after it returned.
    assert {(r.reader.split("/")[0], r.path) for r in after} == {
        (who, path) for who in (TRAINER, MEMBER) for path in paths
    }

    # The point: once the withdrawal has returned, no read shows the story, by any path.
    leaked = [r for r in after if r.shows or r.got_content]
    assert not leaked, "\n".join(map(str, leaked[:20]))
    item_paths = {p.name for r in readers for _s, p in r.plan() if not p.is_list}
    wrong = [r for r in after if r.status != (404 if r.path in item_paths else 200)]
    assert not wrong, "\n".join(map(str, wrong[:20]))
