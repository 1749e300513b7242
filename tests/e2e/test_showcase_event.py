"""A learning event in a real Chromium: a curator builds a showcase; a councillor presents it
from their account with the keyboard alone (journey 4, axe on every page); a guest opens it with
the event code, plays it with captions and the keyboard, and can reach nothing else; the code is
refused outside the event's window; the offline pack plays from a plain folder (file://)."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime, timedelta
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

# The slide's video plays, with its captions on screen (a cue shows once the speech starts).
PLAYING_WITH_CAPTIONS = (
    "() => { const v = document.querySelector('.slide-clip:not([hidden]) video');"
    " const t = v && v.textTracks[0];"
    " return v && !v.paused && t.mode === 'showing' && t.activeCues"
    " && t.activeCues.length > 0; }"
)


@pytest.fixture(scope="module")
def council_stories(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("e2e-showcase")
    texts = {
        "home.mp4": [
            "My name is Peter. After my fall I wanted to go home, and everyone said no.",
            "The social worker asked me what mattered. We made a plan together, and I went home.",
        ],
        "choir.mp4": [
            "I am a carer for my mother. I had not sung for years.",
            "Now we go to the choir on Thursdays, both of us, and she smiles all the way home.",
        ],
    }
    return [render_story(folder / name, title=name, paragraphs=p) for name, p in texts.items()]


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_a_member_and_a_guest_present_a_showcase_with_the_keyboard(
    live_site: LiveSite,
    browser: Any,
    desktop: Any,
    shot: Any,
    council_stories: list[Path],
    tmp_path: Path,
) -> None:
    curator = desktop
    sign_in(curator, live_site, "e2e-curator")
    for path, title in zip(council_stories, ("Going home", "The choir"), strict=True):
        upload_and_wait(curator, live_site, path, title)
        share_through_wizard(curator, "Learning events:", "learning events")

    # Build the showcase for an event that is on now.
    now = datetime.now(UTC)
    curator.goto(live_site.url + "/showcases")
    curator.get_by_label("Title").fill("Council learning day")
    curator.get_by_label("Place").fill("Town hall")
    curator.get_by_label("From").fill(_minute(now - timedelta(hours=1)))
    curator.get_by_label("Until").fill(_minute(now + timedelta(hours=2)))
    curator.get_by_role("button", name="Make the showcase").click()
    for title in ("Going home", "The choir"):
        curator.get_by_role("button", name=f"Add “{title}”").click()
    curator.get_by_role("button", name="Make a new event code").click()
    message = curator.locator(".flash", has_text="The event code is").inner_text()
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", message).group(0)  # type: ignore[union-attr]
    edit_url = curator.url
    # Members see it in their own account too.
    curator.get_by_label("e2e-member").check()
    curator.get_by_role("button", name="Save sharing").click()
    expect(curator.get_by_label("e2e-member")).to_be_checked()
    shot(curator, "builder")

    # Journey 4: a councillor signs in and presents it with the keyboard alone.
    member_context = browser.new_context(viewport={"width": 1280, "height": 800})
    member = member_context.new_page()
    journey, keys = Journey(member, shot), Keyboard(member)
    sign_in_with_keys(journey, live_site, "e2e-member")
    keys.go(member.get_by_role("link", name="Showcases"))
    journey.step("member-showcases")
    keys.go(member.get_by_role("link", name="Watch “Council learning day”"))
    expect(member.locator("[data-position]")).to_have_text("1 of 4")
    journey.step("member-presenting-title")
    member.keyboard.press("ArrowRight")
    story = member.locator(".slide-clip:not([hidden])")
    expect(story).to_contain_text("Going home")
    # Playback really starting (not opening the page) records the use, by a POST with the token.
    with member.expect_response(
        lambda r: r.url.endswith("/played") and r.request.method == "POST"
    ) as played:
        member.keyboard.press("Space")
    assert played.value.status == 204
    member.wait_for_function(PLAYING_WITH_CAPTIONS)
    journey.step("member-playing-with-captions")
    member.keyboard.press("Space")  # pause
    member.wait_for_function(
        "() => document.querySelector('.slide-clip:not([hidden]) video').paused"
    )
    member.keyboard.press("PageDown")
    expect(member.locator(".slide-clip:not([hidden])")).to_contain_text("The choir")
    member.keyboard.press("ArrowLeft")
    expect(member.locator(".slide-clip:not([hidden])")).to_contain_text("Going home")
    member.keyboard.press("End")
    expect(member.locator("[data-position]")).to_have_text("4 of 4")
    journey.step("member-at-the-end")
    journey.finish()
    member_context.close()

    # A guest, with no account, opens it with the code and presents it with the keyboard.
    guest_context = browser.new_context(viewport={"width": 1280, "height": 800})
    guest = guest_context.new_page()
    guest.goto(live_site.url + "/event")
    guest.get_by_label("Event code").fill(code.lower())
    guest.get_by_role("button", name="Open the showcase").click()
    expect(guest.locator("[data-position]")).to_have_text("1 of 4")
    guest.keyboard.press("ArrowRight")
    first = guest.locator(".slide-clip").first
    expect(first).to_contain_text("Going home")
    expect(first).to_contain_text("Shared by its storyteller for: learning events")
    guest.keyboard.press("Space")
    guest.wait_for_function(PLAYING_WITH_CAPTIONS)
    shot(guest, "presenting")
    guest.keyboard.press("PageDown")
    expect(guest.locator(".slide-clip:not([hidden])")).to_contain_text("The choir")

    # Nothing else: the archive asks for a sign-in.
    for path in ("/stories", "/search", "/sessions", "/showcases"):
        guest.goto(live_site.url + path)
        expect(guest).to_have_url(re.compile(r".*/login.*"))

    # Outside the window the same code is refused.
    curator.goto(edit_url)
    curator.get_by_label("From").fill(_minute(now - timedelta(hours=3)))
    curator.get_by_label("Until").fill(_minute(now - timedelta(hours=2)))
    curator.locator("form", has=curator.get_by_label("Until")).get_by_role(
        "button", name="Save"
    ).click()
    late = browser.new_context().new_page()
    late.goto(live_site.url + "/event")
    late.get_by_label("Event code").fill(code)
    late.get_by_role("button", name="Open the showcase").click()
    expect(late.get_by_role("alert")).to_contain_text("Codes work only during their event")

    # The offline pack plays from a plain folder, with captions.
    curator.goto(edit_url)
    curator.get_by_role("button", name="Make an offline pack").click()
    download_link = curator.get_by_role("link", name=re.compile("Download the pack"))
    expect(download_link).to_be_visible(timeout=120_000)
    with curator.expect_download() as download:
        download_link.click()
    archive = tmp_path / "pack.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as packed:
        packed.extractall(tmp_path / "usb")
    offline = browser.new_context().new_page()
    offline.goto((tmp_path / "usb" / "showcase" / "index.html").as_uri())
    offline.keyboard.press("ArrowRight")
    offline.keyboard.press("Space")
    offline.wait_for_function(
        "() => { const v = document.querySelector('section:not([hidden]) video');"
        " return v && v.currentTime > 1 && v.textTracks[0].activeCues.length > 0; }"
    )
    assert offline.evaluate("document.querySelector('video').textTracks[0].mode") == "showing"
    shot(offline, "offline-pack")
    guest_context.close()
