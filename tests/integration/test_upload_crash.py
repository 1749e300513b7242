"""The web server killed in the middle of an upload leaves no half-story behind.

The real site (`flask --app storyhub serve`: gunicorn and the worker) receives a real WAV through
the upload form, signed in, with its CSRF token. The gunicorn master and its workers are killed
with SIGKILL at three moments:

- half-way through the body;
- once the whole body is in, while the file is being checked (the validation helpers run);
- once the file is stored, with the database commit held up by another writer.

The site is then started again on the same instance folder. There must be no story, media file,
consent, audit event or job in the database, no file anywhere under the media root (staging
included) or in the site's temporary folder, and a fresh upload must work.

The rows are one transaction (story, file, consent, audit event, job), so SQLite keeps all of
them or none. Files are another matter: what a killed process was receiving stays in staging,
and the original it had stored just before the commit stays in storage. Both are named after the
process (the original through a "pending" note in staging), and setting up or starting the
worker removes them once that process is gone (``storyhub.uploads.remove_abandoned_files``).
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import requests

from tests.live_site import flask, running_site, site_env, wait_for
from tests.media_factory import make_large_wav, make_wav

pytestmark = pytest.mark.slow

TELLER, PASSWORD = "crash-teller", "crash-password-1"
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
MB = 1024 * 1024
TABLES = ("stories", "media_files", "jobs", "consent_versions", "story_uses")


@pytest.fixture(scope="module")
def story_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 8 MB recording (44 s of 48 kHz stereo PCM): big enough to stop half-way."""
    return make_large_wav(tmp_path_factory.mktemp("upload-crash") / "story.wav", 8 * MB)


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def sign_in(url: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session.get(f"{url}/login", timeout=10).text)
    answer = session.post(
        f"{url}/login",
        data={"username": TELLER, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return session


class Upload:
    """POST /stories/new as the upload page's script sends it, byte by byte as the test says."""

    def __init__(self, url: str, session: requests.Session, wav: Path) -> None:
        boundary = f"crash-{uuid.uuid4().hex}"
        fields = {
            "csrf_token": csrf_token(session.get(f"{url}/stories/new", timeout=10).text),
            "title": "Half a story",
            "description": "",
            "language": "en",
            "teller_kind": "service_user",
            "setting": "not_said",
            "take_part": "yes",
        }
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="story.wav"'
            "\r\nContent-Type: audio/wav\r\n\r\n"
        )
        self.file_size = wav.stat().st_size
        self.body = head.encode() + wav.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        self.sent = 0
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.conn.putrequest("POST", "/stories/new")
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        for name, value in (
            ("Cookie", cookies),
            ("X-Requested-With", "storyhub-upload"),
            ("Content-Type", f"multipart/form-data; boundary={boundary}"),
            ("Content-Length", str(len(self.body))),
        ):
            self.conn.putheader(name, value)
        self.conn.endheaders()

    def send(self, upto: int) -> None:
        """Send the body up to byte ``upto``, 256 KB at a time."""
        while self.sent < upto:
            chunk = self.body[self.sent : min(upto, self.sent + 256 * 1024)]
            self.conn.send(chunk)
            self.sent += len(chunk)

    def answer(self) -> tuple[int, dict[str, object]]:
        self.send(len(self.body))
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *_: object) -> None:
        self.conn.close()


def web_server(url: str) -> tuple[psutil.Process, list[psutil.Process]]:
    """The site's gunicorn master (found by the address it serves) and its workers."""
    bind = url.removeprefix("http://")
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "gunicorn" in cmdline and bind in cmdline:
            return proc, proc.children()
    raise AssertionError(f"no gunicorn serving {bind}")


def kill_web_server(master: psutil.Process, workers: list[psutil.Process]) -> None:
    """SIGKILL, master first so that it can't start new workers: no chance to tidy up."""
    for proc in (master, *workers):
        proc.kill()
    psutil.wait_procs([master, *workers], timeout=10)


def rows(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        counts["story.uploaded events"] = conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'story.uploaded'"
        ).fetchone()[0]
    return counts


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def staged(media: Path, prefix: str) -> list[Path]:
    return sorted((media / ".staging").glob(f"{prefix}-*"))


