"""A storyteller on a phone signs in, uploads a story with a progress bar, watches it being
prepared, plays it back (seeking works), shares it with trainers through the consent wizard and
later withdraws it, in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import E2E_PASSWORD, LiveSite

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def spoken_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-media")
    return render_story(
        folder / "my-story.mp4",
        title="The lunch club",
        paragraphs=["I go to the lunch club on Tuesdays.", "I see my friends there again."],
    )


def test_storyteller_uploads_from_a_phone_and_plays_the_story(
    live_site: LiveSite, browser: Any, shot: Any, spoken_story: Path
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(live_site.url + "/")
    shot(page, "welcome")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("e2e-storyteller")
    page.get_by_label("Password").fill(E2E_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Share a story").first.click()
    shot(page, "upload-form")

    page.get_by_label("Your story's video or sound file").set_input_files(str(spoken_story))
    page.get_by_label("A title for your story").fill("The lunch club")
    page.get_by_label("An unpaid carer").check()
    page.get_by_label("Yes, I agree to take part").check()
    page.get_by_role("button", name="Upload my story").click()
    # The upload's progress bar shows, then the story page opens.
    page.wait_for_url(re.compile(r".*/stories/\d+$"), timeout=60_000)
    shot(page, "story-page")
    expect(page.get_by_role("heading", name="The lunch club")).to_be_visible()
    expect(page.locator(".audience")).to_contain_text("only you and curators")

    # The worker prepares it; the page's progress bar reloads the page when it has finished.
    page.wait_for_selector("video[poster]", timeout=60_000)
    page.wait_for_selector(".processing", state="detached", timeout=60_000)
    shot(page, "ready")

    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const v = document.querySelector('video');
            const done = () => resolve(v.duration);
            if (v.readyState >= 1) done(); else v.addEventListener('loadedmetadata', done);
            v.addEventListener('error', () => reject(v.error && v.error.message));
        })"""
    )
    assert 3 < duration < 30
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
    played = page.evaluate(
        """() => {
            const v = document.querySelector('video');
            v.muted = true;
            return v.play().then(() => new Promise(r => setTimeout(() => r(v.currentTime), 500)));
        }"""
    )
    assert played > 0

    # The words are there, with captions showing on the video by default.
    assert page.locator("track[kind=captions][default]").count() == 1
    showing = page.evaluate("() => document.querySelector('video').textTracks[0].mode")
    assert showing == "showing"
    transcript = page.locator("[data-transcript]")
    expect(transcript).to_contain_text("lunch club", ignore_case=True)
    # Clicking a word plays from it.
    word = page.locator(".word", has_text="friends").first
    target = float(word.get_attribute("data-start") or 0)
    word.click()
    page.wait_for_function(
        "(t) => Math.abs(document.querySelector('video').currentTime - t) < 1.0", arg=target
    )
    # Correct a word: the teller fixes what the computer misheard.
    page.get_by_text("Correct the words").first.click()
    box = page.locator("textarea[name=text]").first
    original = box.input_value()
    assert "lunch club" in original.lower()
    box.fill(re.sub("lunch club", "lunch club in town", original, flags=re.IGNORECASE))
    page.get_by_role("button", name="Save the words").first.click()
    expect(page.locator("[data-transcript]")).to_contain_text(
        "lunch club in town", ignore_case=True
    )
    shot(page, "corrected")

    # Consent step 2: watch, then choose who may see it, one question per screen.
    story_url = page.url.split("#")[0]
    page.get_by_role("link", name="Choose who may see it").click()
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    page.get_by_label("Yes, I have watched").check()
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_label("Training:").check()
    for _ in range(5):
        page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_text("Question 7 of 7")).to_be_visible()
    shot(page, "consent-last-question")
    page.get_by_role("button", name="Next: check my answers").click()
    shot(page, "consent-summary")
    page.get_by_role("button", name="Yes, share my story like this").click()
    expect(page.locator(".audience")).to_contain_text("Shared for: training")
    shot(page, "shared")

    # A trainer now finds and plays it; the teller withdraws it; the trainer can't any more.
    trainer = browser.new_context(viewport={"width": 1280, "height": 800})
    trainer_page = trainer.new_page()
    trainer_page.goto(live_site.url + "/login")
    trainer_page.get_by_label("Username").fill("e2e-trainer")
    trainer_page.get_by_label("Password").fill(E2E_PASSWORD)
    trainer_page.get_by_role("button", name="Sign in").click()
    trainer_page.goto(story_url)
    expect(trainer_page.locator(".audience")).to_contain_text("Shared for: training")
    shot(trainer_page, "trainer-sees-it")

    page.get_by_role("link", name="Stop sharing my story").click()
    shot(page, "withdraw-confirm")
    page.get_by_role("button", name="Stop sharing my story").click()
    expect(page.locator(".audience")).to_contain_text("Withdrawn by the storyteller")
    response = trainer_page.goto(story_url)
    assert response is not None and response.status == 404
    shot(trainer_page, "trainer-after-withdrawal")
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
