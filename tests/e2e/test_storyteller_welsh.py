"""Journey 1 in Welsh, in a real Chromium: a storyteller whose browser speaks Welsh signs in,
uploads a story (its language is Welsh unless they say otherwise), shares it with trainers
through the consent wizard and withdraws it; axe passes and ``<html lang="cy">`` on every page.

The English journey (test_storyteller_upload.py) drives the same pages with the keyboard alone
on a phone; this one clicks, to keep the time it adds small. Buttons and labels are found by
their Welsh names from the compiled catalogue (``welsh()``), never copied into the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import (
    E2E_PASSWORD,
    TRANSLATIONS,
    WELSH_BROWSER,
    WELSH_USERS,
    LiveSite,
    in_welsh,
    sign_in,
    welsh,
    welsh_catalogue,
)
from tests.e2e.quality import Journey

pytestmark = pytest.mark.e2e

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def short_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-welsh-media")
    return render_story(
        folder / "fy-stori.mp4",
        title="Y clwb cinio",
        paragraphs=["I go to the lunch club on Tuesdays.", "I see my friends there again."],
    )


class WelshJourney(Journey):
    """A journey whose every step also checks that the page is written in Welsh."""

    def step(self, name: str) -> None:
        super().step(name)
        in_welsh(self.page)


def test_the_welsh_helper_reads_the_compiled_catalogue(tmp_path: Path) -> None:
    """``welsh()`` gives the catalogue's Welsh: shown with a catalogue holding one message of the
    content fragment, compiled as `make translations` compiles the site's."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    message = (
        "Search by meaning covers English passages only. Welsh passages are found by their words."
    )
    translated = (
        "Mae chwilio yn ôl ystyr yn gweithio ar ddarnau Saesneg yn unig. "
        "Rydyn ni'n dod o hyd i ddarnau Cymraeg drwy eu geiriau."
    )
    catalog = Catalog(locale="cy")
    catalog.add(message, translated)
    folder = tmp_path / "cy" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    assert welsh_catalogue(tmp_path).gettext(message) == translated
    # The site's own catalogue is the one read by default, and untranslated words stay English.
    assert welsh_catalogue().files == [str(TRANSLATIONS / "cy" / "LC_MESSAGES" / "messages.mo")]
    assert welsh("Not a message storyhub has") == "Not a message storyhub has"


def test_storyteller_journey_in_welsh(
    live_site: LiveSite, browser: Any, shot: Any, short_story: Path
) -> None:
    """Sign in, upload, wait, choose who may see it, withdraw: in Welsh, axe on every page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **WELSH_BROWSER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    journey = WelshJourney(page, shot)

    page.goto(live_site.url + "/")
    journey.step("croeso")  # a first visit follows the browser: Welsh
    page.get_by_role("link", name=welsh("Sign in")).first.click()
    journey.step("mewngofnodi")
    page.get_by_label(welsh("Username")).fill(WELSH_USERS["storyteller"])
    page.get_by_label(welsh("Password")).fill(E2E_PASSWORD)
    page.get_by_role("button", name=welsh("Sign in")).click()
    page.wait_for_url(lambda url: "/login" not in url)
    journey.step("wedi-mewngofnodi")

    page.get_by_role("link", name=welsh("Share a story")).first.click()
    journey.step("llwytho-i-fyny")
    # The teller reads Welsh, so their story is told in Welsh unless they say otherwise.
    expect(page.locator("input[name=language][value=cy]")).to_be_checked()
    page.locator("input[name=media]").set_input_files(str(short_story))
    page.get_by_label(welsh("A title for your story")).fill("Y clwb cinio")
    agree = "Yes, I agree to take part: storyhub may keep my story and prepare it."
    page.get_by_label(welsh(agree)).check()
    page.get_by_role("button", name=welsh("Upload my story")).click()
    page.wait_for_url(re.compile(r".*/stories/\d+$"), timeout=60_000)
    journey.step("paratoi")
    story_url = page.url
    page.wait_for_selector(".processing", state="detached", timeout=180_000)
    journey.step("yn-barod")

    # Release: the wizard, one question per screen; audiences are ticked by their value.
    page.get_by_role("link", name=welsh("Choose who may see it")).click()
    journey.step("caniatad-cwestiwn-cyntaf")
    page.locator("input[name=watched]").check()
    page.get_by_role("button", name=welsh("Next"), exact=True).click()
    page.locator("input[name=audiences][value=training]").check()
    for _ in range(5):
        page.get_by_role("button", name=welsh("Next"), exact=True).click()
    with page.expect_navigation():  # the summary is the answer to the wizard's form
        page.get_by_role("button", name=welsh("Next: check my answers")).click()
    journey.step("caniatad-crynodeb")
    page.get_by_role("button", name=welsh("Yes, share my story like this")).click()
    page.wait_for_url(story_url)
    journey.step("wedi-rhannu")

    # A trainer (reading English) sees it now, and not after the teller withdraws it.
    trainer = browser.new_context(viewport={"width": 1280, "height": 800})
    trainer_page = trainer.new_page()
    sign_in(trainer_page, live_site, "e2e-trainer")
    response = trainer_page.goto(story_url)
    assert response is not None and response.status == 200

    page.get_by_role("link", name=welsh("Stop sharing my story")).click()
    journey.step("tynnu-nol-cadarnhau")
    page.get_by_role("button", name=welsh("Stop sharing my story")).click()
    page.wait_for_url(story_url)
    # The page settles once the withdrawal shows (as in the English journey), in Welsh.
    expect(page.locator(".audience")).to_contain_text("Wedi'i thynnu'n ôl gan adroddwr y stori")
    journey.step("wedi-tynnu-nol")
    response = trainer_page.goto(story_url)
    assert response is not None and response.status == 404

    journey.finish()
    assert errors == []
    trainer.close()
    context.close()