def crash_half_way(url: str, upload: Upload, media: Path) -> str:
    """Send half the body, see it arrive in staging, kill."""
    master, workers = web_server(url)
    upload.send(len(upload.body) // 2)
    assert wait_for(lambda: sum(p.stat().st_size for p in staged(media, "upload")) > MB, 30)
    kill_web_server(master, workers)
    return "a partial upload in staging"


def crash_while_checking(url: str, upload: Upload, media: Path) -> str:
    """Send it all, kill while the file is checked (the helpers validate() runs are alive)."""
    master, workers = web_server(url)
    upload.send(len(upload.body))

    def checking() -> bool:
        try:
            return any(
                child.cmdline() != worker.cmdline()  # forked and exec'd: probe helper or ffmpeg
                for worker in workers
                for child in worker.children()
            )
        except psutil.Error:  # a helper that has just ended
            return False

    assert wait_for(checking, 30), "the file was never checked"
    kill_web_server(master, workers)
    assert [p.stat().st_size for p in staged(media, "upload")] == [upload.file_size]
    return "the whole upload in staging"


def crash_before_commit(url: str, upload: Upload, media: Path) -> str:
    """Hold the database's write lock, send it all, kill once the file is stored."""
    master, workers = web_server(url)
    blocker = sqlite3.connect(media.parent / "storyhub.sqlite3", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the upload's INSERT waits for this
        upload.send(len(upload.body))
        assert wait_for(lambda: list(media.glob("stories/*/original.wav")), 30)
        assert staged(media, "pending"), "the stored file is not noted as pending"
        time.sleep(0.2)  # well inside the upload's 30 s wait for the lock
        kill_web_server(master, workers)
    finally:
        blocker.rollback()
        blocker.close()
    return "a stored original with no rows"


CRASHES = [crash_half_way, crash_while_checking, crash_before_commit]


def assert_nothing_left(moment: str, db_path: Path, media: Path, site_tmp: Path) -> None:
    empty = dict.fromkeys([*TABLES, "story.uploaded events"], 0)
    assert rows(db_path) == empty, moment
    assert files_under(media) == [], moment
    assert files_under(site_tmp) == [], moment
    # Only the running worker's own (empty) temporary folder may be there.
    workers = staged(media, "worker")
    folders = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_dir()}
    assert folders <= {".staging", *(f".staging/{p.name}" for p in workers)}, moment
    assert len(workers) <= 1, moment


def assert_takes_a_story(url: str, media: Path, db_path: Path, recording: Path) -> None:
    with sign_in(url) as session:
        with Upload(url, session, recording) as upload:
            status, payload = upload.answer()
        assert status == 200 and payload["ok"], payload
        page = session.get(f"{url}{payload['url']}", allow_redirects=False, timeout=10)
        assert page.status_code == 200 and "Half a story" in page.text
    counts = rows(db_path)
    assert counts["stories"] == 1 and counts["story.uploaded events"] == 1
    originals = list(media.glob("stories/*/original.wav"))
    assert [p.stat().st_size for p in originals] == [recording.stat().st_size]
    assert staged(media, "upload") == [] and staged(media, "pending") == []


def test_a_killed_web_server_leaves_no_half_story(story_wav: Path, tmp_path: Path) -> None:
    """Each crash is followed by a restart on the same instance, which must find nothing of it;
    the last restart takes a fresh upload."""
    instance = tmp_path / "instance"
    site_tmp = tmp_path / "tmp"
    site_tmp.mkdir()
    env = site_env(instance, STORYHUB_WHISPER_MODEL="tiny.en", TMPDIR=str(site_tmp))
    media, db_path = instance / "media", instance / "storyhub.sqlite3"
    previous: Callable[..., str] | None = None
    for crash in [*CRASHES, None]:
        with running_site(env) as url:
            if previous is None:
                user = [f"--username={TELLER}", f"--password={PASSWORD}"]
                flask(env, "users", "create", "--role=storyteller", *user)
            else:
                assert_nothing_left(f"after {previous.__name__}", db_path, media, site_tmp)
            if crash is None:
                # A short story, so that stopping the site doesn't wait long for its transcript.
                assert_takes_a_story(url, media, db_path, make_wav(tmp_path))
                break
            with sign_in(url) as session, Upload(url, session, story_wav) as upload:
                left = crash(url, upload, media)
            # What the crash left: the test is worth nothing unless there was something to clean.
            assert files_under(media), f"{crash.__name__}: expected {left}"
            assert rows(db_path)["stories"] == 0, crash.__name__  # nothing was committed
            previous = crash
