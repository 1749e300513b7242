"""The real site for tests that need one: `flask --app storyhub serve` (gunicorn + worker, as
`make run` starts it) on a free loopback port, with its own instance folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    """A loopback port nobody is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.002) -> bool:
    """Ask ``predicate`` until it holds (True) or ``timeout`` seconds have gone (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def answering(url: str) -> bool:
    """Whether the site at ``url`` answers its health check."""
    try:
        with requests.get(f"{url}/healthz", timeout=2) as health:
            return health.ok
    except requests.RequestException:  # not listening yet, or still starting
        return False


def site_env(instance: Path, **settings: str) -> dict[str, str]:
    """The environment for a site in ``instance``: nothing from the calling shell's STORYHUB_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYHUB_")}
    env.update(STORYHUB_INSTANCE_PATH=str(instance), STORYHUB_SECRET_KEY="test-site", **settings)
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run `flask --app storyhub ARGS` against the site's instance; return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storyhub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextmanager
def running_site(env: dict[str, str], *, web_workers: int = 1) -> Iterator[str]:
    """Set up the database, start the site, wait until it answers; yield its URL; stop it."""
    flask(env, "setup", "--no-demo")
    port = free_port()
    log_path = Path(env["STORYHUB_INSTANCE_PATH"]) / "site.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "storyhub", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--web-workers", str(web_workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: answering(url) or proc.poll() is not None, 60, interval=0.3)
            if proc.poll() is not None or not answering(url):
                raise RuntimeError(log_path.read_text(errors="replace"))
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)  # `serve` stops gunicorn and the worker it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
