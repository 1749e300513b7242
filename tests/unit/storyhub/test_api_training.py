"""Clips and training sessions through the JSON API: trainers only, word numbers for bounds,
consent deciding what a clip shows, other people's things not found, and forged values answered
with plain 400s (never a 500)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.models import Audience
from consent.services import withdraw
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import Role, Story, User
from storyhub.training import services as training
from storyhub.training.models import Clip, Lesson
from tests.training_factory import clip_story, make_video

Api = tuple[FlaskClient, User, dict[str, str]]
MakeApi = Callable[..., Api]

PASSAGES = [
    "I was lonely after the stroke and nobody called",
    "Then the volunteers came every Tuesday and we talked",
    "Now I go to the club and I help with the tea",
]


@pytest.fixture
def api(app: Flask, make_user: Callable[..., User]) -> MakeApi:
    """A client, a user of ``role`` and the headers carrying their API token."""

    def make(role: Role = Role.TRAINER, user: User | None = None) -> Api:
        user = user or make_user(role)
        token = issue_api_token(user, "test")
        db.session.commit()
        return app.test_client(), user, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, display_name="Mary Jones")


@pytest.fixture
def story(app: Flask, teller: User) -> Story:
    return clip_story(teller, PASSAGES, title="Finding the club")


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


def _new_clip(
    client: FlaskClient, headers: dict[str, str], story: Story, first: int = 0, last: int = 4
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/clips",
        json={"story_id": story.id, "start_word": first, "end_word": last, "title": "A clip"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    clip: dict[str, Any] = response.get_json()
    return clip


def _new_session(client: FlaskClient, headers: dict[str, str], title: str = "Loneliness") -> int:
    response = client.post("/api/v1/sessions", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    session_id: int = response.get_json()["id"]
    return session_id


def _add(
    client: FlaskClient, headers: dict[str, str], session_id: int, **item: Any
) -> dict[str, Any]:
    response = client.post(f"/api/v1/sessions/{session_id}/items", json=item, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    added: dict[str, Any] = response.get_json()
    return added


def _clip_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Clip)) or 0


# --- clips -----------------------------------------------------------------------------------


def test_a_trainer_cuts_a_clip_by_word_numbers_and_reads_it_back(
    api: MakeApi, story: Story
) -> None:
    client, trainer, headers = api(Role.TRAINER)
    listed = client.get(f"/api/v1/stories/{story.id}/words", headers=headers)
    assert listed.status_code == 200
    words = listed.get_json()["words"]
    assert [w["index"] for w in words] == list(range(len(words)))
    assert " ".join(w["text"] for w in words) == " ".join(PASSAGES)
    assert set(words[0]) >= {"index", "start", "end", "text", "redacted"}
    # From "volunteers" to "we": the second passage, two words in, one word short of its end.
    first = next(w for w in words if w["text"] == "volunteers")
    last = next(w for w in words if w["text"] == "we")
    response = client.post(
        "/api/v1/clips",
        json={
            "story_id": story.id,
            "start_word": first["index"],
            "end_word": last["index"],
            "title": "Volunteers",
            "note": "Good for the opening",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    clip = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/clips/{clip['id']}")
    assert clip["start"] == first["start"] and clip["end"] == last["end"]
    assert clip["duration"] == pytest.approx(last["end"] - first["start"])
    assert clip["start_word"] == first["index"] and clip["end_word"] == last["index"]
    assert clip["text"] == "volunteers came every Tuesday and we"
    assert clip["usable"] is True and clip["reason"] is None and clip["redacted"] is False
    assert clip["story_id"] == story.id and clip["story_title"] == "Finding the club"
    assert clip["note"] == "Good for the opening"
    stored = db.session.get(Clip, clip["id"])
    assert stored is not None and stored.owner_id == trainer.id
    assert stored.consent_id == story.consent_id
    # Read back, alone and in the list.
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=headers).get_json() == clip
    assert client.get("/api/v1/clips", headers=headers).get_json() == {"clips": [clip]}
    # A change of title alone keeps the words; a new last word moves only the end.
    renamed = client.patch(
        f"/api/v1/clips/{clip['id']}", json={"title": "Every Tuesday"}, headers=headers
    )
    assert renamed.status_code == 200
    assert renamed.get_json()["title"] == "Every Tuesday"
    assert renamed.get_json()["text"] == clip["text"]
    longer = client.patch(
        f"/api/v1/clips/{clip['id']}", json={"end_word": last["index"] + 1}, headers=headers
    )
    assert longer.status_code == 200
    assert longer.get_json()["text"] == "volunteers came every Tuesday and we talked"
    assert longer.get_json()["note"] == "Good for the opening"
    # Deleted: gone, and not found any more.
    assert client.delete(f"/api/v1/clips/{clip['id']}", headers=headers).status_code == 204
    _error(client.get(f"/api/v1/clips/{clip['id']}", headers=headers), 404, "not_found")
    assert _clip_count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"story_id": "1"}, "story_id must be a whole number"),
        ({"story_id": None}, "story_id is needed"),
        ({"start_word": "0"}, "start_word must be a whole number"),
        ({"start_word": 1.5}, "start_word must be a whole number"),
        ({"start_word": True}, "start_word must be a whole number"),
        ({"end_word": [3]}, "end_word must be a whole number"),
        ({"end_word": {"n": 3}}, "end_word must be a whole number"),
        ({"title": ["A clip"]}, "title must be text"),
        ({"title": 5}, "title must be text"),
        ({"note": {"x": 1}}, "note must be text"),
        ({"title": "   "}, "Please give the clip a title"),
        ({"title": "t" * 201}, "at most 200 characters"),
        ({"end_word": 9999}, "not in this story"),
        ({"start_word": -1}, "not in this story"),
        ({"end_word": 10**30}, "not in this story"),
        ({"start_word": 5, "end_word": 2}, "must end after it starts"),
        ({"start": 0.0, "end": 4.0}, "word numbers (start_word, end_word)"),
        ({"surprise": 1}, "Unknown field(s): surprise"),
    ],
)
def test_forged_clip_values_get_a_plain_400_and_save_nothing(
    api: MakeApi, story: Story, change: dict[str, Any], message: str
) -> None:
    client, _, headers = api(Role.TRAINER)
    body = {"story_id": story.id, "start_word": 0, "end_word": 3, "title": "A clip", **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/clips", json=body, headers=headers)
    assert message in _error(response, 400, "invalid")
    assert _clip_count() == 0


@pytest.mark.parametrize(
    "send",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": ""},
        {"json": [1, 2, 3]},
        {"json": "a string"},
        {"json": None},
    ],
)
def test_a_missing_or_non_object_body_is_a_plain_400(
    api: MakeApi, story: Story, send: dict[str, Any]
) -> None:
    client, _, headers = api(Role.TRAINER)
    session_id = _new_session(client, headers)
    for method, path in [
        ("post", "/api/v1/clips"),
        ("post", "/api/v1/sessions"),
        ("patch", f"/api/v1/sessions/{session_id}"),
        ("post", f"/api/v1/sessions/{session_id}/items"),
        ("put", f"/api/v1/sessions/{session_id}/order"),
        ("post", f"/api/v1/sessions/{session_id}/exports"),
    ]:
        response = getattr(client, method)(path, headers=headers, **send)
        assert _error(response, 400, "bad_request") == "Send a JSON object."


def test_clips_need_the_tellers_permission_and_a_visible_story(api: MakeApi, teller: User) -> None:
    no_clips = clip_story(teller, PASSAGES, clips_allowed=False)
    members_only = clip_story(teller, PASSAGES, audiences={Audience.LEARNING_EVENTS})
    client, _, headers = api(Role.TRAINER)
    body = {"start_word": 0, "end_word": 3, "title": "A clip"}
    # Seen, but its storyteller does not allow clips: the plain reason, for words and clips.
    refused = client.post("/api/v1/clips", json={"story_id": no_clips.id, **body}, headers=headers)
    assert "does not allow clips" in _error(refused, 400, "invalid")
    words = client.get(f"/api/v1/stories/{no_clips.id}/words", headers=headers)
    assert "does not allow clips" in _error(words, 400, "invalid")
    # Not shared for training, or not there at all: not found, alike.
    for story_id in (members_only.id, 999999, 2**40):
        missing = client.post("/api/v1/clips", json={"story_id": story_id, **body}, headers=headers)
        _error(missing, 404, "not_found")
        _error(client.get(f"/api/v1/stories/{story_id}/words", headers=headers), 404, "not_found")
    assert _clip_count() == 0


# --- who may do what ---------------------------------------------------------------------------


def test_other_trainers_clips_and_sessions_are_not_found(api: MakeApi, story: Story) -> None:
    owner, _, owner_headers = api(Role.TRAINER)
    clip = _new_clip(owner, owner_headers, story)
    session_id = _new_session(owner, owner_headers)
    item = _add(owner, owner_headers, session_id, kind="clip", clip_id=clip["id"])
    intruder, _, headers = api(Role.TRAINER)
    clip_path, session_path = f"/api/v1/clips/{clip['id']}", f"/api/v1/sessions/{session_id}"
    attempts = [
        ("get", clip_path, None),
        ("patch", clip_path, {"title": "Mine now"}),
        ("delete", clip_path, None),
        ("get", session_path, None),
        ("patch", session_path, {"title": "Mine now"}),
        ("delete", session_path, None),
        ("post", f"{session_path}/items", {"kind": "prompt", "text": "Hello"}),
        ("patch", f"{session_path}/items/{item['id']}", {"notes": "x"}),
        ("delete", f"{session_path}/items/{item['id']}", None),
        ("put", f"{session_path}/order", {"items": [item["id"]]}),
        ("post", f"{session_path}/duplicate", None),
        ("post", f"{session_path}/exports", {}),
        ("get", f"{session_path}/exports", None),
        ("get", "/api/v1/clips/999999", None),
        ("get", f"/api/v1/clips/{2**40}", None),
        ("get", f"/api/v1/sessions/{2**40}", None),
    ]
    for method, path, body in attempts:
        response = getattr(intruder, method)(path, json=body, headers=headers)
        _error(response, 404, "not_found")
    # Their own session can't take someone else's clip either (said the same way as a bad id).
    mine = _new_session(intruder, headers, "Mine")
    for clip_id in (clip["id"], 999999, 2**40):
        taken = intruder.post(
            f"/api/v1/sessions/{mine}/items",
            json={"kind": "clip", "clip_id": clip_id},
            headers=headers,
        )
        assert _error(taken, 400, "invalid") == "Please choose one of your clips."
    assert intruder.get("/api/v1/clips", headers=headers).get_json() == {"clips": []}
    listing = intruder.get("/api/v1/sessions", headers=headers).get_json()
    assert [s["id"] for s in listing["owned"]] == [mine] and listing["shared"] == []
    # Nothing of the owner's changed.
    session = db.session.get(Lesson, session_id)
    assert session is not None and session.title == "Loneliness" and len(session.items) == 1
    assert db.session.get(Clip, clip["id"]) is not None


@pytest.mark.parametrize("role", [Role.STORYTELLER, Role.MEMBER])
def test_roles_that_do_not_train_are_forbidden(api: MakeApi, story: Story, role: Role) -> None:
    trainer, _, trainer_headers = api(Role.TRAINER)
    clip = _new_clip(trainer, trainer_headers, story)
    session_id = _new_session(trainer, trainer_headers)
    client, _, headers = api(role)
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("get", "/api/v1/clips", None),
        ("post", "/api/v1/clips", {"story_id": story.id, "start_word": 0, "end_word": 2}),
        ("get", f"/api/v1/clips/{clip['id']}", None),
        ("patch", f"/api/v1/clips/{clip['id']}", {"title": "x"}),
        ("delete", f"/api/v1/clips/{clip['id']}", None),
        ("get", f"/api/v1/stories/{story.id}/words", None),
        ("get", "/api/v1/sessions", None),
        ("post", "/api/v1/sessions", {"title": "x"}),
        ("get", f"/api/v1/sessions/{session_id}", None),
        ("delete", f"/api/v1/sessions/{session_id}", None),
        ("put", f"/api/v1/sessions/{session_id}/order", {"items": []}),
        ("post", f"/api/v1/sessions/{session_id}/exports", {}),
        ("get", f"/api/v1/sessions/{session_id}/exports", None),
    ]
    for method, path, body in attempts:
        response = getattr(client, method)(path, json=body, headers=headers)
        _error(response, 403, "forbidden")


def test_no_token_no_clips_or_sessions(app: Flask, story: Story) -> None:
    client = app.test_client()
    for method, path in [
        ("get", "/api/v1/clips"),
        ("post", "/api/v1/clips"),
        ("get", f"/api/v1/stories/{story.id}/words"),
        ("get", "/api/v1/sessions"),
        ("post", "/api/v1/sessions"),
        ("get", "/api/v1/sessions/1"),
        ("put", "/api/v1/sessions/1/order"),
    ]:
        response = getattr(client, method)(path, json={})
        _error(response, 401, "unauthorised")
        bad = getattr(client, method)(path, json={}, headers={"Authorization": "Bearer nope"})
        _error(bad, 401, "unauthorised")


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_is_built_reordered_and_a_stale_order_refused(
    api: MakeApi, teller: User, story: Story
) -> None:
    other = clip_story(teller, PASSAGES, title="Going home")
    client, _, headers = api(Role.TRAINER)
    created = client.post(
        "/api/v1/sessions", json={"title": "Loneliness", "summary": "For new volunteers"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201
    session = created.get_json()
    assert session["items"] == [] and session["editable"] is True
    assert created.headers["Location"].endswith(f"/api/v1/sessions/{session['id']}")
    path = f"/api/v1/sessions/{session['id']}"
    first_clip = _new_clip(client, headers, story)
    second_clip = _new_clip(client, headers, other, 9, 17)
    heading = _add(client, headers, session["id"], kind="heading", text="Before")
    clip_item = _add(client, headers, session["id"], kind="clip", clip_id=first_clip["id"])
    second_item = _add(client, headers, session["id"], kind="clip", clip_id=second_clip["id"])
    prompt = _add(
        client, headers, session["id"], kind="prompt", text="What would you do?",
        notes="Give them 5 minutes",
    )  # fmt: skip
    assert [heading["position"], clip_item["position"], prompt["position"]] == [0, 1, 3]
    assert clip_item["clip"]["id"] == first_clip["id"] and clip_item["clip"]["usable"] is True
    assert prompt["notes"] == "Give them 5 minutes"
    # Odd items are refused in plain words.
    for bad, message in [
        ({"kind": "video"}, "Please choose a heading"),
        ({"kind": 3}, "kind must be text"),
        ({}, "kind is needed"),
        ({"kind": "prompt", "text": ""}, "Please give the discussion prompt"),
        ({"kind": "prompt", "text": ["x"]}, "text must be text"),
        ({"kind": "clip", "clip_id": "abc"}, "clip_id must be a whole number"),
        ({"kind": "clip"}, "Please choose one of your clips."),
    ]:
        response = client.post(f"{path}/items", json=bad, headers=headers)
        assert message in _error(response, 400, "invalid")
    ids = [heading["id"], clip_item["id"], second_item["id"], prompt["id"]]
    read = client.get(path, headers=headers).get_json()
    assert [i["id"] for i in read["items"]] == ids
    assert [i["kind"] for i in read["items"]] == ["heading", "clip", "clip", "prompt"]
    assert read["items"][1]["clip"]["text"] == "I was lonely after the"
    assert read["item_count"] == 4 and read["summary"] == "For new volunteers"
    # The whole new order at once.
    new_order = [ids[3], ids[0], ids[2], ids[1]]
    moved = client.put(f"{path}/order", json={"items": new_order}, headers=headers)
    assert moved.status_code == 200
    assert [i["id"] for i in moved.get_json()["items"]] == new_order
    assert [i["position"] for i in moved.get_json()["items"]] == [0, 1, 2, 3]
    # A stale or forged order (missing, repeated, foreign ids, wrong types) changes nothing.
    for forged, message in [
        ({"items": ids[:2]}, "changed since"),
        ({"items": [ids[0]] * 4}, "changed since"),
        ({"items": [*ids[:3], 999999]}, "changed since"),
        ({"items": ["a", "b", "c", "d"]}, "must be a list"),
        ({"items": [str(i) for i in new_order]}, "must be a list"),
        ({"items": [True, False, 1, 2]}, "must be a list"),
        ({"items": ",".join(map(str, ids))}, "must be a list"),
        ({}, "must be a list"),
        ({"order": new_order}, "Unknown field(s): order"),
    ]:
        response = client.put(f"{path}/order", json=forged, headers=headers)
        assert message in _error(response, 400, "invalid")
    # An order made before an item was added is stale too.
    late = _add(client, headers, session["id"], kind="prompt", text="And now?")
    stale = client.put(f"{path}/order", json={"items": new_order}, headers=headers)
    assert "changed since" in _error(stale, 400, "invalid")
    read = client.get(path, headers=headers).get_json()
    assert [i["id"] for i in read["items"]] == [*new_order, late["id"]]
    # Items and details change; fields left out stay as they were.
    changed = client.patch(f"{path}/items/{prompt['id']}", json={"text": "Why?"}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["text"] == "Why?"
    assert changed.get_json()["notes"] == "Give them 5 minutes"
    blank = client.patch(f"{path}/items/{heading['id']}", json={"text": " "}, headers=headers)
    assert "Please give the heading" in _error(blank, 400, "invalid")
    _error(client.patch(f"{path}/items/999999", json={}, headers=headers), 404, "not_found")
    renamed = client.patch(path, json={"title": "Loneliness, part 1"}, headers=headers)
    assert renamed.get_json()["title"] == "Loneliness, part 1"
    assert renamed.get_json()["summary"] == "For new volunteers"
    for bad in ({"title": ""}, {"title": 7}, {"summary": ["x"]}, {"items": []}):
        _error(client.patch(path, json=bad, headers=headers), 400, "invalid")
    removed = client.delete(f"{path}/items/{late['id']}", headers=headers)
    assert removed.status_code == 204
    _error(client.delete(f"{path}/items/{late['id']}", headers=headers), 404, "not_found")
    read = client.get(path, headers=headers).get_json()
    assert [i["id"] for i in read["items"]] == new_order
    assert read["title"] == "Loneliness, part 1"
    listing = client.get("/api/v1/sessions", headers=headers).get_json()
    assert listing["shared"] == []
    assert [(s["id"], s["item_count"], s["owner"]) for s in listing["owned"]] == [
        (session["id"], 4, read["owner"])
    ]
    # Deleting a clip takes it out of the session.
    assert client.delete(f"/api/v1/clips/{second_clip['id']}", headers=headers).status_code == 204
    read = client.get(path, headers=headers).get_json()
    assert [i["id"] for i in read["items"]] == [ids[3], ids[0], ids[1]]
    assert client.delete(path, headers=headers).status_code == 204
    _error(client.get(path, headers=headers), 404, "not_found")


def test_a_shared_session_is_read_and_copied_but_not_changed(api: MakeApi, story: Story) -> None:
    owner, owner_user, owner_headers = api(Role.TRAINER)
    clip = _new_clip(owner, owner_headers, story)
    session_id = _new_session(owner, owner_headers)
    _add(owner, owner_headers, session_id, kind="clip", clip_id=clip["id"], notes="Pause here")
    colleague, colleague_user, headers = api(Role.TRAINER)
    session = db.session.get(Lesson, session_id)
    assert session is not None
    training.set_shares(owner_user, session, [colleague_user.id])
    db.session.commit()
    path = f"/api/v1/sessions/{session_id}"
    listing = colleague.get("/api/v1/sessions", headers=headers).get_json()
    assert [s["id"] for s in listing["shared"]] == [session_id] and listing["owned"] == []
    assert listing["shared"][0]["editable"] is False
    read = colleague.get(path, headers=headers).get_json()
    item = read["items"][0]
    # The trainer's notes go to everyone who runs the session; a clip's own note is its maker's.
    assert item["notes"] == "Pause here" and item["clip"]["note"] is None
    assert item["clip"]["usable"] is True and item["clip"]["text"]
    assert colleague.get(f"/api/v1/clips/{clip['id']}", headers=headers).status_code == 200
    # Shared is not theirs to change.
    _error(colleague.patch(path, json={"title": "x"}, headers=headers), 404, "not_found")
    _error(colleague.delete(f"{path}/items/{item['id']}", headers=headers), 404, "not_found")
    patched = colleague.patch(f"/api/v1/clips/{clip['id']}", json={"title": "x"}, headers=headers)
    _error(patched, 404, "not_found")
    # Their copy is theirs, with their own copy of the clip.
    copied = colleague.post(f"{path}/duplicate", headers=headers)
    assert copied.status_code == 201
    copy = copied.get_json()
    assert copy["id"] != session_id and copy["editable"] is True
    assert copy["title"] == "Copy of Loneliness"
    assert copy["items"][0]["notes"] == "Pause here"
    assert copy["items"][0]["clip"]["id"] != clip["id"]
    assert copy["items"][0]["clip"]["mine"] is True


def test_a_clip_of_a_withdrawn_story_shows_no_words(
    api: MakeApi, teller: User, story: Story
) -> None:
    client, _, headers = api(Role.TRAINER)
    clip = _new_clip(client, headers, story)
    session_id = _new_session(client, headers)
    _add(client, headers, session_id, kind="clip", clip_id=clip["id"])
    _add(client, headers, session_id, kind="prompt", text="What would you do?")
    withdraw(story, teller, "changed my mind")
    db.session.commit()
    shown = client.get(f"/api/v1/clips/{clip['id']}", headers=headers).get_json()
    assert shown["usable"] is False
    assert shown["reason"] == "Its storyteller withdrew it."
    assert shown["text"] is None and shown["start_word"] is None and shown["end_word"] is None
    listed = client.get("/api/v1/clips", headers=headers).get_json()["clips"]
    assert listed == [shown]
    in_session = client.get(f"/api/v1/sessions/{session_id}", headers=headers).get_json()
    assert in_session["items"][0]["clip"] == shown
    for text in ("lonely", "stroke"):
        assert text not in str(in_session) and text not in str(listed)
    # It can't be changed, cut again, added or exported any more.
    moved = client.patch(f"/api/v1/clips/{clip['id']}", json={"end_word": 2}, headers=headers)
    assert "withdrew it" in _error(moved, 400, "invalid")
    readded = client.post(
        f"/api/v1/sessions/{session_id}/items",
        json={"kind": "clip", "clip_id": clip["id"]},
        headers=headers,
    )
    assert "withdrew it" in _error(readded, 400, "invalid")
    _error(client.get(f"/api/v1/stories/{story.id}/words", headers=headers), 404, "not_found")
    export = client.post(f"/api/v1/sessions/{session_id}/exports", json={}, headers=headers)
    assert "nothing to export" in _error(export, 400, "invalid")
    # But it can still be deleted by its maker.
    assert client.delete(f"/api/v1/clips/{clip['id']}", headers=headers).status_code == 204


# --- exports -----------------------------------------------------------------------------------


def _exportable_session(
    api: MakeApi, teller: User, tmp_path: Path
) -> tuple[FlaskClient, User, dict[str, str], int]:
    video = make_video(tmp_path / "v.mp4", 40)
    story = clip_story(teller, ["one two three four five", "six seven eight"], video=video)
    client, user, headers = api(Role.TRAINER)
    clip = _new_clip(client, headers, story, 1, 6)
    session_id = _new_session(client, headers)
    _add(client, headers, session_id, kind="heading", text="Start")
    _add(client, headers, session_id, kind="clip", clip_id=clip["id"])
    return client, user, headers, session_id


def test_an_export_is_queued_with_a_job_to_follow(
    api: MakeApi, teller: User, tmp_path: Path
) -> None:
    client, _, headers, session_id = _exportable_session(api, teller, tmp_path)
    path = f"/api/v1/sessions/{session_id}/exports"
    _error(client.post(path, json={"burn_captions": "yes"}, headers=headers), 400, "invalid")
    _error(client.post(path, json={"burn": True}, headers=headers), 400, "invalid")
    response = client.post(path, json={"burn_captions": True}, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"export", "job"}
    job, export = body["job"], body["export"]
    assert isinstance(job["id"], int) and job["kind"] == "export_session"
    assert export["job_id"] == job["id"] and export["burn_captions"] is True
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    # Its owner follows the job with the existing endpoint; another trainer can't.
    followed = client.get(f"/api/v1/jobs/{job['id']}", headers=headers)
    assert followed.status_code == 200 and followed.get_json()["id"] == job["id"]
    stranger, _, stranger_headers = api(Role.TRAINER)
    _error(stranger.get(f"/api/v1/jobs/{job['id']}", headers=stranger_headers), 404, "not_found")
    listed = client.get(path, headers=headers).get_json()["exports"]
    assert [e["id"] for e in listed] == [export["id"]]
    entry = listed[0]
    assert entry["state"] in {"queued", "running", "done", "failed"}
    assert entry["state"] == followed.get_json()["state"]
    # Files are offered only when they may be downloaded; otherwise the export says why.
    assert (entry["files"] is None) != (entry["refusal"] is None)


def test_a_finished_export_links_its_files_until_a_story_is_withdrawn(
    api: MakeApi, teller: User, tmp_path: Path
) -> None:
    client, _, headers, session_id = _exportable_session(api, teller, tmp_path)
    path = f"/api/v1/sessions/{session_id}/exports"
    response = client.post(path, json={}, headers=headers)
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.get_json()['job']['id']}", headers=headers)
    assert job.get_json()["state"] == "done", job.get_json()
    entry = client.get(path, headers=headers).get_json()["exports"][0]
    assert entry["state"] == "done" and entry["refusal"] is None
    assert entry["duration"] and entry["duration"] > 0
    assert set(entry["files"]) == {"video", "captions", "handout", "pdf"}
    for kind, url in entry["files"].items():
        assert url.startswith("http://storyhub.test/api/v1/sessions/")
        assert url.endswith(f"/exports/{entry['id']}/{kind}")
    # The files download with the bearer token alone.
    video = client.get(entry["files"]["video"], headers=headers)
    assert video.status_code == 200 and video.mimetype == "video/mp4"
    assert video.get_data()[4:8] == b"ftyp"
    assert client.get(entry["files"]["pdf"], headers=headers).get_data().startswith(b"%PDF")
    assert client.get(entry["files"]["video"]).status_code == 401
    story = db.session.scalars(select(Story)).one()
    withdraw(story, teller, "changed my mind")
    db.session.commit()
    gone = client.get(path, headers=headers).get_json()["exports"][0]
    assert gone["state"] == "revoked" and gone["files"] is None
    assert "withdrew" in gone["refusal"]  # the reason, now in the one copy rule's words
    refused = client.get(entry["files"]["video"], headers=headers)
    _error(refused, 410, "gone")


def test_a_clip_is_cut_as_a_file_through_the_api(
    api: MakeApi, teller: User, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "v.mp4", 40)
    story = clip_story(teller, ["one two three four five", "six seven eight"], video=video)
    client, _, headers = api(Role.TRAINER)
    clip = _new_clip(client, headers, story, 1, 6)
    path = f"/api/v1/clips/{clip['id']}/file"
    _error(client.get(path, headers=headers), 404, "not_found")  # nothing cut yet
    asked = client.post(path, headers=headers)
    assert asked.status_code == 202, asked.get_data(as_text=True)
    job = client.get(f"/api/v1/jobs/{asked.get_json()['job']['id']}", headers=headers)
    assert job.get_json()["state"] == "done", job.get_json()
    ready = client.post(path, headers=headers)  # already made: no second job
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    assert ready.get_json()["url"] == f"http://storyhub.test{path}"
    download = client.get(path, headers=headers)
    assert download.status_code == 200 and download.mimetype == "video/mp4"
    assert download.get_data()[4:8] == b"ftyp"
    stranger, _, stranger_headers = api(Role.TRAINER)
    _error(stranger.get(path, headers=stranger_headers), 404, "not_found")
    withdraw(story, teller, "changed my mind")
    db.session.commit()
    _error(client.get(path, headers=headers), 410, "gone")
    _error(client.post(path, headers=headers), 400, "invalid")
