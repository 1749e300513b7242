"""The outcomes dashboard: what it counts, what it hides, and whose passages it opens.

The stories are real rows with real consent versions and confirmed themes (tests/search_factory);
the expected numbers are worked out here from how each story was made, not from the code under
test.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.models import Audience
from consent.policy import counted_in_statistics, counted_stories
from consent.services import withdraw
from storyhub.dashboard import services
from storyhub.dashboard.slices import BadSlice, Slice, month_number
from storyhub.dashboard.suppression import Tally, protect
from storyhub.extensions import db
from storyhub.models import Language, Role, ServiceSetting, Story, TellerKind, User
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind, Valence
from tests.conftest import login
from tests.search_factory import make_story

STATS = {Audience.STATISTICS}
TEXT = "We talked about the garden and the bus into town and who came to visit on Sundays"


def story_with(
    teller: User,
    themes: dict[int, list[str]],
    *,
    audiences: set[Audience] | None = STATS,
    valences: dict[tuple[int, str], Valence] | None = None,
    title: str = "A story",
    **facts: Any,
) -> Story:
    """A released story with one passage per position used in ``themes``, all confirmed."""
    count = max(themes, default=0) + 1
    story = make_story(
        teller,
        [f"{TEXT} ({title} part {i})" for i in range(count)],
        title=title,
        audiences=audiences,
        themes=themes,
        **facts,
    )
    for (position, key), valence in (valences or {}).items():
        for tag in story.passages[position].themes:
            if tag.subtheme.key == key:
                tag.valence = valence
    db.session.commit()
    return story


def cell(board: services.Dashboard, table: str, row: str, column: str | None) -> int | None:
    """The number shown in ``table`` at ``row`` (a label) and ``column`` (a label, None: all)."""
    found = services_table_row(board.tables[table], row)
    if column is None:
        return found.total.count.passages
    labels = [c.label for c in board.tables[table].columns]
    return found.cells[labels.index(column)].count.passages


def services_table_row(table: services.Table, label: str) -> services.Row:
    for row in [*table.rows, table.totals]:
        if row.label == label:
            return row
    raise AssertionError(f"no row {label!r} in {table.key}")


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, "teller")


def label_of(key: str) -> str:
    return db.session.scalar(select(Subtheme.label).where(Subtheme.key == key)) or key


# -- what is counted ---------------------------------------------------------------------------


def test_counts_are_the_confirmed_themes_of_consented_stories_only(
    app: Flask, teller: User
) -> None:
    counted = story_with(
        teller,
        {0: ["feeling-safe"], 1: ["feeling-safe", "listened-to"], 2: ["skills"]},
        valences={(0, "feeling-safe"): Valence.POSITIVE, (1, "listened-to"): Valence.NEGATIVE},
        setting=ServiceSetting.HOME_CARE,
        teller_kind=TellerKind.CARER,
        created=date(2025, 2, 10),
        title="Counted",
    )
    also = story_with(
        teller,
        {0: ["feeling-safe"]},
        audiences={Audience.STATISTICS, Audience.TRAINING},
        setting=ServiceSetting.CARE_HOME,
        language=Language.WELSH,
        created=date(2025, 5, 1),
        title="Also counted",
    )
    # Suggested and rejected themes are not counted.
    counted.passages[2].themes.append(
        PassageTheme(subtheme=db.session.scalar(select(Subtheme).filter_by(key="mobility")))
    )
    rejected = PassageTheme(
        subtheme=db.session.scalar(select(Subtheme).filter_by(key="reliability")),
        status=TagStatus.REJECTED,
    )
    counted.passages[0].themes.append(rejected)
    # Not counted: no statistics, withdrawn, expired, never released.
    story_with(teller, {0: ["feeling-safe"]}, audiences={Audience.TRAINING}, title="Training")
    gone = story_with(teller, {0: ["feeling-safe"]}, title="Withdrawn")
    withdraw(gone, teller)
    expired = story_with(teller, {0: ["feeling-safe"]}, title="Expired")
    assert expired.consent is not None
    expired.consent.review_date = date.today() - timedelta(days=1)
    story_with(teller, {0: ["feeling-safe"]}, audiences=None, title="Not released")
    db.session.commit()

    board = services.dashboard(Slice(), limit=1)  # no suppression: the true numbers

    assert board.total.passages == 5 and board.total.stories == 2
    assert cell(board, "themes", label_of("feeling-safe"), None) == 3
    assert cell(board, "themes", label_of("feeling-safe"), "Good experience") == 1
    assert cell(board, "themes", label_of("feeling-safe"), "Not marked") == 2
    assert cell(board, "themes", label_of("listened-to"), "Bad experience") == 1
    assert cell(board, "themes", label_of("mobility"), None) is None or (
        cell(board, "themes", label_of("mobility"), None) == 0
    )
    assert cell(board, "themes", label_of("reliability"), None) in (None, 0)
    assert cell(board, "themes", "Quality of life", None) == 3
    assert cell(board, "themes", "Process", None) == 1
    assert cell(board, "themes", "Change", None) == 1
    assert cell(board, "setting", label_of("feeling-safe"), "Support at home") == 2
    assert cell(board, "setting", label_of("feeling-safe"), "Care home") == 1
    assert cell(board, "teller", "Quality of life", "An unpaid carer") == 2
    assert cell(board, "language", "All outcomes", "Cymraeg (Welsh)") == 1
    assert [c.label for c in board.tables["time"].columns] == [
        "Jan\N{EN DASH}Mar 2025",
        "Apr\N{EN DASH}Jun 2025",
    ]
    assert cell(board, "time", "All outcomes", "Jan\N{EN DASH}Mar 2025") == 4
    assert cell(board, "time", "All outcomes", "Apr\N{EN DASH}Jun 2025") == 1
    assert {counted.id, also.id} == set(
        db.session.scalars(select(Story.id).where(counted_stories()))
    )


def test_the_sql_rule_and_the_story_rule_agree(app: Flask, teller: User) -> None:
    stories = [
        story_with(teller, {0: ["skills"]}, audiences=audiences, title=str(i))
        for i, audiences in enumerate([STATS, {Audience.TRAINING}, None, STATS, STATS])
    ]
    withdraw(stories[3], teller)
    assert stories[4].consent is not None
    stories[4].consent.review_date = date.today() - timedelta(days=3)
    db.session.commit()
    by_sql = set(db.session.scalars(select(Story.id).where(counted_stories())))
    assert by_sql == {s.id for s in stories if counted_in_statistics(s)} == {stories[0].id}


KEYS = {
    ThemeKind.MAINTENANCE: ["feeling-safe", "seeing-people", "things-to-do"],
    ThemeKind.PROCESS: ["listened-to", "reliability"],
    ThemeKind.CHANGE: ["skills", "mobility"],
}


def random_archive(teller: User, rng: random.Random, stories: int) -> list[dict[str, Any]]:
    """Stories with random facts, consent and themes; returns the tags that must be counted."""
    expected: list[dict[str, Any]] = []
    all_keys = [k for keys in KEYS.values() for k in keys]
    kind_of = {k: kind for kind, keys in KEYS.items() for k in keys}
    for n in range(stories):
        fate = rng.choice(["counted", "counted", "counted", "training", "withdrawn", "expired"])
        audiences = {Audience.TRAINING} if fate == "training" else STATS
        facts = {
            "setting": rng.choice(list(ServiceSetting)[:4]),
            "teller_kind": rng.choice(list(TellerKind)),
            "language": rng.choice(list(Language)),
            "created": date(2024, 1, 1) + timedelta(days=rng.randrange(540)),
        }
        themes = {p: rng.sample(all_keys, rng.randint(1, 2)) for p in range(rng.randint(1, 4))}
        valences = {
            (p, k): rng.choice(list(Valence)) for p, keys in themes.items() for k in keys
            if rng.random() < 0.5
        }  # fmt: skip
        story = story_with(
            teller, themes, audiences=audiences, valences=valences, title=f"S{n}", **facts
        )
        if fate == "withdrawn":
            withdraw(story, teller)
        elif fate == "expired":
            assert story.consent is not None
            story.consent.review_date = date.today() - timedelta(days=1)
        if fate != "counted":
            continue
        for p, keys in themes.items():
            for k in keys:
                valence = valences.get((p, k))
                expected.append(
                    {
                        "story": story.id,
                        "subtheme": k,
                        "kind": kind_of[k],
                        "valence": valence.value if valence else "unmarked",
                        "quarter": month_number(facts["created"]) // 3,
                        **facts,
                    }
                )
    db.session.commit()
    return expected


def test_every_cell_of_every_table_matches_a_count_made_here(app: Flask, teller: User) -> None:
    expected = random_archive(teller, random.Random(5), 40)
    board = services.dashboard(Slice(), limit=1)
    labels = {s.key: s.label for s in services.taxonomy()}
    by_kind = Counter((t["kind"].label, t["setting"].label) for t in expected)
    by_sub = Counter((labels[t["subtheme"]], t["setting"].label) for t in expected)
    for (row, column), n in [*by_kind.items(), *by_sub.items()]:
        assert cell(board, "setting", row, column) == n, (row, column)
    for (row, column), n in Counter(
        (t["kind"].label, t["teller_kind"].label) for t in expected
    ).items():
        assert cell(board, "teller", row, column) == n
    for (row, column), n in Counter(
        (labels[t["subtheme"]], t["valence"]) for t in expected
    ).items():
        label = {"positive": "Good experience", "negative": "Bad experience",
                 "mixed": "Mixed", "unmarked": "Not marked"}[column]  # fmt: skip
        assert cell(board, "themes", row, label) == n
    quarters = Counter(t["quarter"] for t in expected)
    time_cells = board.tables["time"].totals.cells[:-1]
    periods = [p.first // 3 for p in board.periods]
    shown = dict(zip(periods, (c.count.passages for c in time_cells), strict=True))
    assert {q: n for q, n in shown.items() if n} == dict(quarters)
    assert board.total.passages == len(expected)
    assert board.total.stories == len({t["story"] for t in expected})
    # A filter counts the same tags as filtering here (one split at a time: see slices.py).
    narrowed = services.dashboard(Slice(setting=ServiceSetting.HOME_CARE), 1)
    home = [t for t in expected if t["setting"] == ServiceSetting.HOME_CARE]
    assert narrowed.total.passages == len(home)
    unmarked = services_table_row(narrowed.tables["themes"], "All outcomes").cells[3]
    assert unmarked.count.passages == sum(1 for t in home if t["valence"] == "unmarked")


# -- small-number suppression -----------------------------------------------------------------


def test_primary_and_secondary_suppression() -> None:
    tallies = {"a": Tally(9, 6), "b": Tally(3, 3), "total": Tally(12, 9)}
    shown = protect(tallies, [("total", ["a", "b"])], 5)
    # b is under 5, and a would give it away (12 - 9): both are hidden, the total is not.
    assert shown["b"].hidden and shown["a"].hidden and shown["total"].passages == 12
    # A hidden zero needs no cover: nobody can be picked out of nobody.
    shown = protect(
        {"a": Tally(12, 6), "b": Tally(0, 0), "t": Tally(12, 6)}, [("t", ["a", "b"])], 5
    )
    assert not shown["a"].hidden and shown["b"].hidden and shown["b"].text == "fewer than 5"
    # Many passages from few stories describe few people: hidden too.
    assert protect({"a": Tally(40, 2)}, [], 5)["a"].hidden
    # A hidden total is not left to be worked out from its shown parts.
    shown = protect({"p": Tally(6, 5), "q": Tally(7, 5), "t": Tally(13, 4)}, [("t", ["p", "q"])], 5)
    assert shown["t"].hidden and (shown["p"].hidden or shown["q"].hidden)
    # A hidden count carries no number at all, only the words.
    assert shown["t"].passages is None and shown["t"].stories is None


def hidden_parts_exposed(board: services.Dashboard, truth: services.Dashboard) -> list[str]:
    """Table lines where exactly one non-zero hidden number could be worked out by subtraction."""
    problems = []
    for key, table in board.tables.items():
        true_table = truth.tables[key]
        lines = list(
            zip([*table.rows, table.totals], [*true_table.rows, true_table.totals], strict=True)
        )
        for row, true_row in lines:  # along each row: its cells add up to its total
            unknown = [
                i for i, c in enumerate(row.cells)
                if c.count.hidden and (true_row.cells[i].count.passages or 0) > 0
            ]  # fmt: skip
            if len(unknown) == 1:
                problems.append(f"{key}: {row.label}")
    return problems


def test_suppression_applies_to_every_count_on_the_page_and_in_the_csv(
    app: Flask, teller: User, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    random_archive(teller, random.Random(11), 30)
    board, truth = services.dashboard(Slice(), 5), services.dashboard(Slice(), 1)
    true_counts = [c.count for t in truth.tables.values() for c in t.cells]
    assert any(0 < (c.passages or 0) < 5 for c in true_counts), "the data must have small cells"
    for table in board.tables.values():
        for shown in table.cells:
            assert shown.count.hidden or (shown.count.passages or 0) >= 5
            assert shown.count.hidden or (shown.count.stories or 0) >= 5
    assert hidden_parts_exposed(board, truth) == []

    client, _ = login_as(Role.MEMBER)
    page = client.get("/dashboard").get_data(as_text=True)
    shown_numbers = re.findall(r'<a class="count(?: count-hidden)?" href="[^"]*">([^<]*)<', page)
    assert shown_numbers, "the page shows counts"
    for text in shown_numbers:
        assert text == "fewer than 5" or int(text.replace(",", "")) >= 5, text
    for text in re.findall(r'aria-label="[^"]*: ([^"]*) passages"', page):
        assert text == "fewer than 5" or int(text.replace(",", "")) >= 5, text
    for text in re.findall(r'class="bar-value"[^>]*>([^<]*)<', page):
        assert text == "&lt;5" or int(text.replace(",", "")) >= 5, text
    headline = re.findall(r'class="headline-number">([^<]*)<', page)
    assert len(headline) == 2
    assert all(t == "fewer than 5" or int(t.replace(",", "")) >= 5 for t in headline)

    exported = client.get("/dashboard/outcomes.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) > 50
    for row in rows:
        for column in ("passages", "stories"):
            assert row[column] == "fewer than 5" or int(row[column]) >= 5, row
    # Counts only: no story's title or words.
    assert "S1" not in {r["outcome"] for r in rows} and TEXT not in exported.get_data(as_text=True)


def test_the_threshold_is_a_setting(
    app: Flask, teller: User, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    app.config["DASHBOARD_MIN_COUNT"] = 3
    for n in range(3):
        story_with(teller, {0: ["skills"]}, title=f"T{n}")
    client, _ = login_as(Role.CURATOR)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "fewer than 3" in page and "fewer than 5" not in page
    assert re.search(r'class="headline-number">3<', page)


# -- the passages behind a count ---------------------------------------------------------------


def test_a_drill_down_never_shows_a_passage_the_viewer_may_not_see(
    app: Flask, teller: User, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    for_training = story_with(teller, {0: ["feeling-safe"]}, title="Shared for training",
                              audiences={Audience.STATISTICS, Audience.TRAINING})  # fmt: skip
    for_events = story_with(teller, {0: ["feeling-safe"]}, title="Shared for events",
                            audiences={Audience.STATISTICS, Audience.LEARNING_EVENTS})  # fmt: skip
    stats_only = story_with(teller, {0: ["feeling-safe"]}, title="Statistics only")
    not_counted = story_with(teller, {0: ["feeling-safe"]}, title="Training, no statistics",
                             audiences={Audience.TRAINING})  # fmt: skip
    withdrawn = story_with(teller, {0: ["feeling-safe"]}, title="Withdrawn later",
                           audiences={Audience.STATISTICS, Audience.TRAINING})  # fmt: skip
    withdraw(withdrawn, teller)
    db.session.commit()
    titles = {s.title for s in (for_training, for_events, stats_only, not_counted, withdrawn)}
    url = "/dashboard/passages?subtheme=feeling-safe"

    def listed(role: Role) -> set[str]:
        client, _ = login_as(role)
        response = client.get(url)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return {t for t in titles if f">{t}</a>" in page}

    assert listed(Role.TRAINER) == {"Shared for training"}
    assert listed(Role.MEMBER) == {"Shared for events"}
    assert listed(Role.CURATOR) == {"Shared for training", "Shared for events", "Statistics only"}
    assert listed(Role.ADMIN) == listed(Role.CURATOR)

    # A member whom no teller shares anything with sees the count only.
    client, _ = login_as(Role.MEMBER)
    page = client.get("/dashboard/passages?subtheme=feeling-safe&setting=home_care")
    assert "You can see the count only" in page.get_data(as_text=True)


def test_every_number_links_to_exactly_the_passages_it_counts(
    app: Flask, teller: User, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    random_archive(teller, random.Random(3), 25)
    board = services.dashboard(Slice(), 1)
    client, curator = login_as(Role.CURATOR)
    checked = 0
    for table in board.tables.values():
        for shown in table.cells[:: max(1, len(table.cells) // 12)]:
            behind = services.passages_behind(
                curator, Slice.parse(shown.link, services.subtheme_kinds()), 1
            )
            listed = len(behind.items) + (100 if behind.more else 0)
            if (shown.count.passages or 0) <= services.PER_PAGE:
                assert listed == (shown.count.passages or 0), (table.key, shown.link)
                checked += 1
    assert checked > 20
    # And the link on the page opens that list.
    page = client.get("/dashboard").get_data(as_text=True)
    first = re.search(r'href="(/dashboard/passages\?[^"]+)"', page)
    assert first and client.get(first.group(1).replace("&amp;", "&")).status_code == 200


# -- who may see it, and bad input -------------------------------------------------------------


def test_who_may_see_the_dashboard(
    app: Flask,
    client: FlaskClient,
    teller: User,
    login_as: Callable[[Role], tuple[FlaskClient, User]],
) -> None:
    for path in (
        "/dashboard",
        "/dashboard/passages",
        "/dashboard/outcomes.csv",
        "/dashboard/print",
    ):
        assert client.get(path).status_code == 302  # sign in first
    login(client, teller.username)
    for path in (
        "/dashboard",
        "/dashboard/passages",
        "/dashboard/outcomes.csv",
        "/dashboard/print",
    ):
        assert client.get(path).status_code == 403
    for role in (Role.TRAINER, Role.MEMBER, Role.CURATOR, Role.ADMIN):
        signed_in, _ = login_as(role)
        assert signed_in.get("/dashboard").status_code == 200
        page = signed_in.get("/dashboard/print")
        assert page.status_code == 200 and "data-print" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "kind=feelings",
        "subtheme=not-a-theme",
        "teller=robot",
        "setting=%3Cscript%3E",
        "language=fr",
        "valence=great",
        "from=2025-13",
        "to=yesterday",
        "from=2025-06&to=2025-01",
        "by=week",
        "kind=change&subtheme=feeling-safe",
    ],
)
def test_forged_filters_get_a_plain_answer(
    app: Flask, query: str, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    client, _ = login_as(Role.CURATOR)
    for path in (
        "/dashboard",
        "/dashboard/passages",
        "/dashboard/outcomes.csv",
        "/dashboard/print",
    ):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        page = response.get_data(as_text=True)
        assert "We couldn" in page and "<script>" not in page


def test_forged_page_numbers(
    app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    client, _ = login_as(Role.TRAINER)
    for page in ("0", "-1", "x", "99999999999999999999"):
        assert client.get(f"/dashboard/passages?page={page}").status_code == 400


def test_slices_round_trip_through_their_urls(app: Flask) -> None:
    kinds = services.subtheme_kinds()
    chosen = Slice(
        kind=ThemeKind.CHANGE, subtheme="skills", teller=TellerKind.CARER,
        setting=ServiceSetting.HOSPITAL, language=Language.WELSH, valence="unmarked",
        start=month_number(date(2025, 1, 1)), end=month_number(date(2025, 3, 1)), by="year",
    )  # fmt: skip
    assert Slice.parse(chosen.args(), kinds) == chosen
    # A whole year is written as one.
    year = Slice(start=month_number(date(2025, 1, 1)), end=month_number(date(2025, 12, 1)))
    assert year.args() == {"year": "2025"} and Slice.parse(year.args(), kinds, True) == year
    assert Slice.parse({}, kinds) == Slice()
    with pytest.raises(BadSlice):
        Slice.parse({"subtheme": "skills", "kind": "process"}, kinds)


def test_an_empty_archive_says_so(
    app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    client, _ = login_as(Role.MEMBER)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Nothing to count yet" in page.get_data(as_text=True)


# -- the JSON API ------------------------------------------------------------------------------


def test_the_api_gives_the_same_suppressed_counts_and_the_same_passages(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    from storyhub.auth.services import issue_api_token

    random_archive(teller, random.Random(11), 30)
    story_with(teller, {0: ["feeling-safe"]}, title="Statistics only")
    client = app.test_client()

    def headers(role: Role) -> dict[str, str]:
        token = issue_api_token(make_user(role), "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    member = headers(Role.MEMBER)
    body = client.get("/api/v1/outcomes", headers=member).get_json()
    assert body["threshold"] == 5
    rows = [r for t in body["tables"] for r in [*t["rows"], t["totals"]]]
    cells = [c for r in rows for c in [*r["cells"], r["total"]]]
    assert any(c["passages"] is None for c in cells) and any(c["passages"] for c in cells)
    for c in cells:
        assert (c["passages"] is None and c["text"] == "fewer than 5") or c["passages"] >= 5
    board = services.dashboard(Slice(), 5)
    assert body["total"]["passages"] == board.total.passages

    # The passages behind a count: only those shared with the caller.
    found = client.get("/api/v1/outcomes/passages?subtheme=feeling-safe", headers=member)
    titles = {p["story_title"] for p in found.get_json()["passages"]}
    assert "Statistics only" not in titles and found.get_json()["limited"] is True
    admin = client.get(
        "/api/v1/outcomes/passages?subtheme=feeling-safe", headers=headers(Role.ADMIN)
    )
    assert "Statistics only" in {p["story_title"] for p in admin.get_json()["passages"]}

    # Refusals.
    assert client.get("/api/v1/outcomes").status_code == 401
    assert client.get("/api/v1/outcomes", headers=headers(Role.STORYTELLER)).status_code == 403
    bad = client.get("/api/v1/outcomes?setting=moon", headers=member)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_filter"
    assert client.get("/api/v1/outcomes/passages?page=0", headers=member).status_code == 400


def test_the_csv_never_carries_a_formula(
    app: Flask, teller: User, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    sub = db.session.scalar(select(Subtheme).filter_by(key="skills"))
    assert sub is not None
    sub.label = '=HYPERLINK("http://evil.example","Skills")'
    db.session.commit()
    client, _ = login_as(Role.CURATOR)
    rows = list(
        csv.reader(io.StringIO(client.get("/dashboard/outcomes.csv").get_data(as_text=True)))
    )
    labels = {row[1] for row in rows}
    assert "'" + sub.label in labels and sub.label not in labels
