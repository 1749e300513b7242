"""A curator reviews a story's suggested themes in a real Chromium: answers a suggestion with the
keyboard (the page doesn't reload, so the story would keep playing), tags a few words of a
passage, and changes their mind about a "no"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import LiveSite, sign_in, upload_and_wait

pytestmark = pytest.mark.e2e

# Each answer is a round trip to a site whose worker may be busy on the same 2 cores.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def listened_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-themes")
    return render_story(
        folder / "heard.mp4",
        title="Heard",
        paragraphs=[
            "The new social worker sat down with me and asked what mattered to me.",
            "She really listened, and wrote down what I said.",
        ],
    )


def test_a_curator_confirms_and_adds_themes_with_the_keyboard(
    live_site: LiveSite, desktop: Any, shot: Any, listened_story: Path
) -> None:
    page = desktop
    sign_in(page, live_site, "e2e-curator")
    upload_and_wait(page, live_site, listened_story, "Heard")

    suggestion = page.locator("[data-suggestion]", has_text="Listened to")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("% sure")
    shot(page, "suggestions")

    # Answer with the keyboard: Y on the first suggestion of the passage. No page load happens.
    page.evaluate("() => { window.stillHere = true; }")
    first = page.locator("[data-suggestion]").first
    name = first.locator(".theme-name").inner_text().split(":")[-1].strip()
    first.locator("[data-confirm]").focus()
    page.keyboard.press("y")
    confirmed = page.locator(".theme-confirmed", has_text=name)
    expect(confirmed).to_contain_text("Confirmed by")
    assert page.evaluate("() => window.stillHere === true")
    shot(page, "confirmed-with-y")

    # Tag only a few words of the passage.
    page.locator(".add-theme summary").first.click()
    page.get_by_label("Theme", exact=True).first.select_option(label="Treated with respect")
    page.get_by_label("Only these words (optional)").first.fill("wrote down what I said")
    page.get_by_role("button", name="Add the theme").first.click()
    span = page.locator(".theme-confirmed", has_text="Treated with respect")
    expect(span).to_contain_text("wrote down what I said", ignore_case=True)
    assert page.evaluate("() => window.stillHere === true")

    # Say no to a suggestion, then change one's mind.
    remaining = page.locator("[data-suggestion]")
    expect(remaining.first).to_be_visible()  # the passage had more than one suggestion
    other = remaining.first.locator(".theme-name").inner_text().split(":")[-1].strip()
    remaining.first.locator("[data-reject]").click()
    expect(page.locator(".theme-rejected")).to_contain_text(other)
    page.locator(".theme-rejected-item", has_text=other).get_by_role("button").click()
    expect(page.locator(".theme-rejected")).to_have_count(0)
    expect(page.locator(".theme-confirmed", has_text=other).first).to_be_visible()
    shot(page, "after-review")

    # The decisions are stored: a fresh page load shows them.
    page.reload()
    expect(page.locator(".theme-confirmed", has_text=name)).to_be_visible()
    expect(page.locator(".theme-span", has_text="wrote down what I said")).to_be_visible()
