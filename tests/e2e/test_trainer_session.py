"""A trainer's journey in a real Chromium: find a passage, cut a clip on chosen words, build a
session, reorder it with the keyboard, run it in the room with the keyboard, and export it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import LiveSite, share_through_wizard, sign_in, upload_and_wait

pytestmark = pytest.mark.e2e

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def club_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-session")
    return render_story(
        folder / "club.mp4",
        title="The Tuesday club",
        paragraphs=[
            "My name is Ruth. I am eighty years old and I live on my own since my husband died.",
            "For a long time I did not see anybody from one week to the next, and the days "
            "were very long.",
            "Then the volunteers from the church started a club every Tuesday, with tea and "
            "music, and they came to fetch me in a car.",
            "Now I help to make the sandwiches. I have friends again, and I look forward to "
            "the week.",
        ],
    )


def test_a_trainer_builds_runs_and_exports_a_session(
    live_site: LiveSite, browser: Any, desktop: Any, shot: Any, club_story: Path
) -> None:
    curator = desktop
    sign_in(curator, live_site, "e2e-curator")
    upload_and_wait(curator, live_site, club_story, "The Tuesday club", setting="day_service")
    share_through_wizard(curator, "Training:", "Shared for: training", clips=True)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_site, "e2e-trainer")

    # A session to put the clip in.
    page.get_by_role("link", name="Sessions").click()
    page.get_by_label("Title").fill("Loneliness")
    page.get_by_role("button", name="Make the session").click()
    expect(page.get_by_role("heading", name="Loneliness")).to_be_visible()

    # Find the passage and cut a clip from it, one word shorter at the start.
    page.get_by_role("link", name="Find passages").click()
    page.get_by_label("Words to find").fill("volunteers")
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(".result", has_text="The Tuesday club")
    result.get_by_role("link", name=re.compile("Make a clip")).first.click()
    expect(page.get_by_role("heading", name="Make a clip")).to_be_visible()
    first = page.get_by_label("First word")
    chosen = int(first.input_value())
    first.select_option(str(chosen + 1))
    expect(page.locator("[data-clip-summary]")).to_contain_text("The clip runs from")
    shot(page, "clip-bounds")
    page.get_by_role("button", name="Play the clip").click()
    page.wait_for_function(
        "() => { const m = document.querySelector('video'); return m && !m.paused; }"
    )
    page.get_by_label("Title").fill("The volunteers came")
    page.get_by_label("Add it to a session (optional)").select_option(label="Loneliness")
    page.get_by_role("button", name="Save the clip").click()
    expect(page.get_by_text("Clip saved and added to “Loneliness”.")).to_be_visible()

    # A prompt, then put it first with the keyboard (Alt + up), which saves at once.
    page.get_by_label("A discussion prompt").fill("Who do you see from one week to the next?")
    page.get_by_role("button", name="Add the prompt").click()
    page.wait_for_load_state("load")  # the page's script (which saves a new order) has run
    prompt = page.locator(".session-item", has_text="Who do you see")
    prompt.focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("[data-reorder-status]")).to_contain_text("is now number 1 of 2")
    page.reload()
    expect(page.locator(".session-item").first).to_contain_text("Who do you see")
    shot(page, "session")

    # Run it: the prompt, then the clip, introduced, with captions on, stopping at its end.
    page.get_by_role("link", name="Run this session").click()
    expect(page.locator("[data-position]")).to_have_text("1 of 4")  # the player is ready
    page.keyboard.press("ArrowRight")
    expect(page.locator(".slide-prompt")).to_be_visible()
    page.keyboard.press("ArrowRight")
    clip = page.locator(".slide-clip")
    expect(clip).to_be_visible()
    expect(clip).to_contain_text("From “The Tuesday club”")
    expect(clip).to_contain_text("Shared by its storyteller for: training")
    start = float(clip.get_attribute("data-start") or 0)
    end = float(clip.get_attribute("data-end") or 0)
    page.keyboard.press("Space")
    page.wait_for_function(
        "start => { const v = document.querySelector('.slide-clip video');"
        " return v && !v.paused && v.currentTime > start + 0.5; }",
        arg=start,
    )
    mode = page.evaluate("document.querySelector('.slide-clip video').textTracks[0].mode")
    assert mode == "showing"
    shot(page, "playing-in-the-room")
    page.wait_for_function(
        "() => document.querySelector('.slide-clip video').paused", timeout=60_000
    )
    stopped = page.evaluate("document.querySelector('.slide-clip video').currentTime")
    assert end - 0.3 <= stopped <= end + 0.3
    expect(page.locator("[data-clip-status]")).to_contain_text("The clip has finished")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".slide-end")).to_be_visible()

    # Export it, with the progress bar, until the downloads are offered.
    page.get_by_role("link", name="Leave the session").click()
    page.get_by_label(re.compile("Put the captions into the picture")).check()
    page.get_by_role("button", name="Export the session").click()
    expect(page.locator("#exports progress")).to_be_visible()
    shot(page, "exporting")
    expect(page.get_by_role("link", name="Download the video")).to_be_visible(timeout=180_000)
    shot(page, "exported")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the video").click()
    assert download.value.suggested_filename.endswith("session.mp4")
    context.close()
    assert errors == []
