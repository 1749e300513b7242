"""The journeys' own checks (tests/e2e/quality.py) catch what they are there to catch, in the
same Chromium: a journey that passes them is proven to have met them, not merely run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import WELSH_BROWSER, WELSH_USERS, in_welsh, sign_in, welsh
from tests.e2e.quality import Journey, Keyboard, accessibility_violations, uncaptioned_media

pytestmark = pytest.mark.e2e

FLAWED = """<!doctype html><html lang="en"><head><title>Flawed</title></head><body><main>
<h1>Flawed</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<video src="data:video/mp4;base64,"></video>
<button type="button" tabindex="-1">Out of reach</button>
</main></body></html>"""

SOUND = """<!doctype html><html lang="en"><head><title>Fine</title></head><body><main>
<h1>Fine</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
<video src="data:video/mp4;base64,"><track kind="captions" src="data:text/vtt,WEBVTT" default>
</video>
<a href="#top">Back to the top</a>
</main></body></html>"""


def test_the_checks_fail_a_flawed_page_and_pass_a_sound_one(desktop: Any, shot: Any) -> None:
    page = desktop
    page.set_content(FLAWED)
    assert any(v.startswith("image-alt (critical)") for v in accessibility_violations(page))
    assert len(uncaptioned_media(page)) == 1
    with pytest.raises(AssertionError, match="axe on"):
        Journey(page, shot).step("flawed")
    with pytest.raises(AssertionError, match="Tab never reached"):
        Keyboard(page).focus(page.get_by_role("button", name="Out of reach"))

    page.set_content(SOUND)
    assert accessibility_violations(page) == []
    assert uncaptioned_media(page) == []
    Keyboard(page).focus(page.get_by_role("link", name="Back to the top"))
    Journey(page, shot).step("sound")


# The main pages a curator works in, and the pages everyone sees first.
MAIN_PAGES = ["/stories", "/stories/new", "/search?q=club", "/dashboard", "/showcases"]


def test_the_main_pages_pass_axe_in_welsh(live_site: Any, browser: Any, shot: Any) -> None:
    """The same checks as every journey's, on the main pages read in Welsh (``lang="cy"``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **WELSH_BROWSER)
    page = context.new_page()
    journey = Journey(page, shot)
    for path in ("/", "/login"):
        page.goto(live_site.url + path)
        journey.step(path.strip("/") or "home")
        in_welsh(page)
    sign_in(page, live_site, WELSH_USERS["curator"], words=welsh)
    page.wait_for_url(lambda url: "/login" not in url)
    journey.step("signed-in")
    in_welsh(page)
    for path in MAIN_PAGES:
        page.goto(live_site.url + path)
        journey.step(path.strip("/").split("?")[0].replace("/", "-"))
        in_welsh(page)
    journey.finish()
    context.close()
