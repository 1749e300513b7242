"""The search and theme pages in Welsh: their words, plurals, dates, form messages, and the
shipped Talking Points theme names (in Welsh until an organisation renames one).

The expected Welsh is looked up in the catalogue (``force_locale("cy")``), so these stay true
when a wording changes; each test also checks one Welsh word it knows.
"""

from __future__ import annotations

import html as html_text
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, format_datetime, gettext, ngettext
from sqlalchemy import select

from consent.models import Audience
from media_pipeline.tagger.taxonomy import SHIPPED_TAXONOMY
from storyhub.extensions import db
from storyhub.finder.indexing import index_lag
from storyhub.models import Role, User
from storyhub.themes.models import Subtheme, ThemeKind
from storyhub.themes.services import ThemeError, add_subtheme
from storyhub.themes.shipped import SHIPPED_KIND_DESCRIPTIONS, SHIPPED_THEMES
from tests.search_factory import make_story


def in_welsh(message: str, **values: Any) -> str:
    """``message`` as the Welsh catalogue has it."""
    with force_locale("cy"):
        return gettext(message, **values)


def welsh_client(login_as: Callable[..., Any], role: Role) -> Any:
    """A signed-in client that chose Cymraeg with the link every page has."""
    client, _ = login_as(role)
    assert client.get("/language/cy?next=/").status_code == 302
    return client


@pytest.fixture
def garden(app: Flask, make_user: Callable[..., User]) -> Any:
    teller = make_user(Role.STORYTELLER, "mary")
    return make_story(
        teller,
        ["I love my garden in the spring.", "My neighbour visits on Sundays."],
        title="My garden",
        audiences={Audience.TRAINING},
        themes={0: ["things-to-do"]},
    )


def test_the_search_page_in_welsh_with_plurals_facets_and_shipped_theme_names(
    garden: Any, login_as: Callable[..., Any]
) -> None:
    page = welsh_client(login_as, Role.TRAINER).get("/search?q=garden").get_data(as_text=True)
    html = html_text.unescape(page)
    assert '<html lang="cy"' in html
    assert in_welsh("Find passages") in html and "Chwilio am ddarnau" in html
    with force_locale("cy"):
        heading = gettext(
            "%(passages)s in %(stories)s",
            passages=ngettext("%(num)s passage", "%(num)s passages", 1),
            stories=ngettext("%(num)s story", "%(num)s stories", 1),
        )
    assert heading in html and "1 darn mewn 1 stori" in html
    # The facets' names (lazy labels made at import) and a kind's name, in Welsh.
    assert in_welsh("Outcome") in html and "Canlyniad" in html
    assert in_welsh("Quality of life") in html and "Ansawdd bywyd" in html
    # The confirmed theme on the passage: a shipped name, shown in Welsh.
    assert in_welsh("Having things to do") in html and "Cael pethau i'w gwneud" in html
    assert "Having things to do" not in html


def test_a_bad_filter_is_explained_in_welsh(garden: Any, login_as: Callable[..., Any]) -> None:
    response = welsh_client(login_as, Role.TRAINER).get("/search?q=garden&from=yesterday")
    assert response.status_code == 400
    html = html_text.unescape(response.get_data(as_text=True))
    assert in_welsh("The “from” date should look like 2026-03-31.") in html
    assert "Dylai'r dyddiad" in html


def test_a_renamed_shipped_theme_is_shown_as_typed_and_the_others_in_welsh(app: Flask) -> None:
    safe = db.session.scalar(select(Subtheme).where(Subtheme.key == "feeling-safe"))
    respect = db.session.scalar(select(Subtheme).where(Subtheme.key == "treated-with-respect"))
    assert safe is not None and respect is not None
    respect.label = "Parch"  # typed by the organisation: its own words, in every language
    with app.test_request_context(), force_locale("cy"):
        assert safe.shown_label == gettext("Feeling safe") == "Teimlo'n ddiogel"
        assert safe.shown_description == gettext(SHIPPED_THEMES["feeling-safe"][1])
        assert respect.shown_label == "Parch"
    with app.test_request_context(), force_locale("en"):
        assert safe.shown_label == "Feeling safe"
    db.session.rollback()


def test_every_shipped_name_and_description_is_in_the_catalogue_list() -> None:
    shipped = json.loads(SHIPPED_TAXONOMY.read_text(encoding="utf-8"))
    for kind in shipped["kinds"]:
        assert SHIPPED_KIND_DESCRIPTIONS[kind["id"]] == kind["description"]
        for sub in kind["subthemes"]:
            assert SHIPPED_THEMES[sub["id"]] == (sub["label"], sub["description"])


def test_the_theme_admin_pages_in_welsh_with_a_plural_and_a_welsh_date(
    garden: Any, login_as: Callable[..., Any]
) -> None:
    admin = welsh_client(login_as, Role.ADMIN)
    taxonomy = html_text.unescape(admin.get("/admin/themes").get_data(as_text=True))
    assert in_welsh("Outcome themes") in taxonomy and "Themâu canlyniadau" in taxonomy
    with force_locale("cy"):
        none_yet = ngettext("%(num)d confirmed tag", "%(num)d confirmed tags", 0)
        kind_text = gettext(SHIPPED_KIND_DESCRIPTIONS["process"])
    assert none_yet in taxonomy and "0 tag wedi'i gadarnhau" in taxonomy
    assert kind_text in taxonomy
    assert in_welsh("Seeing people") in taxonomy  # a shipped name, not renamed
    assert 'value="Seeing people"' in taxonomy  # the rename box keeps the stored name

    learning = admin.get("/admin/themes/learning").get_data(as_text=True)
    assert in_welsh("What the tagger has learnt") in learning

    index = admin.get("/admin/search").get_data(as_text=True)
    assert in_welsh("Search index") in index and "Mynegai chwilio" in index
    synced = index_lag()["last_synced_at"]
    assert synced is not None  # the story's passages were indexed
    with force_locale("cy"):  # a date people read: Welsh month names from Babel
        assert format_datetime(synced, "medium") in index


def test_a_new_theme_may_not_take_a_shipped_name_as_a_welsh_page_shows_it(
    app: Flask, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN)
    with app.test_request_context(), force_locale("cy"):
        welsh_name = gettext("Feeling safe")
        with pytest.raises(ThemeError) as refused:
            add_subtheme(ThemeKind.MAINTENANCE, welsh_name, "", admin)
        assert str(refused.value) == gettext(
            "There is already a theme called “%(name)s”.", name=welsh_name
        )
        assert "Mae thema o'r enw" in str(refused.value)
