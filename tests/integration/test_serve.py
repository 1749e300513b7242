"""`flask --app storyhub serve` (what `make run` starts) stops everything it started, even a
gunicorn that won't stop: nothing is left holding the port for the next `make run`."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.live_site import answering, flask, free_port, site_env, wait_for

pytestmark = pytest.mark.slow


def test_stopping_the_site_leaves_no_process_behind_even_a_stuck_one(tmp_path: Path) -> None:
    env = site_env(tmp_path / "instance")
    flask(env, "setup", "--no-demo")
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "storyhub", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: list[psutil.Process] = []
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answering(url) or serve.poll() is not None, 60, interval=0.3)
        assert serve.poll() is None and answering(url), "the site didn't start"
        started = psutil.Process(serve.pid).children(recursive=True)
        web = [p for p in started if "gunicorn" in " ".join(p.cmdline())]
        assert len(web) == 3  # the master and its 2 workers
        # Stuck: frozen, they can't answer the request to stop (as if busy in a long request).
        for process in web:
            process.suspend()
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=40)
        _gone, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], f"left running: {[p.pid for p in alive]}"
    finally:
        if serve.poll() is None:
            serve.kill()
        for process in started:
            with contextlib.suppress(psutil.Error):  # already gone
                process.kill()
