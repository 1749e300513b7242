"""Welsh and English: every string marked and translated, and each page in the chosen language."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from configparser import RawConfigParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from storyhub.extensions import db
from storyhub.i18n import js_messages
from storyhub.models import Role, User
from tests.conftest import login
from tests.support.unmarked import looks_like_words, unmarked

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = ROOT / "storyhub" / "translations"
WELSH_PO = CATALOGUES / "cy" / "LC_MESSAGES" / "messages.po"
WELSH_MO = CATALOGUES / "cy" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "N_": None,
            "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}  # fmt: skip


def _messages_in_source() -> set[str | tuple[str, ...]]:
    """What `make translations` would extract now, read with the same babel.cfg."""
    config = RawConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip())
                  for section in config.sections()]  # fmt: skip
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, keywords=KEYWORDS
    ):
        if message:
            found.add((context, message) if context else message)  # type: ignore[arg-type]
    return found


def _welsh() -> Catalog:
    with WELSH_PO.open("rb") as source:
        return read_po(source, locale="cy")


def test_every_string_people_see_is_marked_for_translation() -> None:
    found = unmarked()
    assert not found, f"{len(found)} strings are not marked for translation:\n" + "\n".join(found)


def test_the_unmarked_finder_finds_what_it_should(tmp_path: Path) -> None:
    # The test above can fail: words in a template, a Python message and a script's string are
    # each found, while marked ones, names and formats are not.
    page = tmp_path / "page.html"
    page.write_text(
        '<p>Hello there</p><p>{{ _("Marked words") }}</p><a href="{{ url_for(\'x\') }}" '
        'title="Open it">{{ n }} {{ "" if n == 1 else "s" }}</a>'
        "<p>{% trans %}Kept{% endtrans %}</p>"
    )
    code = tmp_path / "views.py"
    code.write_text(
        'flash("Your story was saved.")\nflash(_("Marked."))\nlog.info("Job started now")\n'
        'raise ValueError("Not for people here")\nname = "story_id"\n'
    )
    found = unmarked([page, code])
    assert [f.split(": ", 1)[1] for f in found] == [
        "'Hello there'",
        "\"title='Open it'\"",
        "'a plural made by hand (use ngettext)'",
        "'Your story was saved.'",
    ]
    assert looks_like_words("Please try again.", lowercase_phrases=False)
    assert not looks_like_words("input[type=file]", lowercase_phrases=False)
    assert not looks_like_words("%-d %B %Y", lowercase_phrases=True)


def test_welsh_catalogue_translates_every_message_with_no_fuzzy_entries() -> None:
    catalogue = _welsh()
    in_source = _messages_in_source()
    in_catalogue = {m.id if not isinstance(m.id, tuple) else m.id[0]: m for m in catalogue if m.id}
    missing = sorted(str(m) for m in in_source
                     if (m if isinstance(m, str) else m[0]) not in in_catalogue
                     and not isinstance(m, tuple))  # fmt: skip
    assert not missing, "not in the Welsh catalogue (run `make translations`):\n" + "\n".join(
        missing
    )
    fuzzy = [str(m.id) for m in catalogue if m.id and m.fuzzy]
    assert not fuzzy, "fuzzy in the Welsh catalogue:\n" + "\n".join(fuzzy)
    untranslated = [str(m.id) for m in catalogue if m.id and (
        not all(m.string) if isinstance(m.string, tuple) else not m.string)]  # fmt: skip
    assert not untranslated, "not translated into Welsh:\n" + "\n".join(untranslated)
    problems = [f"{m.id}: {errors}" for m, errors in catalogue.check()]
    assert not problems, "translations that don't fit their message:\n" + "\n".join(problems)


def test_every_welsh_plural_has_all_six_forms() -> None:
    catalogue = _welsh()
    assert catalogue.num_plurals == 6
    for message in catalogue:
        if message.id and message.pluralizable:
            forms = tuple(message.string or ())
            assert len(forms) == 6 and all(forms), message.id


def _plain(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_welsh_catalogue_is_up_to_date() -> None:
    with WELSH_MO.open("rb") as source:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(source) if m.id}
    written = {_plain(m.id): _plain(m.string) for m in _welsh() if m.id and not m.fuzzy}
    assert compiled == written, "run `make translations` to compile the Welsh catalogue"


def test_the_scripts_messages_are_found_for_the_page() -> None:
    messages = js_messages()
    assert "Back" in messages and "Next" in messages


# Choosing the language --------------------------------------------------------------------------


def test_first_visit_follows_the_browser(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"})
    assert '<html lang="cy">' in page.get_data(as_text=True)
    page = client.get("/login", headers={"Accept-Language": "fr,de"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_the_link_on_every_page_switches_and_is_remembered(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/language/cy?next=/login"' in page and ">Cymraeg</a>" in page
    answer = client.get("/language/cy?next=/login")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="cy">' in page and ">English</a>" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil", None])
def test_the_switch_only_goes_back_to_this_site(client: FlaskClient, target: str | None) -> None:
    query = {"next": target} if target else {}
    answer = client.get("/language/cy", query_string=query)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_an_unknown_language_changes_nothing(client: FlaskClient) -> None:
    answer = client.get("/language/fr?next=/login")
    assert answer.status_code == 302 and "language" not in answer.headers.get("Set-Cookie", "")


def test_the_accounts_choice_follows_the_person(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.TRAINER)
    first = app.test_client()
    login(first, user.username)
    first.get("/language/cy?next=/")
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "cy"  # type: ignore[union-attr]
    elsewhere = app.test_client()  # another device: no cookie, an English browser
    login(elsewhere, user.username)
    page = elsewhere.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="cy">' in page


def test_signing_in_keeps_the_language_being_read(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.CURATOR)
    client = app.test_client()
    client.get("/language/cy?next=/login")
    login(client, user.username)
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "cy"  # type: ignore[union-attr]


def test_pages_vary_by_language_for_caches(client: FlaskClient) -> None:
    vary = client.get("/login").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_a_lazy_form_message_is_the_first_error_in_the_pages_language(app: Flask) -> None:
    from flask_babel import force_locale, gettext, lazy_gettext
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import InputRequired

    from storyhub.forms import first_error

    message = "Something in that form needs another look. Please try again."
    with app.test_request_context(method="POST", data={}):

        class Asked(FlaskForm):
            name = StringField(validators=[InputRequired(lazy_gettext(message))])

        form = Asked(meta={"csrf": False})
        assert not form.validate()
        with force_locale("cy"):
            assert first_error(form) == gettext(message)
            assert first_error(form) != message  # it is in the Welsh catalogue


def test_choices_made_when_the_app_starts_still_follow_the_page(
    login_as: Callable[..., tuple[FlaskClient, User]],
) -> None:
    # Form choices are built once, at import: their labels must be lazy, or a Welsh page would
    # offer them in English (as the upload form once did).
    from flask_babel import force_locale, gettext

    client, _user = login_as(Role.STORYTELLER)
    client.get("/language/cy?next=/")
    page = client.get("/stories/new").get_data(as_text=True)
    with force_locale("cy"):
        expected = [gettext(w) for w in ("A person who uses services", "Not said", "English")]
    assert all(word in page for word in expected), expected
    assert "A person who uses services" not in page and "Saesneg" in page


def test_a_welsh_storys_words_are_marked_welsh_on_an_english_page(
    app: Flask, make_user: Callable[..., User]
) -> None:
    # A screen reader then reads the story in Welsh and the page around it in English.
    from storyhub.models import Language
    from tests import search_factory

    teller = make_user(Role.STORYTELLER)
    story = search_factory.make_story(
        teller, ["Mae'r gofalwr yn dod bob bore."], language=Language.WELSH
    )
    client = app.test_client()
    login(client, teller.username)
    page = client.get(f"/stories/{story.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in page
    assert '<p class="words" lang="cy">' in page


def test_no_english_message_is_left_on_the_main_pages_in_welsh(
    app: Flask, make_user: Callable[..., User]
) -> None:
    # Whatever the marking missed at run time (a label read once at import, a message stored in
    # English): no catalogue message of two words or more may appear in English on a Welsh page.
    from storyhub.models import Language
    from tests import search_factory

    teller = make_user(Role.STORYTELLER)
    story = search_factory.make_story(teller, ["The carer came every morning."])
    search_factory.make_story(teller, ["Daeth y gofalwr bob bore."], language=Language.WELSH)
    english = sorted(
        (m.id for m in _welsh() if isinstance(m.id, str) and " " in m.id and m.string != m.id
         and "%" not in m.id and "<" not in m.id),
        key=len, reverse=True,
    )  # fmt: skip
    pages = {
        Role.STORYTELLER: ["/", "/stories/mine", "/stories/new", f"/stories/{story.id}"],
        Role.CURATOR: ["/", "/stories", f"/stories/{story.id}", "/search?q=carer", "/dashboard",
                       "/showcases", "/sessions", "/agreement", "/invitations", "/coding/export"],
        Role.ADMIN: ["/admin/themes", "/admin/themes/learning", "/admin/search"],
    }  # fmt: skip
    left: list[str] = []
    for role, paths in pages.items():
        client = app.test_client()
        login(client, teller.username if role == Role.STORYTELLER else make_user(role).username)
        client.get("/language/cy?next=/")
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, path
            # Not the script's catalogue (<script id="messages">), keyed by the English.
            # Nor what a form holds for editing (a theme's stored description).
            body = re.sub(
                r"<(script|textarea).*?</\1>", " ", answer.get_data(as_text=True), flags=re.S
            )
            text = re.sub(r"<[^>]+>", " ", body)
            text = re.sub(r"\s+", " ", html.unescape(text))
            # A Welsh sentence may quote English on purpose: the "[name removed]" the words
            # hold, the English code names a codebook may use.
            text = re.sub(r"“[^”]*”", " ", text)
            left += [f"{path}: {m}" for m in english if m in text]
    assert not left, "English left on Welsh pages:\n" + "\n".join(left)
