"""Hostile input: markup and template code typed into every free-text field stay inert wherever
they are shown (pages, JSON, captions, CSV, handouts, offline packs); odd content types, file
names and headers get a plain refusal, never a server error; cookies and security headers hold
on every kind of response, over HTTP and HTTPS."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from wtforms import DateTimeField, Form, StringField

from consent.models import Audience
from storyhub import PROJECT_ROOT, SECURITY_HEADERS
from storyhub.agreement.models import BlindRound
from storyhub.api import openapi_document
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.finder.indexing import sync_pending
from storyhub.models import Job, MediaFile, MediaRole, Passage, Redaction, Role, Story, User
from storyhub.showcases import pack
from storyhub.showcases import services as showcase_services
from storyhub.showcases.models import Showcase, ShowcaseItem
from storyhub.storage import get_storage
from storyhub.themes.models import Subtheme
from storyhub.training import exports, services
from storyhub.training.models import Clip, Lesson, LessonExport
from tests import media_factory
from tests.conftest import CSRF_PATTERN, PASSWORD, csrf_token, login
from tests.live_site import running_site, site_env
from tests.search_factory import make_story as make_worded_story
from tests.training_factory import clip_story


@pytest.fixture
def queued(app_config: dict[str, Any], tmp_path: Path) -> None:
    """Jobs wait in a real queue with no worker, as the web process leaves them: what is
    tested here happens in the request (no Whisper, no theme model, no ffmpeg)."""
    app_config["QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short real recording (speech), for uploads that must pass the media checks."""
    return media_factory.make_wav(tmp_path_factory.mktemp("wav"))


# --- XSS: every free-text field ---------------------------------------------------------------
#
# How the list is known to be complete: test_every_free_text_field_has_a_probe finds the fields
# itself, from (1) every WTForms form class the app has loaded (string, text area, password and
# date fields, including those of sub-forms) and (2) every text-like <input> and <textarea> the
# templates write by hand. A new field in either place fails that test until it is added here.
# Each entry says whether the value is shown back somewhere (then the scenario must find it
# there, escaped) or never shown (passwords; values refused before they are kept).

SHOWN, NOT_SHOWN = True, False
FIELDS: dict[str, tuple[bool, str]] = {
    "LoginForm.username": (SHOWN, "typed back into the form when signing in fails"),
    "LoginForm.password": (NOT_SHOWN, "a password is never written back"),
    "InviteForm.display_name": (SHOWN, "the invitation, the join page, the person's name"),
    "InviteForm.note": (NOT_SHOWN, "kept for the inviter's records, not shown"),
    "JoinForm.username": (SHOWN, "typed back into the form when refused"),
    "JoinForm.password": (NOT_SHOWN, "a password is never written back"),
    "JoinForm.confirm": (NOT_SHOWN, "a password is never written back"),
    "UploadForm.title": (SHOWN, "the story everywhere: pages, API, search, sessions"),
    "UploadForm.description": (SHOWN, "the story page and the API"),
    "ConsentForm.adult_on": (SHOWN, "typed back into the wizard when it isn't a date"),
    "ConsentForm.proxy_name": (SHOWN, "the wizard's confirmation page"),
    "ConsentForm.proxy_relationship": (SHOWN, "the wizard's confirmation page"),
    "ConsentForm.best_interests_note": (SHOWN, "the wizard's confirmation page"),
    "ConsentForm.notes": (SHOWN, "the wizard's confirmation page"),
    "OtherPersonForm.name": (SHOWN, "the wizard's confirmation page"),
    "WithdrawForm.reason": (NOT_SHOWN, "kept in the consent history, not shown"),
    "EraseForm.reason": (NOT_SHOWN, "kept in the audit, not shown"),
    "stories/show.html:text": (SHOWN, "a passage's words: pages, captions, search, clips"),
    "stories/show.html:speaker": (SHOWN, "the story page"),
    "stories/show.html:phrase": (SHOWN, "the message when the phrase isn't found"),
    "stories/show.html:reason": (NOT_SHOWN, "why a redaction was undone: its record, the audit"),
    "themes/_panel.html:words": (SHOWN, "the message when the words aren't found"),
    "people/story.html:start": (NOT_SHOWN, "refused unless a time, never repeated"),
    "people/story.html:end": (NOT_SHOWN, "refused unless a time, never repeated"),
    "themes/taxonomy.html:label": (SHOWN, "theme lists, panels, dashboard, search, CSV"),
    "themes/taxonomy.html:description": (SHOWN, "the list of themes"),
    "ClipForm.title": (SHOWN, "clips, sessions, the room"),
    "ClipForm.note": (SHOWN, "the clip form, the API"),
    "SessionForm.title": (SHOWN, "the list of sessions, the session"),
    "SessionForm.summary": (SHOWN, "the session"),
    "ItemForm.text": (SHOWN, "headings and prompts: session, room, API"),
    "ItemForm.notes": (SHOWN, "trainer's notes: the session, the API"),
    "ShowcaseForm.title": (SHOWN, "the showcase list, builder and presentation"),
    "ShowcaseForm.introduction": (SHOWN, "the builder and the presentation"),
    "ShowcaseForm.event_place": (SHOWN, "the showcase list and builder"),
    "ShowcaseForm.event_date": (NOT_SHOWN, "refused unless a date, not typed back"),
    "ShowcaseForm.opens_at": (NOT_SHOWN, "refused unless a date and time, not typed back"),
    "ShowcaseForm.closes_at": (NOT_SHOWN, "refused unless a date and time, not typed back"),
    "ItemChangeForm.listen_for": (SHOWN, "the builder and the presentation"),
    "EventCodeForm.code": (NOT_SHOWN, "a wrong code is refused, not repeated"),
    "search/search.html:q": (SHOWN, "the search box and the results"),
    "search/search.html:from": (SHOWN, "typed back into the date box"),
    "search/search.html:to": (SHOWN, "typed back into the date box"),
    "NextPageForm.next": (NOT_SHOWN, "where to go after signing in: followed if on this site"),
}
# Form fields whose inputs a template writes by hand (one form per passage, tag or person on a
# page): each is probed through that input.
WRITTEN_BY_HAND = {
    "PassageForm.text": "stories/show.html:text",
    "PassageForm.speaker": "stories/show.html:speaker",
    "RedactForm.phrase": "stories/show.html:phrase",
    "UnredactForm.reason": "stories/show.html:reason",
    "CoverForm.start": "people/story.html:start",
    "CoverForm.end": "people/story.html:end",
    "AddThemeForm.words": "themes/_panel.html:words",
    "SubthemeForm.label": "themes/taxonomy.html:label",
    "SubthemeForm.description": "themes/taxonomy.html:description",
    "NewSubthemeForm.label": "themes/taxonomy.html:label",
    "NewSubthemeForm.description": "themes/taxonomy.html:description",
    "SearchForm.q": "search/search.html:q",
    "SearchForm.date_from": "search/search.html:from",
    "SearchForm.date_to": "search/search.html:to",
}
# Query-string values that come back in messages (the filters are lists or dates in the forms,
# but anyone can type anything into a URL): (address, whether the value is shown back).
URL_PROBES = {
    "search subtheme": ("/search", "subtheme", SHOWN),
    "search year": ("/search", "year", NOT_SHOWN),
    "dashboard subtheme": ("/dashboard", "subtheme", SHOWN),
    "dashboard month": ("/dashboard", "from", NOT_SHOWN),
    "dashboard passages": ("/dashboard/passages", "subtheme", SHOWN),
    "outcomes CSV": ("/dashboard/outcomes.csv", "kind", SHOWN),
    "story list state": ("/stories", "state", NOT_SHOWN),
}
TAGS = {key: f"Q{n:02d}" for n, key in enumerate([*FIELDS, *URL_PROBES])}
# The tag starts the payload, so even a field cut short keeps it; a template engine fed it would
# show "Q0149" instead of "Q01{{7*7}}". The rest breaks out of attributes, text areas, titles and
# style sheets, and would run if it became markup.
TEMPLATE = "{{7*7}}"
ATTACK = (
    "'\"></textarea></title></style>"
    "<script>alert(1)</script><img src=x onerror=alert(1)>javascript:alert(1)"
)


