"""Welsh for the site's frame: the page around every page, sign-in, invitations, error pages,
the labels shown everywhere, storyhub.js's messages and the API's words (Accept-Language).

The expected Welsh is looked up through the catalogue (so wording can change), and one literal
Welsh word is checked too (so a page left in English can't pass by comparing English with
English)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date, gettext, ngettext, refresh

from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.filters import duration
from storyhub.models import Invitation, Language, Role, TellerKind, User
from tests.conftest import csrf_token

WELSH = {"Accept-Language": "cy"}
WELSH_MONTHS = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst",
                "Medi", "Hydref", "Tachwedd", "Rhagfyr")  # fmt: skip


def welsh(message: str, **values: Any) -> str:
    """``message`` as the Welsh catalogue has it."""
    with force_locale("cy"):
        return gettext(message, **values)


def _text(client: FlaskClient, path: str, **kwargs: Any) -> str:
    return unescape(client.open(path, **kwargs).get_data(as_text=True))


def test_the_sign_in_page_is_in_welsh_with_its_form_labels(client: FlaskClient) -> None:
    page = _text(client, "/login", headers=WELSH)
    assert '<html lang="cy">' in page
    assert welsh("Sign in") in page and "Mewngofnodi" in page
    # Lazy labels: the form was made when the module was imported, in no language at all.
    assert welsh("Username") in page and "Enw defnyddiwr" in page
    assert welsh("Skip to main content") in page
    english = _text(client, "/login", headers={"Accept-Language": "en"})
    assert "Username" in english and "Enw defnyddiwr" not in english


def test_error_pages_in_both_languages(client: FlaskClient) -> None:
    answer = client.get("/no-such-page", headers=WELSH)
    page = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 404
    assert welsh("We can't find that") in page and "Allwn ni ddim" in page
    assert welsh("Go to the home page") in page
    english = _text(client, "/no-such-page", headers={"Accept-Language": "en"})
    assert "We can't find that" in english


def test_an_api_error_follows_accept_language(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.CURATOR)
    token = issue_api_token(user, "test")
    db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    missing = client.get("/api/v1/stories/999", headers={**auth, **WELSH}).get_json()
    assert missing["error"]["code"] == "not_found"  # codes stay English, for programs
    assert missing["error"]["message"] == welsh("No story with that id is available to you.")
    assert "Does dim stori" in missing["error"]["message"]
    english = client.get("/api/v1/stories/999", headers=auth).get_json()
    assert english["error"]["message"] == "No story with that id is available to you."

    # A schema's own words, with the field's name put into the Welsh.
    refused = client.post("/api/v1/clips", json={"story_id": "1"}, headers={**auth, **WELSH})
    said = refused.get_json()["error"]
    assert refused.status_code == 400 and "story_id" in said["fields"]
    assert welsh("{name} must be a whole number.").format(name="story_id") in said["message"]
    assert "Rhaid i story_id" in said["message"]

    unsigned = client.get("/api/v1/stories", headers=WELSH).get_json()
    assert unsigned["error"]["message"].startswith("Mae angen tocyn API")


def test_invitation_pages_have_welsh_plurals_and_dates(
    app: Flask, login_as: Callable[..., tuple[FlaskClient, User]]
) -> None:
    client, _curator = login_as(Role.CURATOR)
    client.get("/language/cy?next=/")
    days = app.config["INVITE_VALID_DAYS"]
    page = _text(client, "/invitations/new")
    with force_locale("cy"):
        works_for = ngettext(
            "You'll get a link that lets them create their own account. You can print it, or "
            "send it to them or their support worker. It works once, for %(count)s day.",
            "You'll get a link that lets them create their own account. You can print it, or "
            "send it to them or their support worker. It works once, for %(count)s days.",
            days,
            count=days,
        )
    assert works_for in page and f"am {days} diwrnod" in page

    made = _text(
        client,
        "/invitations/new",
        method="POST",
        data={"display_name": "Siân", "role": Role.STORYTELLER.value, "note": "",
              "csrf_token": csrf_token(client, "/invitations/new")},
    )  # fmt: skip
    invitation = db.session.query(Invitation).one()
    with force_locale("cy"):
        until = format_date(invitation.expires_at, "d MMMM y")
    assert welsh("The link works once, until %(date)s.", date=until) in made
    assert any(month in until for month in WELSH_MONTHS)
    listing = _text(client, "/invitations")
    assert welsh("Invitations you have made") in listing and "Gwahoddiadau" in listing


def test_labels_are_in_the_language_of_the_page(app: Flask) -> None:
    with app.test_request_context(headers=WELSH):
        refresh()  # the test's app context keeps the language it first chose
        assert Language.WELSH.label == "Cymraeg"
        assert Language.ENGLISH.label == welsh("English") == "Saesneg"
        assert TellerKind.CARER.label == welsh("An unpaid carer")
        assert duration(65) == "1 mun 05 eil"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        # An English page names Welsh in both languages, so a Welsh speaker finds their own.
        assert Language.WELSH.label == "Cymraeg (Welsh)"
        assert duration(65) == "1 min 05 s"


def test_the_scripts_messages_come_in_welsh_with_their_values(client: FlaskClient) -> None:
    page = client.get("/login", headers=WELSH).get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="messages">(.*?)</script>', page, re.S)
    assert found
    messages = json.loads(found.group(1))
    assert messages["Next"] == welsh("Next") == "Nesaf"
    # A message the script fills with values is found and translated too.
    question = "Question %(number)s of %(total)s"
    assert messages[question] == welsh(question) and messages[question].startswith("Cwestiwn")
