"""Search in a real Chromium: find a passage by a word in another form, see it highlighted, and
play the story from that passage's start with its words in view. Then a trainer finds a passage
by what it means, in none of its words ("Similar in meaning", its closest sentence marked), plays
it from its start, and opens "More like this" for the passages closest to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from consent.models import Audience
from media_pipeline.synth import render_story
from storyhub.models import Role
from tests.e2e.conftest import LiveSite, in_site, share_through_wizard, sign_in, upload_and_wait

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

    play_from_its_start(page, result)  # the third passage, not the beginning
    shot(page, "playing-from-the-passage")


# Alan's passages share none of the trainer's words; they say the same thing in others.
HERMIT = "most friends have drifted off"
LONELY_QUERY = "feeling lonely and isolated"
# Another teller's story, shared for training: one passage close to Alan's in meaning, one not.
QUIET_HOUSE = (
    "My wife passed away two years ago, and the house is so quiet now. I eat my tea on my "
    "own at the kitchen table, with her chair empty across from me. The evenings are the "
    "worst, with nobody to share a joke with, and the weekends seem to go on for ever. Our "
    "daughter lives in Australia, and she rings on Sundays, but it is not the same as having "
    "somebody in the room. Some nights I talk to the cat, just to hear my own voice. I keep "
    "meaning to join something, but I never get past the front door."
)
VEGETABLES = (
    "The tomatoes did well this year, and the runner beans climbed right up the fence. I gave "
    "the courgettes to the neighbours, and my grandson helped me dig the potatoes."
)


def seed_related_story(site: LiveSite) -> None:
    """Written as processing would leave it (tests/search_factory): it is only listed, not
    played; the worker indexes it, words and meaning, while Alan's story is prepared."""
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from tests.search_factory import make_story

    with in_site(site.env):
        teller = create_user("meaning-teller", "meaning-password-1", Role.STORYTELLER)
        db.session.commit()
        make_story(
            teller,
            [QUIET_HOUSE, VEGETABLES],
            title="Since the funeral",
            audiences={Audience.TRAINING},
        )


@pytest.fixture(scope="module")
def lorry_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-meaning")
    return render_story(
        folder / "lorry.mp4",
        title="On the road",
        # About 35 seconds each, so each paragraph is a passage of its own (passages aim at
        # 15 to 60 seconds), and the one that matters is not the story's first.
        paragraphs=[
            "My name is Alan. I drove a lorry for thirty years, up and down the country, and I "
            "loved the open road. I knew every cafe from Carlisle to Cardiff, and I was never at "
            "home for long. My mates at the depot were like a second family to me. We played "
            "darts on Fridays, and at Christmas the boss took us all out for a curry. When my "
            "knees went, the doctor said my driving days were over, and I handed in my keys on a "
            "wet Monday in March. I still remember the smell of diesel in the yard that morning, "
            "and the rain on the windscreen.",
            "I hardly see a living soul from one week to the next. Since I stopped work, most "
            "friends have drifted off, and I'm close to being a hermit. Nobody would notice if I "
            "disappeared. Days go by without a knock on the door, and the phone never rings. The "
            "silence is the hardest part. I sit on my own in the dark with the radio on, just to "
            "hear a voice. The lads from the depot said they would call round, but they never "
            "did. I have nobody to talk to, and I miss having company.",
        ],
    )


def test_a_trainer_finds_a_passage_by_its_meaning_and_more_like_it(
    live_site: LiveSite, browser: Any, desktop: Any, shot: Any, lorry_story: Path
) -> None:
    seed_related_story(live_site)
    curator = desktop
    sign_in(curator, live_site, "e2e-curator")
    upload_and_wait(curator, live_site, lorry_story, "On the road")
    share_through_wizard(curator, "Training:", "Shared for: training")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_site, "e2e-trainer")
    page.get_by_role("link", name="Find passages").click()
    expect(page.get_by_label("Meaning and words")).to_be_checked()  # the default
    page.get_by_label("Words to find").fill(LONELY_QUERY)
    page.get_by_role("button", name="Search", exact=True).click()

    result = page.locator(".result", has_text="On the road")
    found = result.locator(".result-passage", has_text=re.compile(HERMIT, re.I))
    expect(found).to_be_visible()
    expect(found.locator(".match-reason")).to_have_text(re.compile("^Similar in meaning"))
    expect(found.locator("mark.closest")).to_have_count(1)
    expect(found.locator("mark:not(.closest)")).to_have_count(0)  # no word of the query in it
    shot(page, "found-by-meaning")

    passage_id = play_from_its_start(page, found)  # the second passage, not the beginning
    shot(page, "playing-the-passage-found-by-meaning")

    # More like it: from the passage on the story page, closest in meaning first.
    page.locator(f"#passage-{passage_id}").get_by_role("link", name="More like this").click()
    expect(page.get_by_role("heading", name="Passages like this one")).to_be_visible()
    expect(page.locator(".similar-quote")).to_contain_text(re.compile(HERMIT, re.I))
    listed = page.locator(".result-passage")
    related = page.locator(".result", has_text="Since the funeral").locator(".result-passage")
    expect(related).to_have_count(1)  # the vegetables are not like it
    expect(related).to_contain_text("the house is so quiet now")
    expect(related.locator(".match-reason")).to_have_text(re.compile("^Similar in meaning"))
    expect(related.locator("mark.closest")).to_have_count(1)
    for link in listed.get_by_role("link", name=re.compile("Play from")).all():
        assert not (link.get_attribute("href") or "").endswith(f"#passage-{passage_id}")
    shot(page, "more-like-this")
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def play_from_its_start(page: Page, result: Locator) -> str:
    """Click a result's "Play from": the story opens playing at that passage's start (after the
    story's beginning), with the passage in view. Returns the passage's id."""
    play = result.get_by_role("link", name=re.compile("Play from"))
    href = play.get_attribute("href") or ""
    start = float(re.search(r"[?&]t=([0-9.]+)", href).group(1))  # type: ignore[union-attr]
    passage_id = href.rsplit("#passage-", 1)[1]
    assert start > 0
    play.click()
    page.wait_for_url(re.compile(r".*/stories/\d+\?t=.*"))
    page.wait_for_function(
        "start => { const m = document.querySelector('video, audio');"
        " return m && m.currentTime >= start - 0.1; }",
        arg=start,
    )
    expect(page.locator(f"#passage-{passage_id}")).to_be_in_viewport()
    return passage_id