def payload(key: str) -> str:
    return f"{TAGS[key]}{TEMPLATE}{ATTACK}"


def _free_text_in_forms() -> set[str]:
    """Every string, text area, password or date field of the app's WTForms forms."""
    found: set[str] = set()
    pending: list[type[Form]] = [Form]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith("storyhub."):
            continue
        for name in dir(cls):
            unbound = getattr(cls, name)
            field_class = getattr(unbound, "field_class", None)
            if isinstance(field_class, type) and issubclass(
                field_class, StringField | DateTimeField
            ):
                found.add(f"{cls.__name__}.{name}")
    return found


TEXT_LIKE = re.compile(r"<(input|textarea)\b([^>]*)>", re.IGNORECASE)
NOT_TEXT = {"hidden", "submit", "checkbox", "radio", "file", "button", "reset", "image"}


def _free_text_in_templates() -> set[str]:
    """Every text-like <input> and <textarea> written by hand in a template."""
    found: set[str] = set()
    root = PROJECT_ROOT / "templates"
    for path in root.rglob("*.html"):
        for tag, attributes in TEXT_LIKE.findall(path.read_text()):
            kind = re.search(r'\btype="([^"]+)"', attributes)
            if tag.lower() == "input" and kind and kind.group(1) in NOT_TEXT:
                continue
            name = re.search(r'\bname="([^"]+)"', attributes)
            assert name, f"a field without a name in {path}"
            found.add(f"{path.relative_to(root)}:{name.group(1)}")
    return found


def test_every_free_text_field_has_a_probe(app: Flask) -> None:
    """The app is built first, so every form class its views use has been loaded."""
    in_forms = {WRITTEN_BY_HAND.get(key, key) for key in _free_text_in_forms()}
    discovered = in_forms | _free_text_in_templates()
    assert discovered == set(FIELDS), (
        f"new fields to add to FIELDS: {sorted(discovered - set(FIELDS))}; "
        f"gone: {sorted(set(FIELDS) - discovered)}"
    )


class _Markup(HTMLParser):
    """Elements and attributes of a page, to find any that came from a payload."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._script = []
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (an event handler)")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> (a javascript: address)")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        # A payload's <script>alert(1)</script> become an element; pages' own scripts (the
        # offline pack's, whose data may quote a payload) hold more than that.
        if tag == "script" and self._script is not None:
            if "".join(self._script).strip() == "alert(1)":
                self.problems.append("<script>alert(1)</script> (a script element)")
            self._script = None


def html_problems(text: str) -> list[str]:
    parser = _Markup()
    parser.feed(text)
    parser.close()
    return parser.problems


def webvtt_problems(body: str) -> list[str]:
    """Cue text may hold tags (<b>, <v Name>): the app writes none, so any "<" is a payload's;
    and a line with "-->" that isn't a timing line would start a new cue."""
    problems = ["markup in captions"] if "<" in body else []
    for line in body.splitlines():
        if "-->" in line and not re.fullmatch(r"[\d:.]+ --> [\d:.]+", line):
            problems.append(f"a cue line taken for a timing line: {line!r}")
    return problems


