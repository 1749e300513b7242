"""End-to-end fixtures: the real site (gunicorn + worker, as `make run` starts it) on a free
loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_site import flask, running_site, site_env

CHROMIUM = os.environ.get("STORYHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
E2E_PASSWORD = "e2e-password-1"


@dataclass
class LiveSite:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    env = site_env(tmp_path_factory.mktemp("e2e-instance"))
    with running_site(env) as url:
        for role in ("storyteller", "curator", "trainer"):
            flask(env, "users", "create", "--role", role, "--username", f"e2e-{role}",
                  "--password", E2E_PASSWORD)  # fmt: skip
        yield LiveSite(url, env)


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
