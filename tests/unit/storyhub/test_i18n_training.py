"""Training sessions, clips, showcases and the room in Welsh: pages, plurals, dates, form labels,
the rules' messages, and the handout PDF drawing Welsh letters.

The Welsh is looked up through the catalogue (so a better wording keeps these true) and one
literal Welsh word is checked too, so a page left in English can't pass.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.dates import format_date
from flask import Flask, render_template
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext, ngettext, refresh

from storyhub.extensions import db
from storyhub.models import Role, User
from storyhub.playlists.core import in_language_of
from storyhub.training import services
from storyhub.training.forms import SessionForm
from storyhub.training.services import TrainingError

SignIn = Callable[[Role], tuple[FlaskClient, User]]
WELSH_MONTHS = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf",
                "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr")  # fmt: skip


def welsh(message: str, **values: object) -> str:
    """``message`` as the Welsh catalogue has it."""
    with force_locale("cy"):
        return gettext(message, **values)


def _trainer_in_welsh(login_as: SignIn) -> tuple[FlaskClient, User]:
    client, trainer = login_as(Role.TRAINER)
    trainer.language = "cy"  # chosen for the account: every page follows it
    db.session.commit()
    return client, trainer


def test_the_sessions_page_is_in_welsh_with_a_welsh_date(login_as: SignIn) -> None:
    client, trainer = _trainer_in_welsh(login_as)
    session = services.create_session(trainer, "Bywyd ar ôl strôc")
    db.session.commit()
    page = client.get("/sessions").get_data(as_text=True)
    assert '<html lang="cy">' in page
    assert welsh("Training sessions") in page and "Sesiynau hyfforddi" in page
    assert welsh("Make the session") in page
    changed = format_date(session.updated_at, "d MMMM y", locale="cy")
    assert welsh("changed %(date)s", date=changed) in page
    assert any(f" {month} " in changed for month in WELSH_MONTHS)
    # No clips yet: the Welsh plural for none, not "0 clips".
    with force_locale("cy"):
        assert ngettext("%(num)d clip", "%(num)d clips", 0) in page
    assert "0 clips" not in page


def test_welsh_plurals_have_a_form_for_every_number(app: Flask) -> None:
    with app.test_request_context(), force_locale("cy"):
        # A noun after a number stays singular in Welsh: "3 clip", never "3 clips".
        assert [ngettext("%(num)d clip", "%(num)d clips", n) for n in (1, 2, 3, 6, 11)] == [
            "1 clip", "2 clip", "3 clip", "6 clip", "11 clip"
        ]  # fmt: skip
        assert ngettext("%(num)d item", "%(num)d items", 3) == "3 eitem"


def test_form_labels_follow_the_page_not_the_process(app: Flask) -> None:
    # The labels are made once, at import: lazy, they are read in each page's language.
    with app.test_request_context("/sessions", headers={"Accept-Language": "cy"}):
        refresh()  # each request chooses its language afresh (the test app keeps one context)
        assert SessionForm().summary.label.text == welsh("What it is for") == "Beth yw ei diben"
    with app.test_request_context("/sessions", headers={"Accept-Language": "en"}):
        refresh()
        assert SessionForm().summary.label.text == "What it is for"


def test_the_rules_answer_in_welsh(app: Flask, make_user: Callable[..., User]) -> None:
    trainer = make_user(Role.TRAINER)
    with app.test_request_context(), force_locale("cy"), pytest.raises(TrainingError) as refused:
        services.create_session(trainer, "   ")
    assert str(refused.value) == welsh("Please give the session a title.")
    assert "Rhowch deitl" in str(refused.value)


def test_the_room_is_in_welsh_with_its_keyboard_hints(login_as: SignIn) -> None:
    client, trainer = _trainer_in_welsh(login_as)
    session = services.create_session(trainer, "Sesiwn y gwanwyn")
    services.add_item(trainer, session, "prompt", text="Beth glywsoch chi?")
    db.session.commit()
    page = client.get(f"/sessions/{session.id}/play").get_data(as_text=True)
    assert '<html lang="cy">' in page
    assert welsh("Training session") in page and welsh("Let's talk about it") in page
    assert "<kbd>Space</kbd> i chwarae neu oedi" in page  # the hint keeps its keys
    assert welsh("Session controls") in page and welsh("My notes") not in page  # no notes given


def test_the_worker_writes_in_the_askers_language(
    app: Flask, make_user: Callable[..., User]
) -> None:
    welsh_trainer = make_user(Role.TRAINER)
    welsh_trainer.language = "cy"
    english_trainer = make_user(Role.TRAINER)  # chose no language: English for the worker
    with app.app_context():
        with in_language_of(welsh_trainer):
            assert gettext("Told by %(teller)s", teller="Mari") == "Adroddwyd gan Mari"
        with in_language_of(english_trainer):
            assert gettext("Told by %(teller)s", teller="Mari") == "Told by Mari"
        # No request at all (the worker): English, not an error.
        assert gettext("Captions") == "Captions"


def _pdf_streams(pdf: bytes) -> list[bytes]:
    """The PDF's compressed streams, opened (fonts and their tables are kept in them)."""
    opened = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            opened.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return opened


