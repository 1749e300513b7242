"""Journey 1, in a real Chromium: a storyteller on a phone, with the keyboard alone, signs in,
uploads a story, watches it being prepared, plays it back (seeking works), corrects a word, says
the words are right, shares it with trainers through the consent wizard and later withdraws it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import E2E_PASSWORD, LiveSite, sign_in
from tests.e2e.quality import Journey, Keyboard

pytestmark = pytest.mark.e2e

# Each step is a round trip to a site whose worker may be busy on the same 2 cores.
expect.set_options(timeout=20_000)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def spoken_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-media")
    # Long enough (about 20 seconds) that preparing it takes a while: the progress bar shows.
    return render_story(
        folder / "my-story.mp4",
        title="The lunch club",
        paragraphs=[
            "I go to the lunch club on Tuesdays.",
            "I see my friends there again, and we talk about the old days over a cup of tea.",
            "Before the club I stayed in my flat all week, and some days I spoke to nobody.",
            "Now the bus picks me up at the door, and I look forward to Tuesday all week.",
        ],
    )


def test_storyteller_journey_on_a_phone_with_the_keyboard_only(
    live_site: LiveSite, browser: Any, shot: Any, spoken_story: Path
) -> None:
    """Journey 1: sign in, upload, wait with the progress bar, correct a word, say the words are
    right, choose who may see it, and later withdraw it; keys only, axe on every page."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    journey, keys = Journey(page, shot), Keyboard(page)

    page.goto(live_site.url + "/")
    journey.step("welcome")
    keys.go(page.get_by_role("link", name="Sign in").first)
    journey.step("sign-in")
    keys.type(page.get_by_label("Username"), "e2e-storyteller")
    keys.type(page.get_by_label("Password"), E2E_PASSWORD)
    keys.go(page.get_by_role("button", name="Sign in"))
    journey.step("signed-in")
    keys.go(page.get_by_role("link", name="Share a story").first)
    journey.step("upload-form")

    keys.choose_file(page.get_by_label("Your story's video or sound file"), spoken_story)
    keys.type(page.get_by_label("A title for your story"), "The lunch club")
    keys.check(page.get_by_label("An unpaid carer"))
    keys.check(page.get_by_label("Yes, I agree to take part"))
    # The upload's own progress bar, then the story page with the preparation's progress bar.
    keys.go(page.get_by_role("button", name="Upload my story"))
    assert re.search(r"/stories/\d+$", page.url), page.url
    bar = page.locator("progress#job-bar")
    expect(bar).to_be_visible()
    expect(page.locator("#job-text")).not_to_be_empty()
    journey.step("preparing-with-progress-bar")
    expect(page.get_by_role("heading", name="The lunch club")).to_be_visible()
    expect(page.locator(".audience")).to_contain_text("only you and curators")
    # The progress bar reloads the page when the worker has finished.
    page.wait_for_selector(".processing", state="detached", timeout=120_000)
    page.wait_for_selector("video[poster]")
    journey.step("ready")

    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const v = document.querySelector('video');
            const done = () => resolve(v.duration);
            if (v.readyState >= 1) done(); else v.addEventListener('loadedmetadata', done);
            v.addEventListener('error', () => reject(v.error && v.error.message));
        })"""
    )
    assert 10 < duration < 60
    # Seeking needs range requests: jump near the end and make sure the player gets there.
    position = page.evaluate(
        """(target) => new Promise((resolve) => {
            const v = document.querySelector('video');
            v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
            v.currentTime = target;
        })""",
        duration - 1,
    )
    assert abs(position - (duration - 1)) < 1.0

    # The words are there, with captions showing on the video by default.
    assert page.locator("track[kind=captions][default]").count() == 1
    showing = page.evaluate("() => document.querySelector('video').textTracks[0].mode")
    assert showing == "showing"
    transcript = page.locator("[data-transcript]")
    expect(transcript).to_contain_text("lunch club", ignore_case=True)
    # From near the end, "Play from here" plays the story from the passage's start again.
    passage = page.locator(".passage").first
    start = float(passage.get_attribute("data-start") or 0)
    page.evaluate("() => { document.querySelector('video').muted = true; }")
    keys.press(passage.get_by_role("button", name=re.compile("Play from here")))
    page.wait_for_function(
        "(t) => { const v = document.querySelector('video');"
        " return !v.paused && v.currentTime >= t && v.currentTime < t + 5; }",
        arg=start,
    )

    # Correct a word: the teller fixes what the computer misheard.
    first = page.locator(".passage").first
    keys.press(first.get_by_text("Correct the words"))
    box = first.locator("textarea[name=text]")
    original = box.input_value()
    assert "lunch club" in original.lower()
    keys.type(box, re.sub("lunch club", "lunch club in town", original, flags=re.IGNORECASE))
    journey.step("correcting")
    keys.go(first.get_by_role("button", name="Save the words"))
    expect(page.locator("[data-transcript]")).to_contain_text(
        "lunch club in town", ignore_case=True
    )
    journey.step("corrected")
    # The correction starts a job whose progress bar reloads the page when it ends; a button
    # pressed during that reload is lost, so wait until the page has no job running.
    expect(page.locator("[data-job-url]")).to_have_count(0, timeout=60_000)
    keys.go(page.get_by_role("button", name="The words are right"))
    expect(page.get_by_text("You checked these words on")).to_be_visible()
    journey.step("words-approved")

    # Release: choose who may see it, one question per screen.
    story_url = page.url.split("#")[0].split("?")[0]
    keys.go(page.get_by_role("link", name="Choose who may see it"))
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    journey.step("consent-first-question")
    keys.check(page.get_by_label("Yes, I have watched"))
    keys.press(page.get_by_role("button", name="Next", exact=True))
    keys.check(page.get_by_label("Training:"))
    for _ in range(5):
        keys.press(page.get_by_role("button", name="Next", exact=True))
    expect(page.get_by_text("Question 7 of 7")).to_be_visible()
    journey.step("consent-last-question")
    keys.go(page.get_by_role("button", name="Next: check my answers"))
    journey.step("consent-summary")
    keys.go(page.get_by_role("button", name="Yes, share my story like this"))
    expect(page.locator(".audience")).to_contain_text("Shared for: training")
    journey.step("shared")

    # A trainer now opens it; the teller withdraws it; the trainer can't any more.
    trainer = browser.new_context(viewport={"width": 1280, "height": 800})
    trainer_page = trainer.new_page()
    trainer_journey = Journey(trainer_page, shot)
    sign_in(trainer_page, live_site, "e2e-trainer", trainer_journey)
    trainer_page.goto(story_url)
    expect(trainer_page.locator(".audience")).to_contain_text("Shared for: training")
    trainer_journey.step("trainer-sees-it")

    keys.go(page.get_by_role("link", name="Stop sharing my story"))
    journey.step("withdraw-confirm")
    keys.go(page.get_by_role("button", name="Stop sharing my story"))
    expect(page.locator(".audience")).to_contain_text("Withdrawn by the storyteller")
    journey.step("withdrawn")
    response = trainer_page.goto(story_url)
    assert response is not None and response.status == 404
    trainer_journey.step("trainer-after-withdrawal")

    journey.finish()
    trainer_journey.finish()
    assert errors == []
    trainer.close()
    context.close()


def test_a_bad_file_is_refused_in_the_page_without_losing_the_form(
    live_site: LiveSite, browser: Any, shot: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "holiday.mp4"
    notes.write_text("these are my notes, not a video")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_site.url + "/login")
    page.get_by_label("Username").fill("e2e-storyteller")
    page.get_by_label("Password").fill(E2E_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_site.url + "/stories/new")
    page.get_by_label("Your story's video or sound file").set_input_files(str(notes))
    page.get_by_label("A title for your story").fill("My holiday")
    page.get_by_label("Yes, I agree to take part").check()
    page.get_by_role("button", name="Upload my story").click()
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=30_000)
    shot(page, "refused")
    assert "doesn't seem to be a video or a sound recording" in alert.inner_text()
    assert page.get_by_label("A title for your story").input_value() == "My holiday"
    assert page.url.endswith("/stories/new")
    context.close()