@dataclass
class Inspector:
    """Checks every answer for live payloads, and notes which fields were shown, escaped."""

    seen: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    answers: int = 0

    def check(self, where: str, response: Any) -> None:
        self.answers += 1
        status, body = response.status_code, response.get_data(as_text=True)
        if status >= 500:
            self.problems.append(f"{where}: server error {status}")
        mimetype = response.mimetype
        for key, tag in TAGS.items():
            if tag + TEMPLATE in body:
                self.seen.setdefault(key, set()).add(where)
            if tag + "49" in body:
                self.problems.append(f"{where}: {key} was run as a template")
        if mimetype == "text/html":
            self.problems += [f"{where}: {p}" for p in html_problems(body)]
        elif mimetype == "application/json":
            self._json(where, json.loads(body) if body else None)
        elif mimetype == "text/vtt":
            self._webvtt(where, body)
        elif mimetype == "text/csv":
            self._csv(where, response, body)
        elif body and ("<script" in body or "<img" in body):
            self.problems.append(f"{where}: markup in a {mimetype} answer")

    def _json(self, where: str, value: Any) -> None:
        """JSON may carry the payload as data; HTML inside it (a themes panel) must be inert."""
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "html" and isinstance(item, str):
                    self.problems += [f"{where} (its html): {p}" for p in html_problems(item)]
                else:
                    self._json(where, item)
        elif isinstance(value, list):
            for item in value:
                self._json(where, item)

    def _webvtt(self, where: str, body: str) -> None:
        self.problems += [f"{where}: {p}" for p in webvtt_problems(body)]

    def _csv(self, where: str, response: Any, body: str) -> None:
        if not response.headers.get("Content-Disposition", "").startswith("attachment"):
            self.problems.append(f"{where}: a CSV shown in the browser")
        for row in csv.reader(io.StringIO(body)):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@"):
                    self.problems.append(f"{where}: a spreadsheet formula {cell[:30]!r}")


@dataclass
class Archive:
    """Everything the scenario made, and a signed-in client for each kind of person."""

    clients: dict[str, FlaskClient]
    api_tokens: dict[str, str]
    inspector: Inspector
    join_token: str


def _found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text``, which must be there."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return match.group(1)


