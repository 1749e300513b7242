"""Journey 2, in a real Chromium with the keyboard alone: a curator invites a storyteller (who
joins through the link), uploads the storyteller's story for them, confirms a suggested theme,
removes a name from the words and the video, and renews a story whose consent review is due.
axe-core checks every page on the way (tests/e2e/quality.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from consent.models import Audience
from media_pipeline.synth import render_story
from tests.e2e.conftest import LiveSite, in_site, sign_in_with_keys
from tests.e2e.quality import Journey, Keyboard

pytestmark = pytest.mark.e2e

# Each step is a round trip to a site whose worker may be busy on the same 2 cores.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def named_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_story(
        tmp_path_factory.mktemp("e2e-curator") / "named.mp4",
        title="Asked",
        paragraphs=[
            "My name is Mary. The new social worker sat down with me and asked what mattered "
            "to me. She really listened, and wrote down what I said.",
        ],
    )


def review_due_soon(site: LiveSite) -> str:
    """A story shared a year ago whose consent review falls in ten days: on the reviews list."""
    from consent.policy import today
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.models import Role
    from tests.search_factory import make_story

    with in_site(site.env):
        teller = create_user("review-teller", "review-password-1", Role.STORYTELLER, "Ivy Hall")
        db.session.commit()
        story = make_story(
            teller,
            ["I have been going to the day centre for a year now."],
            title="A year at the day centre",
            audiences={Audience.TRAINING},
        )
        assert story.consent is not None
        story.consent.review_date = today() + timedelta(days=10)
        db.session.commit()
        return story.title


def test_curator_journey_with_the_keyboard_only(
    live_site: LiveSite, browser: Any, desktop: Any, shot: Any, named_story: Path
) -> None:
    due_title = review_due_soon(live_site)
    page, keys = desktop, Keyboard(desktop)
    journey = Journey(page, shot)
    sign_in_with_keys(journey, live_site, "e2e-curator")

    # Invite a storyteller: the link is shown once, with a code to scan.
    keys.go(page.get_by_role("link", name="Invitations"))
    journey.step("invitations")
    keys.go(page.get_by_role("link", name="Invite someone"))
    journey.step("invite-form")
    keys.type(page.get_by_label("Their name"), "Mary Evans")
    keys.select(page.get_by_label("They will be a"), "Storyteller")
    keys.go(page.get_by_role("button", name="Make the invitation link"))
    expect(
        page.get_by_role("heading", name=re.compile("invitation to storyhub for Mary"))
    ).to_be_visible()
    journey.step("invitation-link")
    link = page.locator(".invite-link a").inner_text()

    # The storyteller opens the link on her phone and makes her account, with the keys too.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    teller = phone.new_page()
    teller_journey, teller_keys = Journey(teller, shot), Keyboard(teller)
    teller.goto(link)
    teller_journey.step("join")
    teller_keys.type(teller.get_by_label("Choose a username"), "mary-evans")
    teller_keys.type(teller.get_by_label("Choose a password"), "lunch on tuesdays")
    teller_keys.type(teller.get_by_label("Type the password again"), "lunch on tuesdays")
    teller_keys.go(teller.get_by_role("button", name="Create my account"))
    expect(teller.get_by_text("Mary Evans").first).to_be_visible()
    teller_journey.step("joined")
    teller_journey.finish()
    phone.close()

    # The curator uploads Mary's story for her.
    keys.go(page.get_by_role("link", name="Share a story"))
    journey.step("upload-form")
    keys.select(page.get_by_label("Whose story is this?"), "Mary Evans (mary-evans)")
    keys.choose_file(page.get_by_label(re.compile("video or sound file")), named_story)
    keys.type(page.get_by_label(re.compile("title")), "Asked")
    keys.check(page.get_by_label("Yes, I agree to take part"))
    keys.go(page.get_by_role("button", name=re.compile("Upload")))
    expect(page.locator("progress#job-bar")).to_be_visible()
    journey.step("preparing")
    page.wait_for_selector(".processing", state="detached", timeout=120_000)
    expect(page.locator(".story-meta")).to_contain_text("told by Mary Evans")
    journey.step("ready")

    # Confirm a suggested theme: Tab to its "Yes" and press Y (the page does not reload).
    suggestion = page.locator("[data-suggestion]").first
    name = suggestion.locator(".theme-name").inner_text().split(":")[-1].strip()
    keys.press(suggestion.locator("[data-confirm]"), "y")
    expect(page.locator(".theme-confirmed", has_text=name)).to_contain_text("Confirmed by")
    journey.step("theme-confirmed")

    # Remove the teller's name from the words, the captions and the video.
    passage = page.locator(".passage").first
    said = re.search(r"name is (\w+)", passage.locator(".words").inner_text())
    assert said, "the transcript should hold the teller's name"
    keys.press(passage.get_by_text("Correct the words"))
    keys.type(passage.get_by_label("Remove a name or a place"), said.group(1))
    journey.step("removing-a-name")
    keys.go(passage.get_by_role("button", name="Remove it"))
    expect(page.locator(".passage").first.locator(".words")).not_to_contain_text(said.group(1))
    expect(page.locator(".passage .redacted").first).to_be_visible()
    journey.step("name-removed")
    # The video is made again with the name silent; its progress bar reloads the page.
    page.wait_for_selector(".processing", state="detached", timeout=120_000)
    captions = page.evaluate("() => fetch(document.querySelector('track').src).then(r => r.text())")
    assert said.group(1) not in captions and "[name removed]" in captions
    journey.step("video-updated")

    # Reviews due: renew the story whose time is nearly up; it leaves the list.
    keys.go(page.get_by_role("link", name="Reviews due"))
    expect(page.get_by_role("row", name=re.compile(due_title))).to_be_visible()
    journey.step("reviews-due")
    keys.go(page.get_by_role("link", name=due_title))
    journey.step("story-due-for-review")
    keys.go(page.get_by_role("button", name="Keep sharing for another 12 months"))
    journey.step("renewed")
    keys.go(page.get_by_role("link", name="Reviews due"))
    expect(page.get_by_role("link", name=due_title)).to_have_count(0)
    journey.step("reviews-after-renewal")
    journey.finish()
