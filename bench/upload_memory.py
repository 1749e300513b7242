"""How much memory does the web server use while it receives a 1 GB story?

Storytellers upload long videos from phones, and the archive runs on small machines. The goal
is that an upload of a 1 GB file grows the web server's resident memory (RSS) by less than
100 MB: the body must stream to disk, never be held in memory.

One run, no manual steps:

1. make a throwaway instance folder, create the database and a storyteller (the real CLI);
2. start the site with the production server as `make run` does (gunicorn, gthread worker),
   with one web worker so that a single process receives the upload and is measured;
3. write a valid 1 GiB PCM WAV, sign in through the login form and upload it through the upload
   page's form (the path storytellers use) and then through the API, each with a streaming
   client that never holds the file in memory;
4. sample the gunicorn worker's RSS (and, separately, its children: the probe and ffmpeg
   processes that validate the file) every 50 ms, and check that each story really exists;
5. optionally (--over-limit) send one byte-stream of MAX_UPLOAD_MB + 1 MB and expect a friendly
   413 without the refusal costing memory either.

It prints a table and exits non-zero when an upload fails or the growth reaches the limit.
Everything it made (server, instance folder, media files) is removed at the end.

    .venv/bin/python bench/upload_memory.py [--size-mb 1024] [--over-limit]

MB here is MiB (1024 * 1024 bytes), the unit of STORYHUB_MAX_UPLOAD_MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # so `tests.media_factory` imports when run as a script

from tests.media_factory import make_large_wav  # noqa: E402

MB = 1024 * 1024
CHUNK = MB  # what the client reads from disk and sends at a time
USERNAME = "bench-teller"
PASSWORD = "bench password 1234"
UPLOAD_HEADER = {"X-Requested-With": "storyhub-upload"}  # the upload page's script sends this
CSRF_INPUT = re.compile(r"<input[^>]*name=\"csrf_token\"[^>]*>")
INPUT_VALUE = re.compile(r"value=\"([^\"]+)\"")


# --- the throwaway site ------------------------------------------------------------------


def site_env(instance: Path, max_upload_mb: int) -> dict[str, str]:
    """The environment for the CLI and server: only our own STORYHUB_* settings.

    Inherited STORYHUB_* variables are dropped so a benchmark can never touch a real database,
    queue or media folder configured in the shell it is run from.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYHUB_")}
    env.update(
        STORYHUB_INSTANCE_PATH=str(instance),
        STORYHUB_MEDIA_ROOT=str(instance / "media"),
        STORYHUB_MAX_UPLOAD_MB=str(max_upload_mb),
    )
    return env