class Poster:
    """Sends forms as a browser would (with the CSRF token of the client's session), follows
    the redirect to the page that shows the outcome, and has the inspector check both."""

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector

    def __call__(self, client: FlaskClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
        token = csrf_token(client, kw.pop("token_page", "/"))
        response = client.post(path, data={"csrf_token": token, **data}, **kw)
        self.inspector.check(f"POST {path}", response)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if response.status_code not in (302, 303):
            return response
        location = response.headers["Location"]
        page = client.get(location)
        self.inspector.check(f"GET {location}", page)
        return page


def _fill_every_field(
    app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]], wav: Path
) -> Archive:
    """Type a payload into every free-text field, through the real forms, as each person would."""
    seen = Inspector()
    post = Poster(seen)
    admin, _ = login_as(Role.ADMIN)
    curator, curator_user = login_as(Role.CURATOR)
    trainer, _ = login_as(Role.TRAINER)
    member, member_user = login_as(Role.MEMBER)

    # Signing in, refused: the username comes back in the form, the password never.
    anonymous = app.test_client()
    login_form = {"username": payload("LoginForm.username")}
    login_form["password"] = payload("LoginForm.password")
    next_page = urlencode({"next": payload("NextPageForm.next")})
    post(anonymous, f"/login?{next_page}", login_form, token_page="/login")

    # An invitation for a storyteller whose name is a payload; their join page; a refused
    # username, then the account.
    invite = {"display_name": payload("InviteForm.display_name"), "role": "storyteller"}
    made = post(admin, "/invitations/new", {**invite, "note": payload("InviteForm.note")})
    assert made.status_code == 200, made.get_data(as_text=True)[:500]
    join = "/join/" + _found(r"/join/([\w-]+)", made.get_data(as_text=True))
    teller = app.test_client()
    refused = {name: payload(f"JoinForm.{name}") for name in ("username", "password", "confirm")}
    assert post(teller, join, refused, token_page=join).status_code == 400
    account = {"username": "gwen", "password": PASSWORD, "confirm": PASSWORD}
    assert post(teller, join, account, token_page=join).status_code == 200

    # An upload through the real form (its processing waits in the queue: no worker here); and
    # a story with words as processing leaves one, whose consent goes through the wizard: a
    # date that isn't one comes back in the form, the other answers on the confirmation page.
    upload = {"title": payload("UploadForm.title"), "language": "en", "take_part": "y"}
    upload |= {"description": payload("UploadForm.description"), "teller_kind": "carer"}
    with wav.open("rb") as media:
        upload["media"] = (media, "story.wav")
        stored = post(teller, "/stories/new", upload, content_type="multipart/form-data")
    assert stored.status_code == 200 and stored.request.path.startswith("/stories/")
    teller_user = db.session.scalars(select(User).where(User.username == "gwen")).one()
    story = make_worded_story(teller_user, ["Hello this is a short test of a story about care"])
    wizard = f"/stories/{story.id}/consent"
    answers: dict[str, Any] = {
        "watched": "y",
        "audiences": ["training", "learning_events", "statistics"],
        "clips_allowed": "yes",
        "naming": "first",
        "review_months": "12",
        "recorded_for": "proxy",
        "others-0-name": payload("OtherPersonForm.name"),
        "others-0-agreed": "yes",
    }
    for name in ("proxy_name", "proxy_relationship", "best_interests_note", "notes"):
        answers[name] = payload(f"ConsentForm.{name}")
    bad_date = {**answers, "adult_on": payload("ConsentForm.adult_on")}
    assert post(teller, wizard, bad_date).status_code == 400
    assert post(teller, wizard, answers).status_code == 200  # the confirmation page
    post(teller, wizard, {**answers, "confirm": "1"})
    db.session.expire_all()  # the requests changed it in their own database sessions
    assert story.consent is not None and story.consent.released

    # The words: a correction (with a cue-ending "-->" in it) and who speaks; a phrase to remove
    # that isn't there comes back in the message. Then the captions made from them.
    passage = story.passages[0]
    edit = f"/stories/{story.id}/passages/{passage.id}"
    words = f"{payload('stories/show.html:text')} --> and then"
    post(curator, edit, {"text": words, "speaker": payload("stories/show.html:speaker")})
    post(curator, f"{edit}/redact", {"phrase": payload("stories/show.html:phrase")})
    # A word removed and brought back again, saying why (kept, never shown).
    post(curator, f"{edit}/redact", {"phrase": "and"})
    removed = db.session.scalars(select(Redaction)).one()
    reason = payload("stories/show.html:reason")
    post(curator, f"{edit}/unredact", {"redaction": str(removed.id), "reason": reason})
    db.session.expire_all()
    assert removed.undo_reason == reason
    times = {name: payload(f"people/story.html:{name}") for name in ("start", "end")}
    post(curator, f"/stories/{story.id}/covers", times)
    captions = curator.get(f"/stories/{story.id}/captions.vtt")
    seen.check("captions", captions)
    cues = captions.get_data(as_text=True)
    assert TAGS["stories/show.html:text"] + TEMPLATE in cues
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cues and "--&gt; and then" in cues

    # Themes: an administrator adds one and renames it; a curator tags with words that aren't
    # in the passage (the script's JSON answer, and the plain form's message), then for real.
    theme_form = {"label": payload("themes/taxonomy.html:label")}
    theme_form["description"] = payload("themes/taxonomy.html:description")
    post(admin, "/admin/themes", {**theme_form, "kind": "process"})
    theme = db.session.scalars(select(Subtheme).order_by(Subtheme.id.desc())).first()
    assert theme is not None and theme.label.startswith(TAGS["themes/taxonomy.html:label"])
    post(admin, f"/admin/themes/{theme.id}", {**theme_form, "label": theme_form["label"] + "!"})
    tag = f"/stories/{story.id}/passages/{passage.id}/themes"
    not_there = {"subtheme": theme.id, "words": payload("themes/_panel.html:words")}
    panel = post(curator, tag, not_there, headers={"X-Requested-With": "storyhub-themes"})
    assert panel.status_code == 422 and panel.get_json()["html"]
    post(curator, tag, not_there)
    post(curator, tag, {"subtheme": theme.id, "valence": "positive"})

    # Blind double coding: the curator codes the story with the administrator (its pages show
    # the story's title, words and the themes' names).
    colleague = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first()
    assert colleague is not None
    post(curator, f"/stories/{story.id}/blind", {"colleague": str(colleague.id)})
    assert db.session.scalar(select(BlindRound.story_id)) == story.id

    # A clip, a session with a heading, a prompt and the clip, its details changed.
    clip_form = {"start_word": "0", "end_word": "2"}
    for name in ("title", "note"):
        clip_form[name] = payload(f"ClipForm.{name}")
    post(trainer, f"/stories/{story.id}/clips/new?passage={passage.id}", clip_form)
    clip = db.session.scalars(select(Clip)).one()
    titles = ("title", "summary")
    post(trainer, "/sessions", {name: payload(f"SessionForm.{name}") for name in titles})
    session = db.session.scalars(select(Lesson)).one()
    base = f"/sessions/{session.id}"
    changed = {name: payload(f"SessionForm.{name}") for name in titles}
    post(trainer, f"{base}/details", changed)
    notes = payload("ItemForm.notes")
    post(trainer, f"{base}/items", {"kind": "heading", "text": payload("ItemForm.text")})
    post(trainer, f"{base}/items", {"kind": "prompt", "text": "What changed?", "notes": notes})
    post(trainer, f"{base}/items", {"kind": "clip", "clip": str(clip.id)})

    # A showcase: dates that aren't dates are refused; then its details, the story in it with
    # what to listen for, shared with a member, and an event code for guests (a wrong one is
    # refused).
    now = datetime.now(UTC)
    details = {
        name: payload(f"ShowcaseForm.{name}") for name in ("title", "introduction", "event_place")
    }
    dates = {
        "event_date": (now + timedelta(days=1)).date().isoformat(),
        "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    for name in dates:
        post(
            curator,
            "/showcases",
            {**details, **dates, name: payload(f"ShowcaseForm.{name}")},
        )
    post(curator, "/showcases", {**details, **dates})
    showcase = db.session.scalars(select(Showcase)).one()
    built = f"/showcases/{showcase.id}"
    post(curator, f"{built}/details", {**details, **dates})
    post(curator, f"{built}/items", {"story": str(story.id)})
    item = db.session.scalars(select(ShowcaseItem)).one()
    listen = {"listen_for": payload("ItemChangeForm.listen_for")}
    post(curator, f"{built}/items/{item.id}", listen)
    post(curator, f"{built}/members", {"user": str(member_user.id)})
    coded = post(curator, f"{built}/code", {}).get_data(as_text=True)
    code = _found(r"The event code is ([A-Z0-9]{4}-[A-Z0-9]{4})", coded)
    guest = app.test_client()
    wrong = {"code": payload("EventCodeForm.code")}
    assert post(guest, "/event", wrong, token_page="/event").status_code == 400
    assert post(guest, "/event", {"code": code}, token_page="/event").status_code == 200

    # Search, and query strings that come back in messages.
    search = {name: payload(f"search/search.html:{name}") for name in ("q", "from", "to")}
    seen.check("GET /search", curator.get("/search", query_string=search))
    for probe, (path, name, _) in URL_PROBES.items():
        seen.check(probe, curator.get(path, query_string={name: payload(probe)}))

    # Withdrawing and erasing (another story, so this one stays shared).
    other = make_worded_story(curator_user, ["Words"], title="To withdraw")
    post(curator, f"/stories/{other.id}/withdraw", {"reason": payload("WithdrawForm.reason")})
    erase = {"reason": payload("EraseForm.reason"), "understood": "y"}
    post(curator, f"/stories/{other.id}/erase", erase)

    users = {u.role: u for u in db.session.scalars(select(User))}
    tokens = {role.value: issue_api_token(user, "xss") for role, user in users.items()}
    db.session.commit()
    clients = {"admin": admin, "curator": curator, "trainer": trainer, "teller": teller}
    clients |= {"member": member, "guest": guest, "anonymous": anonymous}
    return Archive(clients=clients, api_tokens=tokens, inspector=seen, join_token=join[6:])


# Routes that answer with media bytes: nobody's typing is in them. (Captions and the handout are
# text, and are checked: captions by the crawl, the handout and the pack below.)
BYTES = {
    "static",
    "stories.media",
    "showcases.media",
    "training.clip_file",
    "training.download",
    "showcases.take_pack",
    "api.download_clip_file",
    "api.download_export",
    "qda.export_qdpx",  # a zip; its XML is checked against the REFI-QDA schema in test_qda.py
    "api_docs.static",  # the API docs page's script and Swagger UI's files
    "api_docs.swagger_ui",
}


def _values(archive: Archive) -> dict[str, list[Any]]:
    """Real values for every kind of path parameter."""
    return {
        "story_id": list(db.session.scalars(select(Story.id))),
        "passage_id": list(db.session.scalars(select(Passage.id))),  # "more like this"
        "clip_id": list(db.session.scalars(select(Clip.id))),
        "session_id": list(db.session.scalars(select(Lesson.id))),
        "showcase_id": list(db.session.scalars(select(Showcase.id))),
        "item_id": list(db.session.scalars(select(ShowcaseItem.id))),
        "job_id": list(db.session.scalars(select(Job.id))),
        "token": [archive.join_token],
        "round_id": list(db.session.scalars(select(BlindRound.id))),
        "code": ["cy", "en"],  # the language link
    }


def _crawl(app: Flask, archive: Archive) -> None:
    """GET every page and API address, with every real id, as every kind of person."""
    values = _values(archive)
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in BYTES:
            continue
        names = sorted(rule.arguments)
        assert set(names) <= set(values), f"no values for {rule.rule}"
        for combination in itertools.product(*(values[n] for n in names)):
            path = rule.rule
            for name, value in zip(names, combination, strict=True):
                path = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), path)
            if path.startswith("/api/"):
                for role, token in archive.api_tokens.items():
                    response = app.test_client().get(
                        path, headers={"Authorization": f"Bearer {token}"}
                    )
                    archive.inspector.check(f"GET {path} as {role}", response)
            else:
                for who, client in archive.clients.items():
                    archive.inspector.check(f"GET {path} as {who}", client.get(path))


