"""End-to-end fixtures: the real site (gunicorn + worker, as `make run` starts it) on a free
loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

CHROMIUM = os.environ.get("STORYHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
E2E_PASSWORD = "e2e-password-1"


@dataclass
class LiveSite:
    url: str
    env: dict[str, str]

    def flask(self, *args: str) -> str:
        """Run a `flask --app storyhub` command against this site's instance."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "storyhub", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    instance = tmp_path_factory.mktemp("e2e-instance")
    port = _free_port()
    env = dict(os.environ, STORYHUB_INSTANCE_PATH=str(instance), STORYHUB_SECRET_KEY="e2e")
    site = LiveSite(f"http://127.0.0.1:{port}", env)
    site.flask("setup", "--no-demo")
    for role in ("storyteller", "curator", "trainer"):
        site.flask("users", "create", "--role", role, "--username", f"e2e-{role}",
                   "--password", E2E_PASSWORD)  # fmt: skip
    log = (instance / "site.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "storyhub", "serve", "--port", str(port),
         "--web-workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{site.url}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:  # not listening, or still starting
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((instance / "site.log").read_text())
            time.sleep(0.3)
        yield site
    finally:
        proc.terminate()  # `serve` stops gunicorn and the worker it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"The end-to-end tests need Chromium at {CHROMIUM}; `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                # Let the test play media without a click having happened first.
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> object:
    """Save a screenshot of a page as a test artefact: ``shot(page, "step-name")``."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page: object, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)  # type: ignore[attr-defined]

    return take
