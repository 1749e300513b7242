"""Clips and sessions through the site: consent decides what can be clipped and played, bounds
snap to words, sessions are ordered, shared and copied, and forged values get plain answers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent import copies
from consent.models import Audience, StoryUse
from consent.services import withdraw
from storyhub.extensions import db
from storyhub.models import MediaRole, Role, Story, User
from storyhub.training.models import Clip, ItemKind, Lesson
from storyhub.transcripts import redact
from tests.conftest import csrf_token
from tests.training_factory import clip_story

SignIn = Callable[[Role], tuple[FlaskClient, User]]

PASSAGES = [
    "I was lonely after the stroke and nobody called",
    "Then the volunteers came every Tuesday and we talked",
    "Now I go to the club and I help with the tea",
]


def _post(client: FlaskClient, path: str, data: dict[str, object], **kw: object) -> object:
    data = {"csrf_token": csrf_token(client, "/sessions"), **data}
    return client.post(path, data=data, **kw)


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, display_name="Mary Jones")


@pytest.fixture
def story(app: Flask, teller: User) -> Story:
    return clip_story(teller, PASSAGES, title="Finding the club")


def _word_count(story: Story, positions: int) -> int:
    return sum(len(p.words) for p in story.passages[:positions])


def test_a_trainer_cuts_a_clip_snapped_to_words(login_as: SignIn, story: Story) -> None:
    client, trainer = login_as(Role.TRAINER)
    second = story.passages[1]
    page = client.get(f"/stories/{story.id}/clips/new?passage={second.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The bounds default to the passage: its first and last words are chosen.
    first_word = _word_count(story, 1)
    last_word = _word_count(story, 2) - 1
    assert re.search(rf'<option value="{first_word}"[^>]*selected>', html)
    assert re.search(rf'<option value="{last_word}"[^>]*selected>', html)
    # Move the start two words later and the end one word earlier.
    response = _post(
        client,
        f"/stories/{story.id}/clips/new",
        {"start_word": first_word + 2, "end_word": last_word - 1, "title": "Volunteers"},
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    clip = db.session.scalar(select(Clip).where(Clip.owner_id == trainer.id))
    assert clip is not None
    words = second.words
    assert clip.start == words[2]["start"] and clip.end == words[-2]["end"]
    assert clip.consent_id == story.consent_id
    listing = client.get("/clips").get_data(as_text=True)
    assert "Volunteers" in listing and "every Tuesday and we" in listing


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"start_word": "x", "end_word": "3"}, "Please choose the words"),
        ({"start_word": "5", "end_word": "2"}, "must end after it starts"),
        ({"start_word": "0", "end_word": "9999"}, "not in this story"),
        ({"start_word": "-1", "end_word": "2"}, "not in this story"),
        ({"start_word": "0", "end_word": "2", "title": "   "}, "Please give the clip a title"),
        ({"start_word": "0", "end_word": "2", "title": "t" * 201}, "at most 200 characters"),
    ],
)
def test_odd_clip_bounds_get_a_plain_answer_and_save_nothing(
    login_as: SignIn, story: Story, form: dict[str, str], message: str
) -> None:
    client, _ = login_as(Role.TRAINER)
    data = {"title": "A clip", **form}
    response = _post(client, f"/stories/{story.id}/clips/new", data)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert db.session.scalar(select(Clip)) is None


def test_no_clips_without_the_tellers_permission(
    app: Flask, login_as: SignIn, teller: User
) -> None:
    no_clips = clip_story(teller, PASSAGES, clips_allowed=False)
    members_only = clip_story(teller, PASSAGES, audiences={Audience.LEARNING_EVENTS})
    client, _ = login_as(Role.TRAINER)
    page = client.get(f"/stories/{no_clips.id}")
    assert page.status_code == 200 and "Make a clip" not in page.get_data(as_text=True)
    refused = client.get(f"/stories/{no_clips.id}/clips/new", follow_redirects=True)
    assert "does not allow clips" in refused.get_data(as_text=True)
    posted = _post(
        client, f"/stories/{no_clips.id}/clips/new", {"start_word": 0, "end_word": 2, "title": "x"}
    )
    assert posted.status_code == 302  # type: ignore[attr-defined]
    # A story not shared for training is not found at all by a trainer.
    assert client.get(f"/stories/{members_only.id}/clips/new").status_code == 404
    assert db.session.scalar(select(Clip)) is None
    # Curators look after every story, but a clip is for training: the same rule holds.
    curator, _ = login_as(Role.CURATOR)
    assert "Make a clip" not in curator.get(f"/stories/{no_clips.id}").get_data(as_text=True)


def _session_with_clips(
    client: FlaskClient, stories: list[Story], title: str = "Loneliness"
) -> Lesson:
    response = _post(client, "/sessions", {"title": title})
    session_id = int(response.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    _post(client, f"/sessions/{session_id}/items", {"kind": "heading", "text": "Before"})
    for story in stories:
        _post(
            client,
            f"/stories/{story.id}/clips/new",
            {
                "start_word": 0,
                "end_word": 4,
                "title": f"Clip of {story.title}",
                "session": session_id,
            },
        )
    _post(
        client,
        f"/sessions/{session_id}/items",
        {"kind": "prompt", "text": "What would you do?", "notes": "Give them 5 minutes"},
    )
    session = db.session.get(Lesson, session_id)
    assert session is not None
    db.session.refresh(session)
    return session


def test_a_session_is_ordered_by_buttons_and_by_dragging(
    login_as: SignIn, teller: User, story: Story
) -> None:
    other = clip_story(teller, PASSAGES, title="Second story")
    client, _ = login_as(Role.TRAINER)
    session = _session_with_clips(client, [story, other])
    kinds = [i.kind for i in session.items]
    assert kinds == [ItemKind.HEADING, ItemKind.CLIP, ItemKind.CLIP, ItemKind.PROMPT]
    ids = [i.id for i in session.items]
    # The keyboard/buttons way: move the prompt up one place.
    _post(client, f"/sessions/{session.id}/items/{ids[3]}/move", {"direction": "up"})
    db.session.expire_all()
    assert [i.id for i in session.items] == [ids[0], ids[1], ids[3], ids[2]]
    # The dragging way: the whole new order at once, answered in JSON.
    new_order = [ids[3], ids[0], ids[2], ids[1]]
    answer = _post(
        client,
        f"/sessions/{session.id}/order",
        {"item": new_order},
        headers={"X-Requested-With": "storyhub"},
    )
    assert answer.get_json() == {"ok": True}  # type: ignore[attr-defined]
    db.session.expire_all()
    assert [i.id for i in session.items] == new_order
    assert [i.position for i in session.items] == [0, 1, 2, 3]
    # A stale or forged order (missing, repeated or foreign ids) changes nothing.
    for forged in ([ids[0], ids[1]], [ids[0]] * 4, [*ids[:3], 999999], ["x", "y", "z", "w"]):
        refused = _post(
            client,
            f"/sessions/{session.id}/order",
            {"item": forged},
            headers={"X-Requested-With": "storyhub"},
        )
        assert refused.status_code == 400  # type: ignore[attr-defined]
    db.session.expire_all()
    assert [i.id for i in session.items] == new_order


def test_sessions_are_private_until_shared_and_only_the_owner_edits(
    login_as: SignIn, story: Story
) -> None:
    owner, _ = login_as(Role.TRAINER)
    session = _session_with_clips(owner, [story])
    colleague, colleague_user = login_as(Role.TRAINER)
    assert colleague.get(f"/sessions/{session.id}").status_code == 404
    assert colleague.get(f"/sessions/{session.id}/play").status_code == 404
    clip_id = next(i.clip_id for i in session.items if i.clip_id)
    assert colleague.get(f"/clips/{clip_id}").status_code == 404
    # Shared: the colleague can open and run it, but not change it.
    _post(owner, f"/sessions/{session.id}/share", {"user": colleague_user.id})
    assert colleague.get(f"/sessions/{session.id}").status_code == 200
    assert colleague.get(f"/sessions/{session.id}/play").status_code == 200
    item_id = session.items[0].id
    changed = _post(colleague, f"/sessions/{session.id}/items/{item_id}/delete", {})
    assert changed.status_code == 404  # type: ignore[attr-defined]
    # Sharing with someone who is not a trainer (or does not exist) is refused.
    _post(owner, f"/sessions/{session.id}/share", {"user": 999999})
    db.session.expire_all()
    assert [s.user_id for s in session.shares] == [colleague_user.id]
    # The colleague's own copy is theirs to change, with their own copies of the clips.
    copy_response = _post(colleague, f"/sessions/{session.id}/duplicate", {})
    copy_id = int(copy_response.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    copy = db.session.get(Lesson, copy_id)
    assert copy is not None and copy.owner_id == colleague_user.id
    assert [i.kind for i in copy.items] == [i.kind for i in session.items]
    copied_clips = [i.clip for i in copy.items if i.clip is not None]
    assert copied_clips and all(c.owner_id == colleague_user.id for c in copied_clips)
    assert [i.notes for i in copy.items] == [i.notes for i in session.items]


def test_the_player_introduces_clips_and_skips_a_withdrawn_story(
    app: Flask, login_as: SignIn, teller: User, story: Story
) -> None:
    other = clip_story(teller, PASSAGES, title="Going home")
    client, _ = login_as(Role.TRAINER)
    session = _session_with_clips(client, [story, other])
    html = client.get(f"/sessions/{session.id}/play").get_data(as_text=True)
    assert html.count("data-clip ") == 2
    assert "From “Finding the club”, told by Mary." in html  # first name only, as consented
    assert "Shared by its storyteller for: training" in html
    assert "Give them 5 minutes" in html  # trainer's notes, folded away
    withdraw(other, teller, "changed my mind")
    db.session.commit()
    html = client.get(f"/sessions/{session.id}/play").get_data(as_text=True)
    assert html.count("data-clip ") == 1
    assert "Clip skipped" in html and "Its storyteller withdrew it." in html
    assert f"/stories/{other.id}/media" not in html
    editor = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "This clip will be skipped." in editor
    # Opening the player records nothing (a link elsewhere can't forge a use); a clip that really
    # plays is a use of its story, for "where my story has been used" (the player POSTs it).
    assert not db.session.scalars(select(StoryUse).where(StoryUse.kind == "session")).all()
    played = re.findall(r'data-played-url="([^"]+)"', html)
    assert len(played) == 1
    token = csrf_token(client, "/")
    for url in played:
        assert client.post(url, data={"csrf_token": token}).status_code == 204
    uses = db.session.scalars(select(StoryUse).where(StoryUse.kind == "session")).all()
    assert [u.story_id for u in uses] == [story.id]
    # The withdrawn story's clip can't be recorded as played.
    skipped = next(i.clip for i in session.items if i.clip and i.clip.story_id == other.id)
    url = f"/sessions/{session.id}/played?clip={skipped.id}"
    assert client.post(url, data={"csrf_token": token}).status_code == 404


def test_forged_ids_and_kinds_are_refused(login_as: SignIn, story: Story) -> None:
    client, _ = login_as(Role.TRAINER)
    session = _session_with_clips(client, [story])
    intruder, _ = login_as(Role.TRAINER)
    theirs = _session_with_clips(intruder, [story], title="Mine")
    foreign_clip = db.session.scalars(select(Clip).order_by(Clip.id.desc())).first()
    assert foreign_clip is not None
    # Another trainer's clip can't be put into my session.
    added = _post(
        client, f"/sessions/{session.id}/items", {"kind": "clip", "clip": foreign_clip.id}
    )
    assert "Please choose one of your clips." in client.get(f"/sessions/{session.id}").get_data(
        as_text=True
    )
    assert added.status_code == 302  # type: ignore[attr-defined]
    for data in (
        {"kind": "video"},
        {"kind": "clip", "clip": "abc"},
        {"kind": "prompt", "text": ""},
    ):
        _post(client, f"/sessions/{session.id}/items", data)
    db.session.expire_all()
    assert len(session.items) == 3
    assert client.get("/sessions/999999").status_code == 404
    # Storytellers and members have no sessions at all.
    for role in (Role.STORYTELLER, Role.MEMBER):
        other_client, _ = login_as(role)
        assert other_client.get(f"/sessions/{session.id}").status_code in (403, 404)
    # Another trainer's item can't be removed through my session.
    their_item_id = theirs.items[0].id
    _post(client, f"/sessions/{session.id}/items/{their_item_id}/delete", {})
    db.session.expire_all()
    assert their_item_id in [i.id for i in theirs.items]


def test_a_redaction_reaches_every_clip_at_once(
    login_as: SignIn, make_user: Callable[..., User], story: Story
) -> None:
    client, _ = login_as(Role.TRAINER)
    session = _session_with_clips(client, [story])  # words 0-4: "I was lonely after the"
    curator = make_user(Role.CURATOR)
    redact(story.passages[0], 2, 2, curator)  # "lonely"
    db.session.commit()
    # Until the web copy is made again without the word, no clip of it is offered or played.
    listing = client.get("/clips").get_data(as_text=True)
    assert "being made again" in listing and "lonely" not in listing
    editor = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "will be skipped" in editor and "lonely" not in editor
    # The new web copy is recorded as the render job records it (test_web_copy runs the render).
    rendition = story.media_file(MediaRole.RENDITION)
    assert rendition is not None
    made = [copies.made_from(story)]
    copies.record(copies.CopyKind.WEB_COPY, story.id, None, made, [rendition.storage_key])
    db.session.commit()
    listing = client.get("/clips").get_data(as_text=True)
    assert "I was [name removed] after the" in listing
    assert "A curator removed a name or a place in it" in listing
    editor = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "I was [name removed] after the" in editor and "lonely" not in editor


def test_a_clip_is_changed_by_word_and_odd_values_change_nothing(
    login_as: SignIn, story: Story
) -> None:
    client, _ = login_as(Role.TRAINER)
    _post(client, f"/stories/{story.id}/clips/new", {"start_word": 0, "end_word": 4, "title": "A"})
    clip = db.session.scalars(select(Clip)).one()
    words = [w for p in story.passages for w in p.words]
    moved = _post(client, f"/clips/{clip.id}", {"start_word": 10, "end_word": 15, "title": "B"})
    assert moved.status_code == 302  # type: ignore[attr-defined]
    db.session.expire_all()
    assert (clip.start, clip.end, clip.title) == (words[10]["start"], words[15]["end"], "B")
    refused = _post(client, f"/clips/{clip.id}", {"start_word": 15, "end_word": 10, "title": "C"})
    assert refused.status_code == 400  # type: ignore[attr-defined]
    db.session.expire_all()
    assert (clip.start, clip.title) == (words[10]["start"], "B")