def test_payloads_in_every_field_are_shown_only_as_text(
    queued: None, app: Flask, login_as: Callable[[Role], tuple[FlaskClient, User]], wav: Path
) -> None:
    archive = _fill_every_field(app, login_as, wav)
    sync_pending()  # the worker's part: put the new words into the search index
    curator = archive.clients["curator"]
    for where in ("/search", "/api/v1/search"):
        headers = {"Authorization": f"Bearer {archive.api_tokens['curator']}"}
        found = curator.get(where, query_string={"q": "then"}, headers=headers)
        archive.inspector.check(f"GET {where}?q=then", found)
        assert TAGS["stories/show.html:text"] + TEMPLATE in found.get_data(as_text=True)
    _crawl(app, archive)
    inspector = archive.inspector
    assert inspector.answers > 300
    assert not inspector.problems, "\n".join(sorted(set(inspector.problems)))
    expected = {key: is_shown for key, (is_shown, _) in FIELDS.items()}
    expected.update({probe: is_shown for probe, (_, _, is_shown) in URL_PROBES.items()})
    shown = {key for key, is_shown in expected.items() if is_shown}
    assert shown <= set(inspector.seen), f"never shown back: {sorted(shown - set(inspector.seen))}"
    hidden = {key for key, is_shown in expected.items() if not is_shown}
    assert not hidden & set(inspector.seen), {k: inspector.seen[k] for k in hidden}


# --- captions, handouts and offline packs ------------------------------------------------------


def test_a_session_handout_keeps_typed_text_inert_and_fetches_nothing(
    app: Flask, make_user: Callable[..., User], tmp_path: Path
) -> None:
    """The handout is HTML made into a PDF by WeasyPrint, which fetches what the page refers to:
    a title must not end the CSS string it is put in (a newline would) and add a rule that makes
    the worker fetch an address of the writer's choosing."""
    from weasyprint import HTML

    trainer, teller = make_user(Role.TRAINER), make_user(Role.STORYTELLER)
    story = clip_story(teller, [f"{ATTACK} and more words here"], title=payload("UploadForm.title"))
    clip = services.create_clip(trainer, story, 0, 3, payload("ClipForm.title"))
    title = "Ours\n}} body { background: url(http://127.0.0.1:9/fetched) } @page { x { " + ATTACK
    session = services.create_session(trainer, title[:200], payload("SessionForm.summary"))
    db.session.flush()
    services.add_item(trainer, session, "heading", text=payload("ItemForm.text"))
    services.add_item(trainer, session, "clip", clip_id=clip.id)
    db.session.commit()
    export = LessonExport(session=session, requested_by=trainer, burn_captions=False)
    db.session.add(export)
    handout = exports.render_handout(export, exports.plan_export(trainer, session))
    assert TAGS["ItemForm.text"] + TEMPLATE in handout
    assert html_problems(handout) == []

    fetched: list[str] = []

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        fetched.append(url)
        raise ValueError("this test fetches nothing")

    HTML(string=handout, url_fetcher=fetch).write_pdf(tmp_path / "handout.pdf")
    assert fetched == []