def _drawn_characters(streams: list[bytes]) -> set[int]:
    """Every character drawn with a real glyph of a font (its ToUnicode table; glyph 0 is the
    empty box a font draws for a letter it lacks)."""
    found: set[int] = set()
    for text in streams:
        for glyph, char in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4})>", text):
            if int(glyph, 16) != 0:
                found.add(int(char, 16))
    return found


def test_the_handout_pdf_draws_welsh_letters_with_dejavu(app: Flask) -> None:
    from weasyprint import HTML

    from storyhub.training.exports import _fetch_nothing

    clip = SimpleNamespace(title="Ŵyr a wyres", duration=42.0)
    slide = SimpleNamespace(
        kind="clip", clip=clip, story_title="Tŷ ni", teller="Siân", audiences="hyfforddi",
        standing=SimpleNamespace(text="Roedd y ŵyl yn y tŷ â'r drws ar agor."),
    )  # fmt: skip
    session = SimpleNamespace(title="Gŵyl yr haf", summary="")
    with app.test_request_context(), force_locale("cy"):
        html = render_template(
            "training/handout.html",
            session=session,
            slides=[slide],
            left_out=[],
            made_on=datetime(2026, 12, 7, tzinfo=UTC),
        )
    assert '<html lang="cy">' in html and "7 Rhagfyr 2026" in html
    assert welsh("Let's talk about it") not in html  # no prompt in this one
    pdf = HTML(string=html, url_fetcher=_fetch_nothing()).write_pdf()
    assert pdf is not None
    streams = _pdf_streams(pdf)
    # The font the handout names, which has every Welsh letter; the PDF says it is in Welsh.
    assert any(b"+DejaVu-Sans" in text for text in streams)
    assert any(b"/Lang (cy)" in text for text in streams)
    drawn = _drawn_characters(streams)
    for letter in "ŵŷâ":
        assert ord(letter) in drawn, f"{letter} is not drawn as itself"


def test_the_offline_pack_page_is_in_the_language_of_who_made_it(
    login_as: SignIn, make_user: Callable[..., User], tmp_path: Path
) -> None:
    from consent.models import Audience
    from storyhub.showcases import services as showcases
    from tests.conftest import csrf_token
    from tests.training_factory import clip_story, make_video

    client, curator = login_as(Role.CURATOR)
    curator.language = "cy"
    teller = make_user(Role.STORYTELLER)
    video = make_video(tmp_path / "v.mp4", 6)
    story = clip_story(
        teller, ["Doedd neb yn gofyn i mi"], title="Clywed", audiences={Audience.LEARNING_EVENTS},
        video=video,
    )  # fmt: skip
    showcase = showcases.create_showcase(curator, "Diwrnod y cyngor")
    showcases.add_item(showcase, story)
    db.session.commit()
    token = csrf_token(client, "/showcases")
    client.post(f"/showcases/{showcase.id}/packs", data={"csrf_token": token})
    edit = client.get(f"/showcases/{showcase.id}/edit").get_data(as_text=True)
    # The download is named by its date, with the Welsh month.
    months = "|".join(WELSH_MONTHS)
    assert re.search(rf"Lawrlwytho pecyn \d+ ({months}), \d\d:\d\d", edit)
    link = edit.split(f'href="/showcases/{showcase.id}/packs/')[1].split('"')[0]
    taken = client.get(f"/showcases/{showcase.id}/packs/{link}")
    with zipfile.ZipFile(io.BytesIO(taken.get_data())) as archive:
        page = archive.read("showcase/index.html").decode()
    assert '<html lang="cy">' in page
    assert welsh("Captions as a file") in page and "Capsiynau" in page
    assert f'data-srclang="{story.language.value}"' in page  # the captions in the story's language
