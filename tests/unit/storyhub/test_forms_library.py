"""Every HTML form is read through one forms library (Flask-WTF/WTForms): no view reads
``request.form``, ``request.values`` or ``request.files`` itself. The JSON API (storyhub/api/)
reads its own requests and is left out."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from wtforms import Form

from storyhub import PROJECT_ROOT
from storyhub.auth.forms import NextPageForm
from storyhub.forms import MAX_ID, IdField, first_error
from storyhub.models import Role, User
from tests.conftest import csrf_token

RAW_READS = {"form", "values", "files"}
LEFT_OUT = ("storyhub/api/",)


def raw_form_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for each ``request.form`` / ``.values`` / ``.files`` in ``source``, however
    ``request`` was imported (``from flask import request``, ``flask.request``, an alias)."""
    tree = ast.parse(source)
    names = {"request"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "request"}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or node.attr not in RAW_READS:
            continue
        owner = node.value
        by_name = isinstance(owner, ast.Name) and owner.id in names
        by_module = isinstance(owner, ast.Attribute) and owner.attr == "request"
        if by_name or by_module:
            found.append((node.lineno, f"request.{node.attr}"))
    return sorted(found)


def test_the_checker_finds_every_way_of_reading_a_form() -> None:
    source = (
        "import flask\n"
        "from flask import request as rq\n"
        "a = rq.form.get('x')\n"
        "b = flask.request.values['y']\n"
        "c = request.files\n"
        "d = request.args\n"
        "e = form.values\n"
    )
    assert raw_form_reads(source) == [
        (3, "request.form"),
        (4, "request.values"),
        (5, "request.files"),
    ]


def test_no_view_reads_a_form_by_hand() -> None:
    offenders = []
    for path in sorted((PROJECT_ROOT / "storyhub").rglob("*.py")):
        where = path.relative_to(PROJECT_ROOT).as_posix()
        if where.startswith(LEFT_OUT):
            continue
        offenders += [f"{where}:{line} {what}" for line, what in raw_form_reads(path.read_text())]
    assert not offenders, (
        "read these through a form class in the package's forms.py (Flask-WTF/WTForms):\n"
        + "\n".join(offenders)
    )


def test_the_walk_sees_the_app() -> None:
    """The walk must find the views (a wrong root would find nothing and pass)."""
    found = {p.relative_to(PROJECT_ROOT).as_posix() for p in Path(PROJECT_ROOT).rglob("*.py")}
    assert "storyhub/stories/routes.py" in found


class _Chosen(Form):
    chosen = IdField(message="Please choose the words to bring back.")


@pytest.mark.parametrize("sent", ["", "x", "0", "-3", "1.5", str(MAX_ID + 1), "9" * 5000])
def test_a_forged_id_gets_the_forms_own_words(sent: str) -> None:
    form = _Chosen(MultiDict({"chosen": sent}))
    assert not form.validate()
    assert first_error(form) == "Please choose the words to bring back."


def test_an_id_in_range_is_a_number() -> None:
    form = _Chosen(MultiDict({"chosen": str(MAX_ID)}))
    assert form.validate() and form.chosen.data == MAX_ID


@pytest.mark.parametrize(
    "asked, target",
    [
        ("/stories", "/stories"),
        ("/stories?state=ready", "/stories?state=ready"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("stories", None),
        ("", None),
    ],
)
def test_signing_in_goes_on_only_to_a_page_of_this_site(asked: str, target: str | None) -> None:
    assert NextPageForm(MultiDict({"next": asked})).safe_target() == target


def test_every_form_is_a_page_form() -> None:
    """Forms derive from storyhub.forms.PageForm (which reads only what a browser's form
    sends), never from Flask-WTF's FlaskForm directly."""
    offenders = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in sorted((PROJECT_ROOT / "storyhub").rglob("*.py"))
        if path.name != "forms.py" or path.parent.name != "storyhub"
        if "FlaskForm" in path.read_text()
    ]
    assert not offenders, offenders


# A JSON body where a page expects a form: a list, a number, a string, text fields as numbers.
JSON_BODIES = ["[1, 2]", "3", '"words"', '{"title": 5, "username": 7, "text": [1]}']


@pytest.mark.parametrize("role", [Role.STORYTELLER, Role.CURATOR, Role.TRAINER, Role.ADMIN])
def test_a_json_body_sent_to_a_page_is_refused_in_words_not_a_server_error(
    app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]], role: Role
) -> None:
    """Every page that takes a POST, sent JSON instead of a form (with a valid CSRF token in
    the header, as a signed-in person could), answers without a server error."""
    client, _user = login_as(role)
    token = csrf_token(client, "/")
    posts = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/")
        if not rule.arguments  # pages with ids answer "not found" first for made-up ids
    )
    assert "/stories/new" in posts
    for path in posts:
        for body in JSON_BODIES:
            answer = client.post(
                path, data=body, content_type="application/json", headers={"X-CSRFToken": token}
            )
            assert answer.status_code < 500, (path, body, answer.status_code)
