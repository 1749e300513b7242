"""End-to-end fixtures: the real site (gunicorn + worker, as `make run` starts it) on a free
loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from babel.support import NullTranslations, Translations
from playwright.sync_api import expect

from tests.e2e.quality import Journey, Keyboard
from tests.live_site import flask, running_site, site_env

CHROMIUM = os.environ.get("STORYHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
E2E_PASSWORD = "e2e-password-1"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "storyhub" / "translations"
# People who read the site in Welsh: their own accounts, because signing in keeps the language
# a person was reading in (storyhub.i18n), and the English journeys share theirs.
WELSH_USERS = {"storyteller": "e2e-cy-storyteller", "curator": "e2e-cy-curator"}
# A browser whose language is Welsh: its first visit is in Welsh (Accept-Language: cy).
WELSH_BROWSER = {"locale": "cy"}


@lru_cache
def welsh_catalogue(folder: Path = TRANSLATIONS) -> NullTranslations:
    """The compiled Welsh catalogue in ``folder`` (the site's own by default)."""
    return Translations.load(str(folder), ["cy"])


def welsh(msgid: str) -> str:
    """The Welsh the site shows for the English message ``msgid`` (the English itself while the
    catalogue leaves it untranslated), so a Welsh journey finds buttons by their Welsh names."""
    return welsh_catalogue().gettext(msgid)


def in_welsh(page: Any) -> None:
    """The page is written in Welsh: ``<html lang="cy">``."""
    assert page.locator("html").get_attribute("lang") == "cy", f"{page.url} is not in Welsh"


@contextmanager
def in_site(env: dict[str, str]) -> Iterator[None]:
    """Work on a live site's database in this process (an app context on its settings), as
    processing or an earlier visit would have left it; the shell's own settings come back after."""
    from storyhub import create_app
    from storyhub.extensions import db

    saved = {k: os.environ.get(k) for k in env if k.startswith("STORYHUB_")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("STORYHUB_")})
    try:
        app = create_app()
        with app.app_context():
            yield
            db.session.remove()
            db.engine.dispose()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class LiveSite:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    env = site_env(tmp_path_factory.mktemp("e2e-instance"))
    with running_site(env) as url:
        for role in ("storyteller", "curator", "trainer", "member"):
            flask(env, "users", "create", "--role", role, "--username", f"e2e-{role}",
                  "--password", E2E_PASSWORD)  # fmt: skip
        for role, username in WELSH_USERS.items():
            flask(env, "users", "create", "--role", role, "--username", username,
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
def desktop(browser: Any) -> Iterator[Any]:
    """A page in a desktop-sized window; the test fails if any script error happened on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> object:
    """Save a screenshot of a page as a test artefact: ``shot(page, "step-name")``."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)  # only this run's screenshots
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def take(page: object, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)  # type: ignore[attr-defined]

    return take


def english(msgid: str) -> str:
    """The English message itself: the words of a page read in English."""
    return msgid


def sign_in(
    page: Any,
    site: LiveSite,
    username: str,
    journey: Journey | None = None,
    words: Callable[[str], str] = english,
) -> None:
    """Sign in through the real form (checking both pages as steps of ``journey``, if given),
    finding its fields by their ``words`` (``welsh`` on a page read in Welsh)."""
    page.goto(site.url + "/login")
    if journey:
        journey.step(f"sign-in-{username}")
    page.get_by_label(words("Username")).fill(username)
    page.get_by_label(words("Password")).fill(E2E_PASSWORD)
    page.get_by_role("button", name=words("Sign in")).click()
    if journey:
        page.wait_for_url(lambda url: "/login" not in url)
        journey.step(f"signed-in-{username}")


def sign_in_with_keys(journey: Journey, site: LiveSite, username: str) -> None:
    """Sign in through the real form, from the home page, with the keyboard alone."""
    page, keys = journey.page, Keyboard(journey.page)
    page.goto(site.url + "/")
    journey.step("home")
    keys.go(page.get_by_role("link", name="Sign in").first)
    journey.step("sign-in")
    keys.type(page.get_by_label("Username"), username)
    keys.type(page.get_by_label("Password"), E2E_PASSWORD)
    keys.go(page.get_by_role("button", name="Sign in"))
    assert "/login" not in page.url, f"{username} could not sign in"
    journey.step(f"signed-in-{username}")


def upload_and_wait(page: Any, site: LiveSite, media: Path, title: str, setting: str = "") -> None:
    """Upload ``media`` as the signed-in person and wait until the story is prepared."""
    page.goto(site.url + "/stories/new")
    page.get_by_label(re.compile("video or sound file")).set_input_files(str(media))
    page.get_by_label(re.compile("title")).fill(title)
    if setting:
        page.get_by_label(re.compile("Where is the support")).select_option(setting)
    page.get_by_label("Yes, I agree to take part").check()
    page.get_by_role("button", name=re.compile("Upload")).click()
    page.wait_for_url(re.compile(r".*/stories/\d+$"), timeout=60_000)
    page.wait_for_selector(".processing", state="detached", timeout=120_000)


def share_through_wizard(page: Any, audience: str, shared_for: str, *, clips: bool = False) -> None:
    """On a story's page, share it through the consent wizard, with the teller: for the audience
    labelled ``audience``, allowing short parts (clips) if ``clips``. Waits until the story's
    page says ``shared_for``."""
    page.get_by_role("link", name="Choose who may see it").click()
    page.get_by_label("Yes, I have watched").check()
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_label(audience).check()
    page.get_by_role("button", name="Next", exact=True).click()
    if clips:
        page.get_by_label("Yes, short parts may be used").check()
    for _ in range(4):
        page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_role("button", name="Next: check my answers").click()
    page.get_by_role("button", name=re.compile("share .* like this")).click()
    expect(page.locator(".audience")).to_contain_text(shared_for)
