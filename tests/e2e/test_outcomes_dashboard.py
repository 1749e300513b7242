"""A councillor reads the outcomes dashboard in a real Chromium, with the keyboard only: reaches
a bar of the chart, opens the passages behind it, and finds only the stories shared with them;
then downloads the numbers and prints the page.

The site is its own (the dashboard counts everything in its database). Its stories are written
as processing and curators would leave them (tests/search_factory), because counting starts
where transcription and theme confirmation end; those are tested with real Whisper elsewhere.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from consent.models import Audience
from storyhub.models import Role, ServiceSetting
from tests.e2e.conftest import ARTIFACTS, E2E_PASSWORD, LiveSite, in_site, sign_in
from tests.e2e.quality import Journey
from tests.live_site import flask, running_site, site_env

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20_000)

EVENTS = {Audience.STATISTICS, Audience.LEARNING_EVENTS}


def seed(env: dict[str, str]) -> None:
    """Six stories shared for events and statistics, three for statistics only."""
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from tests.search_factory import make_story

    with in_site(env):
        teller = create_user("dash-teller", E2E_PASSWORD, Role.STORYTELLER)
        db.session.commit()
        for n in range(9):
            make_story(
                teller,
                [f"Story {n}: the carers came on time and I felt safe in my own home."],
                title=f"{'Shared' if n < 6 else 'Counted only'} {n}",
                audiences=EVENTS if n < 6 else {Audience.STATISTICS},
                setting=ServiceSetting.HOME_CARE,
                created=date(2026, 1 + n % 3, 10),
                themes={0: ["feeling-safe"]},
            )


@pytest.fixture(scope="module")
def dashboard_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    env = site_env(tmp_path_factory.mktemp("e2e-dashboard"))
    with running_site(env) as url:
        flask(env, "users", "create", "--role", "member", "--username", "e2e-member",
              "--password", E2E_PASSWORD)  # fmt: skip
        seed(env)
        yield LiveSite(url, env)


def test_a_member_reads_the_dashboard_with_the_keyboard(
    dashboard_site: LiveSite, desktop: Any, shot: Any
) -> None:
    page = desktop
    journey = Journey(page, shot)  # axe-core on every page (tests/e2e/quality.py)
    sign_in(page, dashboard_site, "e2e-member", journey)
    page.get_by_role("link", name="Outcomes").click()
    expect(page.locator(".headline")).to_contain_text("9 passages with confirmed outcomes")
    journey.step("dashboard")
    # The whole quarter has 9; months are never counted on their own (they could be
    # subtracted from quarters). By year: 9 for 2026, and the kinds nobody spoke of are hidden.
    expect(page.locator("#time-table")).to_contain_text("9")
    page.get_by_label("Show time").select_option("year")
    page.get_by_role("button", name="Show these counts").click()
    expect(page.locator("#time-table")).to_contain_text("fewer than 5")
    journey.step("dashboard-by-year")

    # Keyboard only: Tab until a bar of the outcomes chart has focus, then Enter.
    page.goto(dashboard_site.url + "/dashboard")
    page.wait_for_load_state("load")
    for _ in range(80):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => document.activeElement.closest('svg.chart-themes a') ? "
            "document.activeElement.getAttribute('aria-label') : null"
        )
        if label and label.startswith("Feeling safe"):
            break
    else:
        pytest.fail("no bar of the chart could be reached with Tab")
    assert label == "Feeling safe: 9 passages"
    shot(page, "bar-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard/passages\?"))
    listed = page.locator(".behind-title")
    expect(listed).to_have_count(6)
    for title in listed.all_inner_texts():
        assert title.startswith("Shared"), title  # never a story not shared with members
    expect(page.locator("main")).to_contain_text("counted, never shown")
    journey.step("passages-behind")

    # The numbers as CSV: counts only, suppression applied.
    page.goto(dashboard_site.url + "/dashboard")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the numbers (CSV)").click()
    path = download_info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert {"table", "outcome", "column", "passages", "stories"} <= set(rows[0])
    assert all(r["passages"] == "fewer than 5" or int(r["passages"]) >= 5 for r in rows)
    assert "the carers came on time" not in Path(path).read_text(encoding="utf-8")

    # The printable page prints: no site navigation, the tables kept.
    page.get_by_role("link", name="Printable page").click()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_visible()
    journey.step("printable-on-screen")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    folder = ARTIFACTS / "test_a_member_reads_the_dashboard_with_the_keyboard"
    pdf = page.pdf(path=str(folder / "outcomes.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
    shot(page, "printable")
    journey.finish()
