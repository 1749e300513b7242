"""Search in a real Chromium: find a passage by a word in another form, see it highlighted, and
play the story from that passage's start with its words in view."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_pipeline.synth import render_story
from tests.e2e.conftest import LiveSite, sign_in, upload_and_wait

pytestmark = pytest.mark.e2e

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def allotment_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-search")
    return render_story(
        folder / "allotment.mp4",
        title="Allotment",
        # A minute and a half of speech, so the volunteer is in a later passage, not the first.
        paragraphs=[
            "My name is Gareth. I am sixty eight years old and I live on my own in a small flat "
            "near the park, not far from where I grew up.",
            "I worked on the railways for forty years. I liked the people and the routine, and I "
            "was never ill a day in my life until last winter.",
            "Then I had a stroke. I was in hospital for six weeks. My right hand still does not "
            "do what I tell it, and my speech was slow for a long time.",
            "When I came home I sat in my chair all day. I could not dig any more, and I felt "
            "useless. My daughter was worried about me, and so was my doctor.",
            "The speech therapist came twice a week. We practised words with pictures, and she "
            "never hurried me. Slowly my words came back, one at a time.",
            "The physiotherapist gave me exercises for my hand. I did them every morning with "
            "the radio on, even on the days when nothing seemed to get better.",
            "The team asked me what I missed most. I said my garden, more than anything.",
            "Now a volunteer comes with me to the allotment every Tuesday, and I grow beans again. "
            "I feel like myself.",
        ],
    )


def test_find_a_passage_and_play_it_from_its_start(
    live_site: LiveSite, desktop: Any, shot: Any, allotment_story: Path
) -> None:
    page = desktop
    sign_in(page, live_site, "e2e-curator")
    upload_and_wait(page, live_site, allotment_story, "Allotment", setting="community_team")

    page.get_by_role("link", name="Find passages").click()
    page.get_by_label("Words to find").fill("volunteers")  # the story says "volunteer"
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(".result", has_text="Allotment")
    expect(result).to_be_visible()
    expect(result.locator("mark").first).to_have_text(re.compile("^volunteer$", re.I))
    expect(page.locator(".facet", has_text="Service setting")).to_contain_text(
        "Community health or social work team"
    )
    shot(page, "results")

    play = result.get_by_role("link", name=re.compile("Play from"))
    href = play.get_attribute("href") or ""
    start = float(re.search(r"[?&]t=([0-9.]+)", href).group(1))  # type: ignore[union-attr]
    passage_id = href.rsplit("#passage-", 1)[1]
    assert start > 0  # the third passage, not the story's beginning
    play.click()
    page.wait_for_url(re.compile(r".*/stories/\d+\?t=.*"))
    page.wait_for_function(
        "start => { const m = document.querySelector('video, audio');"
        " return m && m.currentTime >= start - 0.1; }",
        arg=start,
    )
    expect(page.locator(f"#passage-{passage_id}")).to_be_in_viewport()
    shot(page, "playing-from-the-passage")