def test_the_handout_printer_fetches_no_address_at_all(tmp_path: Path) -> None:
    """Whatever reaches the handout's HTML, the worker's PDF printer fetches nothing: a local
    server sees a request from WeasyPrint's own fetcher, and none from the handout's."""
    import http.server
    import threading

    from weasyprint import HTML

    from storyhub.training.exports import _fetch_nothing

    asked: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = f'<img src="http://127.0.0.1:{server.server_port}/fetched">'
        HTML(string=page).write_pdf(tmp_path / "default.pdf")
        assert asked == ["/fetched"]  # the default fetcher goes out
        HTML(string=page, url_fetcher=_fetch_nothing()).write_pdf(tmp_path / "handout.pdf")
        assert asked == ["/fetched"]  # the handout's does not
    finally:
        server.shutdown()
        server.server_close()


def test_text_in_a_css_string_reads_back_as_typed_and_cannot_leave_it() -> None:
    """The handout's footer puts the session's title in a CSS string inside <style>, where HTML
    escapes are not decoded: an apostrophe has to arrive as an apostrophe, and nothing may end
    the string or the element."""
    from storyhub.filters import css_string

    typed = 'Carers\' week "1"\n</style><script>alert(1)</script> \\ café 😀'
    written = str(css_string(typed))
    assert re.fullmatch(r"(?:[A-Za-z0-9]|\\[0-9A-F]{6})*", written), written
    # What a CSS reader makes of it: an escape, then one space after it is swallowed.
    read = re.sub(r"\\([0-9A-F]{1,6})[ \t\n]?", lambda m: chr(int(m.group(1), 16)), written)
    assert read == typed


def test_an_offline_pack_keeps_typed_text_inert(
    app: Flask,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The pack's page carries its captions as JSON inside a script: the words must stay data."""
    import media_pipeline.clips

    curator, teller = make_user(Role.CURATOR), make_user(Role.STORYTELLER)
    words = f"{payload('stories/show.html:text')} --> and then"
    story = clip_story(
        teller, [words], title=payload("UploadForm.title"), audiences={Audience.LEARNING_EVENTS}
    )
    showcase = showcase_services.create_showcase(
        curator,
        payload("ShowcaseForm.title"),
        payload("ShowcaseForm.introduction"),
    )
    showcase_services.add_item(showcase, story, note=payload("ItemChangeForm.listen_for"))
    db.session.commit()
    # The media cut is ffmpeg's work, tested elsewhere; here only the words matter.
    monkeypatch.setattr(
        media_pipeline.clips, "cut_clip", lambda source, dest, *a, **kw: dest.write_bytes(b"")
    )
    pack.write_pack(showcase, tmp_path / "pack.zip", tmp_path / "work")
    folder = tmp_path / "work" / "showcase"
    page = (folder / "index.html").read_text()
    assert html_problems(page) == []
    for key in (
        "UploadForm.title",
        "ShowcaseForm.title",
        "ItemChangeForm.listen_for",
    ):
        assert TAGS[key] + TEMPLATE in page, key
    cues = json.loads(_found(r"const CUES = (.*);\n", page))
    said = " ".join(c["text"] for entry in cues.values() for c in entry).replace("\n", " ")
    assert "<script>alert(1)</script>" in said  # the words as data, whole
    captions = [path.read_text() for path in folder.glob("*.vtt")]
    assert captions and all(webvtt_problems(text) == [] for text in captions)
    assert any("&lt;script&gt;" in text for text in captions)


# --- wrong content types ------------------------------------------------------------------------

JSON_OPERATIONS = [
    (method.upper(), path)
    for path, operations in openapi_document()["paths"].items()
    for method, operation in operations.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]
WRONG_BODIES: dict[str, dict[str, Any]] = {
    "form-encoded": {"data": {"title": "A title"}},
    "text/plain": {"data": '{"title": "A title"}', "content_type": "text/plain"},
    "broken JSON": {"data": '{"title": ', "content_type": "application/json"},
    "a JSON list": {"data": '["title"]', "content_type": "application/json"},
    "JSON nested too deep": {"data": "[" * 100_000, "content_type": "application/json"},
    "not UTF-8": {"data": b'{"title": "\xff"}', "content_type": "application/json"},
    "no body": {"data": b"", "content_type": "application/json"},
}


@pytest.fixture
def owned(app: Flask, make_user: Callable[..., User]) -> dict[str, Any]:
    """A curator with an API token, and real objects of theirs for every kind of id."""
    curator, teller = make_user(Role.CURATOR), make_user(Role.STORYTELLER)
    story = clip_story(teller, ["One two three four five six"], title="Shared")
    clip = services.create_clip(curator, story, 0, 2, "A clip")
    session = services.create_session(curator, "A session")
    db.session.flush()
    item = services.add_item(curator, session, "clip", clip_id=clip.id)
    token = issue_api_token(curator, "test")
    db.session.commit()
    return {
        "user": curator,
        "headers": {"Authorization": f"Bearer {token}"},
        "ids": {
            "story_id": story.id,
            "clip_id": clip.id,
            "session_id": session.id,
            "item_id": item.id,
        },
    }


def test_json_api_answers_a_wrong_body_with_a_json_400(app: Flask, owned: dict[str, Any]) -> None:
    assert len(JSON_OPERATIONS) >= 10
    client = app.test_client()
    wrong = []
    for (method, path), (kind, body) in itertools.product(JSON_OPERATIONS, WRONG_BODIES.items()):
        url = "/api/v1" + path.format(**owned["ids"])
        response = client.open(url, method=method, headers=owned["headers"], **body)
        error = (response.get_json(silent=True) or {}).get("error", {})
        if response.status_code != 400 or error.get("code") != "bad_request":
            wrong.append(f"{method} {path} with {kind}: {response.status_code} {error}")
    assert not wrong, "\n".join(wrong)


def test_the_upload_api_answers_json_with_a_json_400(app: Flask, owned: dict[str, Any]) -> None:
    response = app.test_client().post(
        "/api/v1/stories", json={"title": "A story", "take_part": "yes"}, headers=owned["headers"]
    )
    assert response.status_code == 400
    assert "media" in response.get_json()["error"]["fields"]


def test_form_posts_sent_as_json_get_the_sites_own_answer(
    queued: None, app: Flask, owned: dict[str, Any]
) -> None:
    """Every form of the site, sent as JSON (with a valid CSRF token, so the view itself
    answers) by a curator whose objects they are: never a server error, and a refusal is the
    site's page, not a bare one."""
    from storyhub.themes.services import add_tag

    curator = owned["user"]
    client = app.test_client()
    login(client, curator.username)
    passage = db.session.scalars(select(Passage)).first()
    assert passage is not None
    theme = db.session.scalars(select(Subtheme)).first()
    assert theme is not None
    tag = add_tag(passage, theme, curator)
    showcase = showcase_services.create_showcase(curator, "A showcase")
    from storyhub.agreement.services import start_round
    from storyhub.auth.services import create_user

    colleague = create_user("colleague", PASSWORD, Role.ADMIN, "A colleague")
    blind = start_round(passage.story, curator, colleague.id)
    db.session.commit()
    values = {
        **owned["ids"],
        "passage_id": passage.id,
        "subtheme_id": theme.id,
        "tag_id": tag.id,
        "showcase_id": showcase.id,
        "token": "not-a-token",
        "index": 0,  # another person in the story (there is none: a friendly message)
        "round_id": blind.id,
        "version_id": 999999,  # what the tagger learnt: a version that isn't kept
    }
    token = csrf_token(client, "/")
    posts = sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())),
        # Last: those that end something (the session, the story, the object).
        key=lambda rule: (
            rule.endpoint == "auth.logout",
            "delete" in rule.rule
            or rule.endpoint in ("stories.consent_erase", "stories.consent_withdraw"),
            rule.rule,
        ),
    )
    answered = []
    for rule in posts:
        if rule.rule.startswith("/api/"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[^:>]+:)?{name}>", str(values[name]), url)
        response = client.post(
            url, json={"title": ATTACK, "text": ATTACK}, headers={"X-CSRFToken": token}
        )
        answered.append((url, response.status_code))
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
        if 400 <= response.status_code < 500 and response.mimetype == "text/html":
            assert '<main id="main"' in response.get_data(as_text=True), url
        assert html_problems(response.get_data(as_text=True)) == [], url
    assert len(answered) >= 40
    assert {status for _, status in answered} >= {302, 400}


