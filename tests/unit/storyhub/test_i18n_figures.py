"""The outcomes dashboard, the agreement pages and the coding export, in Welsh.

Expected Welsh is looked up through the catalogue (``force_locale("cy")``), so these tests stay
true when the wording changes; each also checks one Welsh word written here, so an untranslated
catalogue (English looked up as English) can't pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, get_locale, gettext, ngettext, refresh
from werkzeug.datastructures import MultiDict

from consent.models import Audience
from storyhub.agreement import services as agreement
from storyhub.agreement.forms import settle_form
from storyhub.dashboard.forms import SliceForm
from storyhub.dashboard.slices import Period
from storyhub.models import Role, User, utcnow
from storyhub.qda.routes import _import_message
from tests.search_factory import make_story

WELSH = {"Accept-Language": "cy"}


def read_in(language: str) -> None:
    """Forget the language chosen earlier: the tests' app context outlives a request's."""
    refresh()
    assert str(get_locale()) == language


def in_welsh(client: FlaskClient) -> FlaskClient:
    """The person chooses Cymraeg (signing in kept the language they were reading in)."""
    client.get("/language/cy")
    return client


def welsh(message: str, **values: object) -> str:
    with force_locale("cy"):
        return gettext(message, **values)


def test_the_dashboard_in_welsh_hides_small_numbers_in_welsh(
    app: Flask,
    make_user: Callable[..., User],
    login_as: Callable[[Role], tuple[FlaskClient, User]],
) -> None:
    teller = make_user(Role.STORYTELLER, "teller")
    make_story(teller, ["We talked about the bus."], audiences={Audience.STATISTICS},
               themes={0: ["feeling-safe"]})  # fmt: skip
    client, _ = login_as(Role.MEMBER)
    page = in_welsh(client).get("/dashboard").get_data(as_text=True)
    assert 'lang="cy"' in page
    assert f"<h1>{welsh('Outcomes')}</h1>" in page and "<h1>Canlyniadau</h1>" in page
    # One story: every number is hidden, and says so in Welsh.
    assert welsh("fewer than %(threshold)d", threshold=5) in page and "llai na 5" in page
    assert "fewer than" not in page
    assert welsh("Bar chart of passages for each outcome, under its kind. The same numbers are "
                 "in the table below.") in page  # fmt: skip


def test_the_csv_headers_are_in_the_language_of_whoever_downloads_it(
    app: Flask,
    make_user: Callable[..., User],
    login_as: Callable[[Role], tuple[FlaskClient, User]],
) -> None:
    teller = make_user(Role.STORYTELLER, "teller")
    make_story(teller, ["We talked about the bus."], audiences={Audience.STATISTICS},
               themes={0: ["feeling-safe"]})  # fmt: skip
    client, _ = login_as(Role.MEMBER)
    english = client.get("/dashboard/outcomes.csv").get_data(as_text=True)
    cymraeg = in_welsh(client).get("/dashboard/outcomes.csv").get_data(as_text=True)
    assert next(csv.reader(io.StringIO(english)))[:4] == ["table", "outcome", "column", "passages"]
    rows = list(csv.reader(io.StringIO(cymraeg)))
    assert rows[0][0] == "tabl" and rows[0][3] == "darnau"
    assert all(row[3] == "llai na 5" for row in rows[1:])  # the hidden counts, in Welsh too
    assert len(rows) == len(list(csv.reader(io.StringIO(english))))


def test_the_printed_page_has_a_welsh_date(
    app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> None:
    client, _ = login_as(Role.MEMBER)
    page = in_welsh(client).get("/dashboard/print").get_data(as_text=True)
    today = format_date(utcnow().date(), "d MMMM y", locale="cy")
    assert welsh("From storyhub on %(date)s.", date=today) in page
    assert f"O storyhub ar {today}." in page


def test_the_time_axis_names_months_in_welsh(app: Flask) -> None:
    first = 2025 * 12  # January 2025, as a month number
    with app.test_request_context(headers=WELSH):
        read_in("cy")
        assert Period(first, first + 2).label == "Ion\N{EN DASH}Maw 2025"
        assert Period(first + 3, first + 5).short == ("Ch2", "2025")
    with app.test_request_context():
        read_in("en")
        assert Period(first, first + 2).label == "Jan\N{EN DASH}Mar 2025"


def test_form_labels_and_choices_made_at_import_are_welsh_on_a_welsh_page(app: Flask) -> None:
    with app.test_request_context(headers=WELSH):
        read_in("cy")
        form = SliceForm(MultiDict(), {})
        assert form.kind.label.text == welsh("Kind of outcome") == "Math o ganlyniad"
        answer = next(iter(settle_form([(1, 2)])))
        assert [str(label) for _value, label, *_ in answer.iter_choices()] == [
            welsh("Keep it"),
            welsh("Leave it out"),
        ]
        assert agreement.band(0.5) == "cymedrol"  # Landis and Koch's "moderate"
    with app.test_request_context():
        read_in("en")
        assert agreement.band(0.5) == "moderate"


def test_the_codebook_import_message_has_every_welsh_plural(app: Flask) -> None:
    with app.test_request_context(headers=WELSH):
        read_in("cy")
        for added in (1, 2, 3, 6, 11):
            expected = ngettext(
                "Added %(num)d theme from the codebook.",
                "Added %(num)d themes from the codebook.",
                added,
            )
            assert _import_message(added, []) == expected
        # Welsh keeps the noun singular after a number: "3 thema", never "3 themâu".
        assert _import_message(3, []) == "Ychwanegwyd 3 thema o'r llyfr codau."
        assert "Roedd hon yn y rhestr yn barod" in _import_message(0, ["Hope"])
