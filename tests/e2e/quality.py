"""What every end-to-end journey checks on every page it visits, and how it drives the site with
the keyboard alone.

``Journey.step(name)`` is called after each thing a person does. It runs axe-core (Deque's
accessibility engine, from the axe-playwright-python wheel) on the page, checks that every video
on it carries captions, and saves a screenshot as a test artefact. ``Journey.finish()`` fails if
the page went anywhere that no step looked at, so a journey can't skip a page by accident.

``Keyboard`` does what a person without a mouse does: Tab until the control has the focus, then
Enter, Space, arrows or typing. A control that Tab never reaches fails the journey.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# axe's impact levels; the issue allows none of the two worst on any page.
BLOCKING_IMPACTS = {"serious", "critical"}
# More than any page of ours needs: a long transcript is a few dozen stops.
MAX_TABS = 400

_axe = Axe()


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    results = _axe.run(page).response
    found = []
    for violation in results["violations"]:
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def uncaptioned_media(page: Any) -> list[str]:
    """Every video or sound player on the page that has no captions, by its outer HTML. Captions
    are a track the browser knows of, from a <track> or added by the page's script."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('video, audio')]
                .filter(m => ![...m.textTracks].some(t => t.kind === 'captions'))
                .map(m => m.outerHTML.slice(0, 120))"""
        )
    )


class Journey:
    """One person's way through the site in one browser page: steps, checks and screenshots."""

    def __init__(self, page: Any, shot: Callable[[Any, str], None]) -> None:
        self.page = page
        self._shot = shot
        self.visited: list[str] = []
        self.checked: set[str] = set()
        self.steps = 0
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.visited.append(urldefrag(frame.url).url)

    def step(self, name: str) -> None:
        """After an action: the page has loaded, passes axe, captions its media; screenshot."""
        self.page.wait_for_load_state("load")
        problems = accessibility_violations(self.page)
        assert problems == [], f"axe on {self.page.url} ({name}): {problems}"
        assert uncaptioned_media(self.page) == [], f"a video without captions at {self.page.url}"
        self._shot(self.page, name)
        self.checked.add(urldefrag(self.page.url).url)
        self.steps += 1

    def finish(self) -> None:
        """Every page the journey went to was checked by a step."""
        unchecked = [u for u in self.visited if u not in self.checked and u != "about:blank"]
        assert unchecked == [], f"pages visited without a check: {unchecked}"
        assert self.steps > 0, "a journey with no steps checked nothing"


class Keyboard:
    """Drives a page with the keys alone."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def _has_focus(self, target: Any) -> bool:
        return bool(target.evaluate("el => el === document.activeElement"))

    def focus(self, target: Any) -> None:
        """Press Tab until ``target`` has the focus, as a keyboard user must."""
        target.wait_for(state="visible")
        for _ in range(MAX_TABS):
            if self._has_focus(target):
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {target}")

    def press(self, target: Any, key: str = "Enter") -> None:
        """Reach a link or button with Tab and press it (Enter), or another key."""
        self.focus(target)
        self.page.keyboard.press(key)

    def go(self, target: Any, key: str = "Enter", timeout: float = 60_000) -> None:
        """Press a link or a button that opens another page, and wait until that page has
        loaded (so a step never checks the page being left)."""
        self.focus(target)
        with self.page.expect_navigation(timeout=timeout):
            self.page.keyboard.press(key)

    def check(self, target: Any) -> None:
        """Tick a checkbox, or choose a radio button, with Space."""
        if target.get_attribute("type") == "radio":
            self._choose_radio(target)
        elif not target.is_checked():
            self.press(target, "Space")
        assert target.is_checked(), f"{target} is not ticked"

    def _choose_radio(self, target: Any) -> None:
        # Tab stops once in a group of radio buttons; the arrow keys then move the choice.
        name = target.get_attribute("name")
        group = self.page.locator(f'input[type=radio][name="{name}"]')
        for _ in range(MAX_TABS):
            if group.evaluate_all("els => els.includes(document.activeElement)"):
                break
            self.page.keyboard.press("Tab")
        else:
            raise AssertionError(f"Tab never reached the {name} choices")
        if self._has_focus(target) and not target.is_checked():
            self.page.keyboard.press("Space")
        for _ in range(group.count()):
            if target.is_checked():
                return
            self.page.keyboard.press("ArrowDown")
        assert target.is_checked(), f"the arrow keys never chose {target}"

    def type(self, target: Any, text: str, *, replace: bool = True) -> None:
        """Reach a text box with Tab and type into it (replacing what it held)."""
        self.focus(target)
        if replace:
            self.page.keyboard.press("ControlOrMeta+a")
            self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)

    def select(self, target: Any, label: str | None = None, *, value: str | None = None) -> None:
        """Reach a drop-down list with Tab and move through it with the arrow keys to the option
        with ``label`` (or ``value``)."""
        self.focus(target)
        if value is None:
            value = target.locator("option", has_text=label).first.get_attribute("value")
        step = "ArrowDown"
        values = target.locator("option").evaluate_all("os => os.map(o => o.value)")
        if values.index(value) < values.index(target.input_value()):
            step = "ArrowUp"
        for _ in values:
            if target.input_value() == value:
                return
            self.page.keyboard.press(step)
        assert target.input_value() == value, f"the arrow keys never chose {label or value!r}"

    def choose_file(self, target: Any, path: Path) -> None:
        """Reach a file input with Tab and open the file chooser with Space.

        Headless Chromium now and then drops the chooser a Space opens (one CI run in many, on a
        busy machine); a person would press Space again, and so does this, up to three times.
        """
        for attempt in range(3):
            self.focus(target)
            try:
                with self.page.expect_file_chooser(timeout=10_000) as chooser:
                    self.page.keyboard.press("Space")
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                continue
            chooser.value.set_files(str(path))
            return