# --- upload file names --------------------------------------------------------------------------


def _multipart(fields: dict[str, str], filename: bytes, content: bytes) -> tuple[bytes, str]:
    """A form body written by hand, so the file name arrives exactly as a client sent it."""
    boundary = "hostile-boundary-7d1f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: audio/wav\r\n\r\n'
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


HOSTILE_NAMES = {
    # Quoted as the header allows (a backslash escapes the next character), it arrives as
    # ..\..\windows\win.wav; sent bare, the parser drops the backslashes.
    "backslashes": b"..\\\\..\\\\windows\\\\win.wav",
    "bare backslashes": b"..\\..\\win.wav",
    "absolute path": b"/etc/cron.d/evil.wav",
    "dots and slashes": b"....//....//evil.wav",
    "a NUL byte": b"evil\x00.sh.wav",
    "a very long name": b"x" * 5000 + b".wav",
    "right-to-left override": "story\u202evaw.exe.wav".encode(),
    "only dots": b"...wav",
}


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_hostile_file_names_never_name_a_file_on_disk(
    case: str,
    queued: None,
    app: Flask,
    login_as: Callable[[Role], tuple[FlaskClient, User]],
    wav: Path,
    tmp_path: Path,
) -> None:
    """Beyond test_uploads (a relative path reduced to its last part): names that are paths in
    other ways, or are odd, are kept only as a label; the file is stored under a name we make."""
    client, _ = login_as(Role.STORYTELLER)
    fields = {
        "csrf_token": csrf_token(client, "/stories/new"),
        "title": "A story",
        "language": "en",
        "teller_kind": "carer",
        "take_part": "y",
    }
    body, content_type = _multipart(fields, HOSTILE_NAMES[case], wav.read_bytes())
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    response = client.post("/stories/new", data=body, content_type=content_type)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    root = Path(app.config["MEDIA_ROOT"]).resolve()
    stored = db.session.scalars(select(MediaFile)).one()
    assert re.fullmatch(r"stories/[0-9a-f]{32}/original\.wav", stored.storage_key)
    assert not re.search(r"[/\\]", stored.original_filename)
    assert len(stored.original_filename) <= 255
    # Nothing new anywhere but the story's own file (and the databases and queue).
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    made = {p for p in new if not p.name.endswith((".sqlite3", "-journal", "-wal", "-shm"))}
    assert made == {root / stored.storage_key}, made


