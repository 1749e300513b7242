"""Journey 3, in a real Chromium with the keyboard alone: a trainer finds a passage, opens it at
its timecode, cuts a clip on chosen words, builds a session, reorders it, runs it in the room
and exports it. axe-core checks every page on the way (tests/e2e/quality.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import (
    LiveSite,
    share_through_wizard,
    sign_in,
    sign_in_with_keys,
    upload_and_wait,
)
from tests.e2e.quality import Journey, Keyboard

pytestmark = pytest.mark.e2e

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def club_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-session")
    return render_story(
        folder / "club.mp4",
        title="The Tuesday club",
        # Over a minute of speech, so the volunteers are in a later passage, not the first.
        paragraphs=[
            "My name is Ruth. I am eighty years old and I live on my own since my husband died.",
            "We were married for fifty years. He did the garden and I did the cooking, and on "
            "Sundays our children came for lunch with the grandchildren.",
            "He was a quiet man, but he always knew what to say when I was worried about "
            "something, and he made me laugh every single day.",
            "We had a dog called Bess, and we walked her along the river every evening, in "
            "the rain and in the sunshine.",
            "When he died the house went quiet. The children live far away now, and they have "
            "busy lives of their own.",
            "For a long time I did not see anybody from one week to the next, and the days "
            "were very long. I stopped cooking proper meals.",
            "My doctor asked me how I was, and I told her the truth. She said there were people "
            "who could help.",
            "Then the volunteers from the church started a club every Tuesday, with tea and "
            "music, and they came to fetch me in a car.",
            "Now I help to make the sandwiches. I have friends again, and I look forward to "
            "the week.",
        ],
    )


def test_trainer_journey_with_the_keyboard_only(
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
    journey, keys = Journey(page, shot), Keyboard(page)
    sign_in_with_keys(journey, live_site, "e2e-trainer")

    # A session to put the clip in.
    keys.go(page.get_by_role("link", name="Sessions"))
    journey.step("sessions")
    keys.type(page.get_by_label("Title"), "Loneliness")
    keys.go(page.get_by_role("button", name="Make the session"))
    expect(page.get_by_role("heading", name="Loneliness")).to_be_visible()
    journey.step("new-session")

    # Find the passage and open it at its timecode.
    keys.go(page.get_by_role("link", name="Find passages"))
    journey.step("search")
    keys.type(page.get_by_label("Words to find"), "volunteers")
    keys.go(page.get_by_role("button", name="Search", exact=True))
    result = page.locator(".result", has_text="The Tuesday club")
    expect(result.locator("mark").first).to_have_text(re.compile("^volunteers$", re.I))
    journey.step("results")
    play = result.get_by_role("link", name=re.compile("Play from")).first
    href = play.get_attribute("href") or ""
    start = float(re.search(r"[?&]t=([0-9.]+)", href).group(1))  # type: ignore[union-attr]
    passage_id = href.rsplit("#passage-", 1)[1]
    assert start > 0  # a later passage, not the story's beginning
    keys.go(play)
    page.wait_for_function(
        "start => { const m = document.querySelector('video');"
        " return m && m.currentTime >= start - 0.1; }",
        arg=start,
    )
    passage = page.locator(f"#passage-{passage_id}")
    expect(passage).to_be_in_viewport()
    journey.step("at-the-passage")

    # Cut a clip from it: a few words, starting one word later, and watch it.
    keys.go(passage.get_by_role("link", name=re.compile("Make a clip")))
    expect(page.get_by_role("heading", name="Make a clip")).to_be_visible()
    journey.step("clip-form")
    first = page.get_by_label("First word")
    chosen = int(first.input_value()) + 1
    keys.select(first, value=str(chosen))
    keys.select(page.get_by_label("Last word"), value=str(chosen + 10))  # a few seconds
    expect(page.locator("[data-clip-summary]")).to_contain_text("The clip runs from")
    keys.press(page.get_by_role("button", name="Play the clip"))
    page.wait_for_function(
        "() => { const m = document.querySelector('video'); return m && !m.paused; }"
    )
    keys.type(page.get_by_label("Title"), "The volunteers came")
    keys.select(page.get_by_label("Add it to a session (optional)"), "Loneliness")
    journey.step("clip-bounds")
    keys.go(page.get_by_role("button", name="Save the clip"))
    expect(page.get_by_text("Clip saved and added to “Loneliness”.")).to_be_visible()
    journey.step("clip-saved")

    # A prompt, then put it first with the keyboard (Alt + up), which saves at once.
    keys.type(page.get_by_label("A discussion prompt"), "Who do you see from one week to the next?")
    keys.go(page.get_by_role("button", name="Add the prompt"))
    journey.step("prompt-added")
    prompt = page.locator(".session-item", has_text="Who do you see")
    keys.press(prompt, "Alt+ArrowUp")
    expect(page.locator("[data-reorder-status]")).to_contain_text("is now number 1 of 2")
    page.reload()
    expect(page.locator(".session-item").first).to_contain_text("Who do you see")
    journey.step("session")

    # Run it: the prompt, then the clip, introduced, with captions on, stopping at its end.
    keys.go(page.get_by_role("link", name="Run this session"))
    expect(page.locator("[data-position]")).to_have_text("1 of 4")  # the player is ready
    journey.step("room")
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
    journey.step("playing-in-the-room")
    page.wait_for_function(
        "() => document.querySelector('.slide-clip video').paused", timeout=60_000
    )
    stopped = page.evaluate("document.querySelector('.slide-clip video').currentTime")
    assert end - 0.3 <= stopped <= end + 0.3
    expect(page.locator("[data-clip-status]")).to_contain_text("The clip has finished")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".slide-end")).to_be_visible()

    # Export it, with the progress bar, until the downloads are offered.
    keys.go(page.get_by_role("link", name="Leave the session"))
    journey.step("back-to-the-session")
    keys.check(page.get_by_label(re.compile("Put the captions into the picture")))
    keys.go(page.get_by_role("button", name="Export the session"))
    expect(page.locator("#exports progress")).to_be_visible()
    journey.step("exporting")
    download_link = page.get_by_role("link", name="Download the video")
    expect(download_link).to_be_visible(timeout=180_000)
    journey.step("exported")
    with page.expect_download() as download:
        keys.press(download_link)
    assert download.value.suggested_filename.endswith("session.mp4")
    journey.finish()
    context.close()
    assert errors == []