def flask_cli(env: dict[str, str], *args: str) -> str:
    """Run `flask --app storyhub ARGS` and return its output (raise with it on failure)."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storyhub", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def has_control_socket() -> bool:
    import gunicorn.config

    return any(setting.name == "control_socket" for setting in gunicorn.config.KNOWN_SETTINGS)


class Server:
    """gunicorn as `flask --app storyhub serve` starts it (see storyhub/cli.py), one worker."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.master: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Same flags as serve_command, except one worker so one process's RSS tells the story.
        argv = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1",
            "--worker-class", "gthread",
            "--threads", "8",
            "--timeout", "600",
            "--access-logfile", "-",
        ]  # fmt: skip
        if has_control_socket():
            # gunicorn 27+ opens a control socket at one shared default path in $HOME, taking
            # it from any other gunicorn running there (and deleting it on exit); keep ours apart.
            argv += ["--control-socket", str(self.log_path.parent / "gunicorn.ctl")]
        argv.append("storyhub.wsgi:app")
        # Its own session: a Ctrl+C or hang-up meant for this script reaches gunicorn only through
        # stop() (gunicorn would take a stray SIGHUP as "reload").
        with self.log_path.open("wb") as log:
            self.master = subprocess.Popen(
                argv,
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> psutil.Process:
        """Wait for /healthz to answer; return the worker process (the master's only child)."""
        assert self.master is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).ok:
                    workers = psutil.Process(self.master.pid).children()
                    if len(workers) == 1:
                        return workers[0]
            except requests.RequestException:  # not listening yet, or slow to answer
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no answer on /healthz in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM the master (it stops its worker gracefully); SIGKILL if it hangs."""
        if self.master is not None and self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Sampler:
    """Polls a process's RSS, and its children's summed RSS, on a background thread."""

    process: psutil.Process
    interval: float = 0.05
    baseline: int = 0
    peak: int = 0
    last: int = 0
    children_peak: int = 0
    combined_peak: int = 0  # worker + children in the same sample
    children_seen: set[str] = field(default_factory=set)
    samples: int = 0
    _argv: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._argv = self.process.cmdline()
        self.baseline = self.peak = self.last = self.process.memory_info().rss
        self.combined_peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            rss = self.process.memory_info().rss
            children = self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        total = 0
        for child in children:
            # Children (probe, ffmpeg) live for a fraction of a second; they may be gone already.
            try:
                argv = child.cmdline()
                # Skip a zombie (no argv) and a child forked but not yet exec'd (the worker's
                # argv): its RSS is the worker's own pages, which would be counted twice.
                if not argv or argv == self._argv:
                    continue
                total += child.memory_info().rss
                self.children_seen.add(Path(argv[0]).name)
            except psutil.NoSuchProcess:
                continue
        self.samples += 1
        self.last = rss
        self.peak = max(self.peak, rss)
        self.children_peak = max(self.children_peak, total)
        self.combined_peak = max(self.combined_peak, rss + total)


# --- a streaming multipart client ---------------------------------------------------------


@dataclass(frozen=True)
class FilePart:
    """The file part of a form: either a file on disk or ``size`` zero bytes made on the fly."""

    filename: str
    size: int
    path: Path | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.path is not None:
            with self.path.open("rb") as fh:
                while block := fh.read(CHUNK):
                    yield block
            return
        zeros = bytes(CHUNK)
        left = self.size
        while left:
            yield zeros[: min(left, CHUNK)]
            left -= min(left, CHUNK)


@dataclass(frozen=True)
class MultipartBody:
    """multipart/form-data built piece by piece, so its length is known before sending it."""

    fields: dict[str, str]
    file_field: str
    file: FilePart
    boundary: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex}")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self) -> bytes:
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in self.fields.items()
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{self.file_field}"; '
            f'filename="{self.file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        return "".join(parts).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head()) + self.file.size + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        yield self._head()
        yield from self.file.chunks()
        yield self._tail()


@dataclass
class Reply:
    status: int  # 0 when no HTTP answer came back at all
    body: bytes
    sent: int  # body bytes the client got onto the socket
    send_seconds: float  # until the last byte was sent (or sending stopped)
    total_seconds: float  # until the answer's headers arrived

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def post_streaming(base: str, path: str, body: MultipartBody, headers: dict[str, str]) -> Reply:
    """POST ``body`` with a Content-Length, one chunk at a time, as a browser does.

    If the server answers before the body is all sent (a refusal, such as 413), stop sending and
    read that answer, instead of pushing gigabytes nobody will read.
    """
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=900)
    length = len(body)
    start = time.perf_counter()
    sent = 0
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in {
            **headers,
            "Content-Type": body.content_type,
            "Content-Length": str(length),
        }.items():
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.sock is not None
        try:
            for chunk in body:
                if select.select([conn.sock], [], [], 0)[0]:
                    break  # an early answer (or the server closed): stop sending
                conn.send(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close after answering; its answer is still readable
        sent_at = time.perf_counter()
        try:
            response = conn.getresponse()
            answered = time.perf_counter() - start
            return Reply(response.status, response.read(), sent, sent_at - start, answered)
        except (ConnectionError, http.client.HTTPException) as err:
            now = time.perf_counter()
            return Reply(0, repr(err).encode(), sent, sent_at - start, now - start)
    finally:
        conn.close()


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def csrf_token(html: str) -> str:
    tag = CSRF_INPUT.search(html)
    value = INPUT_VALUE.search(tag.group(0)) if tag else None
    if value is None:
        raise RuntimeError("no csrf_token on the page")
    return value.group(1)


def sign_in(base: str) -> requests.Session:
    """Sign in through the login form, as a person does; the session keeps the cookie."""
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/login", timeout=10).text)
    session.post(
        f"{base}/login",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
        timeout=30,
    )
    page = session.get(f"{base}/stories/new", allow_redirects=False, timeout=10)
    if page.status_code != 200:
        raise RuntimeError(f"signing in failed: /stories/new answered {page.status_code}")
    return session


# --- the cases ---------------------------------------------------------------------------


@dataclass
class Row:
    case: str
    ok: bool
    status: int
    note: str
    sent: int
    send_seconds: float
    total_seconds: float
    baseline: int
    peak: int
    after: int
    children_peak: int
    combined_peak: int
    children: set[str]

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def story_fields(title: str) -> dict[str, str]:
    return {
        "title": title,
        "description": "Benchmark upload",
        "language": "en",
        "teller_kind": "service_user",
        # Consent step 1: required for every upload.
        "take_part": "yes",
    }


def originals(media_root: Path) -> set[Path]:
    return set(media_root.glob("stories/*/original.*"))


def staged_leftovers(media_root: Path) -> list[str]:
    staging = media_root / ".staging"
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


def measure(
    case: str, worker: psutil.Process, send: Callable[[], Reply], interval: float
) -> tuple[Reply, Sampler]:
    print(f"  {case}: uploading ...", flush=True)
    with Sampler(worker, interval) as sampler:
        reply = send()
    return reply, sampler


def upload_case(
    kind: str,
    case: str,
    *,
    server: Server,
    worker: psutil.Process,
    media_root: Path,
    wav: Path,
    session: requests.Session,
    api_token: str,
    interval: float,
) -> Row:
    """Upload ``wav`` through the web form (``kind`` "web") or the API ("api"); check it was kept.

    ``case`` names the table row.
    """
    title = f"Benchmark {case} {uuid.uuid4().hex[:6]}"
    fields = story_fields(title)
    if kind == "web":
        page = session.get(f"{server.base}/stories/new", timeout=10)
        fields["csrf_token"] = csrf_token(page.text)
        path = "/stories/new"
        headers = {**UPLOAD_HEADER, "Cookie": cookie_header(session)}
    else:
        path = "/api/v1/stories"
        headers = {"Authorization": f"Bearer {api_token}"}
    body = MultipartBody(fields, "media", FilePart(wav.name, wav.stat().st_size, wav))
    before = originals(media_root)
    reply, sampler = measure(
        case, worker, lambda: post_streaming(server.base, path, body, headers), interval
    )

    # Success means: the expected answer, the story listed by the API, and the whole file stored.
    payload = reply.json() or {}
    problems: list[str] = []
    story_id = -1
    if kind == "web":
        if not (reply.status == 200 and payload.get("ok") and payload.get("url")):
            problems.append(f"answer {reply.status}: {reply.body[:300]!r}")
        else:
            match = re.search(r"/stories/(\d+)", payload["url"])
            story_id = int(match.group(1)) if match else -1
            if session.get(f"{server.base}{payload['url']}", timeout=10).status_code != 200:
                problems.append("the story page does not open")
    elif reply.status != 201:
        problems.append(f"answer {reply.status}: {reply.body[:300]!r}")
    else:
        story_id = payload.get("id", -1)
    if not problems:
        listed = requests.get(
            f"{server.base}/api/v1/stories",
            headers={"Authorization": f"Bearer {api_token}"},
            timeout=10,
        ).json()["stories"]
        if not any(s["id"] == story_id and s["title"] == title for s in listed):
            problems.append(f"story {story_id} is not in GET /api/v1/stories")
        new_files = originals(media_root) - before
        sizes = [p.stat().st_size for p in new_files]
        if sizes != [wav.stat().st_size]:
            problems.append(f"stored files {sizes}, expected one of {wav.stat().st_size} bytes")
    if leftovers := staged_leftovers(media_root):
        problems.append(f"left in staging: {leftovers}")
    return row_from(case, reply, sampler, problems, note="stored, listed")


def over_limit_case(
    *,
    server: Server,
    worker: psutil.Process,
    media_root: Path,
    session: requests.Session,
    max_upload_mb: int,
    interval: float,
) -> Row:
    """Send MAX_UPLOAD_MB + 1 MB through the web form: expect a friendly 413, nothing kept.

    The bytes are made on the fly (no 2 GB file on disk): the server must refuse on the declared
    Content-Length before it reads them, so their content does not matter.
    """
    fields = story_fields("Benchmark too big")
    fields["csrf_token"] = csrf_token(session.get(f"{server.base}/stories/new", timeout=10).text)
    headers = {**UPLOAD_HEADER, "Cookie": cookie_header(session)}
    body = MultipartBody(fields, "media", FilePart("too-big.wav", (max_upload_mb + 1) * MB))
    before = originals(media_root)
    reply, sampler = measure(
        "over-limit",
        worker,
        lambda: post_streaming(server.base, "/stories/new", body, headers),
        interval,
    )
    payload = reply.json() or {}
    message = (payload.get("error") or {}).get("message", "") if payload else ""
    problems = []
    if reply.status != 413 or "Files can be up to" not in message:
        problems.append(f"answer {reply.status}: {reply.body[:300]!r}")
    if originals(media_root) != before:
        problems.append("a file was stored")
    if leftovers := staged_leftovers(media_root):
        problems.append(f"left in staging: {leftovers}")
    return row_from("over-limit", reply, sampler, problems, note="413, nothing kept")


def row_from(case: str, reply: Reply, sampler: Sampler, problems: list[str], note: str) -> Row:
    return Row(
        case=case,
        ok=not problems,
        status=reply.status,
        note="; ".join(problems) if problems else note,
        sent=reply.sent,
        send_seconds=reply.send_seconds,
        total_seconds=reply.total_seconds,
        baseline=sampler.baseline,
        peak=sampler.peak,
        after=sampler.last,
        children_peak=sampler.children_peak,
        combined_peak=sampler.combined_peak,
        children=sampler.children_seen,
    )


# --- report ------------------------------------------------------------------------------


def mb(n: float) -> str:
    return f"{n / MB:.1f}"


def table(rows: list[Row], limit_mb: int) -> str:
    """A Markdown table (RSS columns are the gunicorn worker's, in MB), ready for the README."""
    head = (
        "| case | HTTP | sent MB | total s | MB/s | after body s | RSS before | peak "
        "| **growth** | after | children peak | growth incl. children | result |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        # A refusal's rate is meaningless: it answers before reading the body.
        stored = r.status in (200, 201) and r.total_seconds > 0
        rate = f"{r.sent / MB / r.total_seconds:.0f}" if stored else "-"
        verdict = "ok" if r.ok and r.growth < limit_mb * MB else "FAIL"
        lines.append(
            f"| {r.case} | {r.status} | {mb(r.sent)} | {r.total_seconds:.1f} | {rate} | "
            f"{r.total_seconds - r.send_seconds:.1f} | {mb(r.baseline)} | {mb(r.peak)} | "
            f"**{mb(r.growth)}** | {mb(r.after)} | {mb(r.children_peak)} | "
            f"{mb(r.combined_peak - r.baseline)} | {verdict}: {r.note} |"
        )
    children = sorted(set().union(*(r.children for r in rows)))
    lines.append(f"\nChildren seen (validation): {', '.join(children) or 'none'}.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=1024, help="upload size (default 1024)")
    parser.add_argument(
        "--max-upload-mb",
        type=int,
        default=2048,
        help="the site's STORYHUB_MAX_UPLOAD_MB (default 2048, the app's default)",
    )
    parser.add_argument(
        "--limit-mb", type=int, default=100, help="fail at this RSS growth (default 100)"
    )
    parser.add_argument("--no-api", action="store_true", help="only the web form upload")
    parser.add_argument(
        "--repeat", type=int, default=1, help="upload rounds on the same worker (default 1)"
    )
    parser.add_argument(
        "--over-limit", action="store_true", help="also send MAX_UPLOAD_MB + 1 MB, expect 413"
    )
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling, seconds")
    parser.add_argument("--workdir", type=Path, default=None, help="where temp files go")
    args = parser.parse_args(argv)
    if args.size_mb > args.max_upload_mb:
        parser.error("--size-mb is above --max-upload-mb; use --over-limit for the refusal")
    return args


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the `finally` in main() cleans up on SIGTERM too


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)
    root = Path(tempfile.mkdtemp(prefix="storyhub-bench-", dir=args.workdir))
    server: Server | None = None
    rows: list[Row] = []
    try:
        instance = root / "instance"
        media_root = instance / "media"
        env = site_env(instance, args.max_upload_mb)
        print(f"Setting up a throwaway site in {root} ...", flush=True)
        flask_cli(env, "setup", "--no-demo")
        flask_cli(
            env, "users", "create", "--role", "storyteller",
            "--username", USERNAME, "--password", PASSWORD,
        )  # fmt: skip
        api_token = flask_cli(env, "users", "token", USERNAME).strip().splitlines()[-1]

        wav = root / "story.wav"
        started = time.perf_counter()
        make_large_wav(wav, args.size_mb * MB)
        print(
            f"Wrote {wav.name}: {mb(wav.stat().st_size)} MB "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        server = Server(env, root / "gunicorn.log")
        server.start()  # after the assignment, so an interruption still reaches stop()
        worker = server.wait_ready()
        session = sign_in(server.base)
        print(f"Site up on {server.base}; gunicorn worker pid {worker.pid}", flush=True)
        cold_rss = worker.memory_info().rss

        kinds = ["web"] if args.no_api else ["web", "api"]
        for round_ in range(1, args.repeat + 1):
            for kind in kinds:
                # Later rounds show whether memory comes back (a leak would climb round by round).
                case = kind if round_ == 1 else f"{kind} #{round_}"
                rows.append(
                    upload_case(
                        kind,
                        case,
                        server=server,
                        worker=worker,
                        media_root=media_root,
                        wav=wav,
                        session=session,
                        api_token=api_token,
                        interval=args.interval,
                    )
                )
        wav.unlink()  # free the disk before the over-limit case
        if args.over_limit:
            rows.append(
                over_limit_case(
                    server=server,
                    worker=worker,
                    media_root=media_root,
                    session=session,
                    max_upload_mb=args.max_upload_mb,
                    interval=args.interval,
                )
            )
        end_rss = worker.memory_info().rss
    except Exception:
        if server is not None:
            print(f"--- gunicorn log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)

    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print()
    print(
        f"{dt.date.today().isoformat()}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}  upload {args.size_mb} MB, limit {args.limit_mb} MB"
    )
    print(table(rows, args.limit_mb))
    print(
        f"Worker RSS: {mb(cold_rss)} MB after sign-in, {mb(end_rss)} MB at the end. "
        f"Client peak RSS: {mb(client_peak)} MB."
    )
    failed = [r.case for r in rows if not r.ok or r.growth >= args.limit_mb * MB]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