# --- cookies ------------------------------------------------------------------------------------


def _session_cookie(response: Any) -> str:
    cookies = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def _flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_session_cookie_is_http_only_and_same_site_and_secure_only_over_https(
    scheme: str, app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.CURATOR)
    client = app.test_client()
    base = f"{scheme}://storyhub.test"
    # The sign-in form's CSRF token starts a session; signing in replaces it.
    form = client.get("/login", base_url=base)
    found = CSRF_PATTERN.search(form.get_data(as_text=True))
    assert found is not None
    token = found.group(1) or found.group(2)
    signed_in = client.post(
        "/login",
        base_url=base,
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        # Over HTTPS the CSRF check also wants the page the form came from, as browsers send.
        headers={"Referer": f"{base}/login"},
    )
    assert signed_in.status_code == 302
    for response in (form, signed_in):
        cookie = _session_cookie(response)
        assert {"httponly", "path"} <= _flags(cookie)
        assert "SameSite=Lax" in cookie
        assert ("secure" in _flags(cookie)) is (scheme == "https"), cookie
    assert app.config["SESSION_COOKIE_SECURE"] is False  # so Secure came from the scheme


# --- security headers on every kind of response --------------------------------------------------


@pytest.fixture
def small_uploads(app_config: dict[str, Any]) -> None:
    app_config["MAX_UPLOAD_MB"] = 1


def test_every_kind_of_response_carries_the_security_headers(
    small_uploads: None,
    app: Flask,
    login_as: Callable[[Role], tuple[FlaskClient, User]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    curator, curator_user = login_as(Role.CURATOR)
    teller, _ = login_as(Role.STORYTELLER)
    anonymous = app.test_client()
    story = make_worded_story(curator_user, ["Some words"], title="Headers")
    rendition = story.media_file(MediaRole.RENDITION)
    assert rendition is not None
    sound = tmp_path / "sound.m4a"
    sound.write_bytes(b"\x00" * 4096)
    get_storage().put_file(sound, rendition.storage_key)
    token = issue_api_token(curator_user, "headers")
    db.session.commit()
    api = {"Authorization": f"Bearer {token}"}

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    answers = {
        "page": (200, curator.get("/")),
        "redirect": (302, anonymous.get("/stories")),
        "not found": (404, curator.get("/no/such/page")),
        "forbidden": (403, teller.get("/invitations")),
        "CSRF refused": (400, curator.post("/logout")),
        "wrong method": (405, curator.delete("/")),
        "too large": (
            413,
            curator.post(
                "/stories/new",
                data={"media": (io.BytesIO(b"x" * (3 << 20)), "big.wav")},
                content_type="multipart/form-data",
            ),
        ),
        "JSON": (200, anonymous.get("/healthz")),
        "API JSON": (200, anonymous.get("/api/v1/openapi.json")),
        "API error": (401, anonymous.get("/api/v1/stories")),
        "API data": (200, anonymous.get("/api/v1/stories", headers=api)),
        "media bytes": (200, curator.get(f"/stories/{story.id}/media/rendition")),
        "media range": (
            206,
            curator.get(f"/stories/{story.id}/media/rendition", headers={"Range": "bytes=0-99"}),
        ),
        "captions": (200, curator.get(f"/stories/{story.id}/captions.vtt")),
        "CSV": (200, curator.get("/dashboard/outcomes.csv")),
        "static file": (200, anonymous.get("/static/css/storyhub.css")),
        "static not modified": (
            304,
            anonymous.get(
                "/static/css/storyhub.css",
                headers={"If-Modified-Since": "Sun, 01 Jan 2090 00:00:00 GMT"},
            ),
        ),
    }
    monkeypatch.setattr(db.session, "execute", broken)
    answers["server error"] = (500, anonymous.get("/healthz"))
    for kind, (status, response) in answers.items():
        assert response.status_code == status, (kind, response.status_code)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (kind, name)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# --- the real server: huge headers, and HTTPS behind a proxy -------------------------------------


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The production server (gunicorn and the worker), started once for these tests."""
    with running_site(site_env(tmp_path_factory.mktemp("live") / "instance")) as url:
        yield url


def _raw_request(url: str, request: bytes) -> bytes:
    """Send bytes as they are (no client library tidying them) and read the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _get(target: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join([b"GET " + target + b" HTTP/1.1", b"Host: x", *headers, b"", b""])


BIG = b"a" * 100_000
HUGE_REQUESTS = {
    "a 100 KB header": _get(b"/healthz", b"X-Big: " + BIG),
    "200 headers": _get(b"/healthz", *(b"X-H%d: v" % n for n in range(200))),
    "a 100 KB cookie": _get(b"/", b"Cookie: session=" + BIG),
    "a 100 KB address": _get(b"/healthz?" + BIG),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(HUGE_REQUESTS))
def test_huge_requests_get_a_4xx_and_the_site_keeps_answering(live_site: str, case: str) -> None:
    answer = _raw_request(live_site, HUGE_REQUESTS[case])
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert requests.get(f"{live_site}/healthz", timeout=10).json() == {"status": "ok"}


@pytest.mark.slow
def test_behind_a_tls_proxy_the_session_cookie_is_secure(live_site: str) -> None:
    """A proxy on this machine that ends TLS says so in X-Forwarded-Proto; gunicorn believes
    it (it comes from an address it trusts) and the app marks the cookie Secure."""
    over_http = requests.get(f"{live_site}/login", timeout=10)
    over_https = requests.get(
        f"{live_site}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10
    )
    for response in (over_http, over_https):
        assert response.status_code == 200
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    plain, secure = over_http.headers["Set-Cookie"], over_https.headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    assert "HttpOnly" in secure and "SameSite=Lax" in secure and "Secure" in secure
