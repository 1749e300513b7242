"""Redactions hold: no correction, split or join by anyone can drop, move or shrink a removed
name; only a curator's audited undo brings it back; one edit is a bounded amount of work."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from media_pipeline.passages import Passage as CutPassage
from media_pipeline.transcribe import Transcript as MachineTranscript
from media_pipeline.transcribe import Word
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import AuditEvent, Job, Role, Story, TranscriptRevision, User
from storyhub.processing import RENDER_STORY
from storyhub.transcripts import (
    REDACTED_TEXT,
    TranscriptError,
    correct_passage,
    edit_passage,
    merge_with_next,
    redact,
    redacted_spans,
    redaction_state,
    save_machine_transcript,
    split_passage,
    webvtt,
)
from tests.conftest import csrf_token, login
from tests.training_factory import clip_story

SignIn = Callable[[Role], tuple[FlaskClient, User]]

# Written out (not imported) so these tests also run, and fail, on the code before the change.
MAX_SPLITS_PER_EDIT = 20

PASSAGES = [
    "I was lonely after the stroke and my neighbour Bronwen never called",
    "Then the volunteers came every Tuesday and we talked",
    "Now I go to the club and I help with the tea",
]
NAME = "Bronwen"
NAME_AT = PASSAGES[0].split().index(NAME)  # word 9 of the first passage


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, display_name="Mary Jones")


@pytest.fixture
def curator(make_user: Callable[..., User]) -> User:
    return make_user(Role.CURATOR)


@pytest.fixture
def story(app: Flask, teller: User, curator: User) -> Story:
    """A story shared for training with a neighbour's name removed by a curator."""
    made = clip_story(teller, PASSAGES, title="Finding the club")
    redact(made.passages[0], NAME_AT, NAME_AT, curator)
    db.session.commit()
    return made


def removed_words(story: Story) -> set[tuple[float, float, str]]:
    """Every removed word as (start, end, text): what must never be lost, moved or shown."""
    return {
        (w["start"], w["end"], w["text"])
        for p in story.passages
        for w in p.words
        if w.get("redacted")
    }


def assert_still_removed(story: Story, before: set[tuple[float, float, str]], spans: Any) -> None:
    db.session.expire_all()
    assert before <= removed_words(story)
    assert redacted_spans(story) == spans
    captions = webvtt(story)
    assert NAME not in captions and REDACTED_TEXT in captions
    assert all(NAME not in p.text for p in story.passages)


def _post_text(client: FlaskClient, story: Story, passage_id: int, text: str) -> str:
    response = client.post(
        f"/stories/{story.id}/passages/{passage_id}",
        data={"text": text, "csrf_token": csrf_token(client, "/")},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_a_teller_cannot_edit_a_removed_name_back(app: Flask, story: Story) -> None:
    client = app.test_client()
    login(client, story.storyteller.username)
    passage = story.passages[0]
    before, spans, state = removed_words(story), redacted_spans(story), redaction_state(story)
    assert REDACTED_TEXT in passage.text
    # The placeholder simply left out of the corrected text (the attack in issue 18).
    page = _post_text(client, story, passage.id, passage.text.replace(f" {REDACTED_TEXT}", ""))
    assert_still_removed(story, before, spans)
    assert redaction_state(story) == state
    assert "we kept it there" in page  # and told so plainly, on the page they come back to
    # Moved to the start, and then the whole passage typed again without it: still in place.
    moved = REDACTED_TEXT + " " + passage.text.replace(f" {REDACTED_TEXT}", "")
    _post_text(client, story, passage.id, moved)
    assert_still_removed(story, before, spans)
    _post_text(client, story, passage.id, "Something else entirely")
    assert_still_removed(story, before, spans)
    assert redaction_state(story) == state


def test_a_removed_name_cannot_be_typed_back_in(app: Flask, story: Story) -> None:
    client = app.test_client()
    login(client, story.storyteller.username)
    passage = story.passages[0]
    before, spans = removed_words(story), redacted_spans(story)
    text = passage.text
    page = _post_text(client, story, passage.id, text.replace(REDACTED_TEXT, f"{NAME}."))
    assert_still_removed(story, before, spans)
    assert story.passages[0].text == text
    assert "puts back words a curator removed" in page


def test_a_curator_cannot_edit_a_removed_name_back_either(login_as: SignIn, story: Story) -> None:
    client, _ = login_as(Role.CURATOR)
    passage = story.passages[0]
    before, spans = removed_words(story), redacted_spans(story)
    text = passage.text.replace(REDACTED_TEXT, "")
    _post_text(client, story, passage.id, text.replace("stroke", "stroke\n\n"))
    assert_still_removed(story, before, spans)


def test_the_api_shows_the_name_still_removed_after_an_edit(
    app: Flask, story: Story, make_user: Callable[..., User]
) -> None:
    client = app.test_client()
    login(client, story.storyteller.username)
    passage = story.passages[0]
    _post_text(client, story, passage.id, passage.text.replace(REDACTED_TEXT, ""))
    trainer = make_user(Role.TRAINER)
    headers = {"Authorization": f"Bearer {issue_api_token(trainer, 'test')}"}
    db.session.commit()
    words = app.test_client().get(f"/api/v1/stories/{story.id}/words", headers=headers).get_json()
    texts = [w["text"] for w in words["words"]]
    assert NAME not in texts and REDACTED_TEXT in texts
    assert any(w["redacted"] for w in words["words"])


def test_split_and_join_keep_the_removed_name(app: Flask, story: Story, teller: User) -> None:
    before, spans = removed_words(story), redacted_spans(story)
    first = story.passages[0]
    # Split right through the removed word and next to it, then join everything back.
    split_passage(first, NAME_AT, teller)
    split_passage(first, 3, teller)
    db.session.commit()
    assert_still_removed(story, before, spans)
    while len(story.passages) > 1:
        merge_with_next(story.passages[0], teller)
    db.session.commit()
    assert_still_removed(story, before, spans)


def test_a_new_machine_transcript_keeps_the_name_removed(story: Story) -> None:
    spans = redacted_spans(story)
    old = [w for p in story.passages for w in p.words]
    # The words heard again (e.g. the story processed a second time), with slightly other times.
    heard = [Word(w["start"] + 0.01, w["end"] + 0.01, " " + w["text"]) for w in old]
    machine = MachineTranscript(language="en", duration=90.0, words=heard, model="test")
    cut = CutPassage(start=0.0, end=90.0, text=" ".join(w["text"] for w in old), words=heard)
    save_machine_transcript(story, machine, [cut])
    db.session.commit()
    db.session.expire_all()
    assert NAME not in story.passages[0].text and REDACTED_TEXT in story.passages[0].text
    assert NAME not in webvtt(story)
    start, end = spans[0]
    assert any(s <= start and e >= end for s, e in redacted_spans(story))


# --- the property: random edits, splits and joins never unhide a removed word -----------------

VOCAB = ["I", "was", "lonely", "the", "club", "Tuesday", NAME, REDACTED_TEXT, REDACTED_TEXT]
text_edits = st.lists(
    st.one_of(st.sampled_from(VOCAB), st.just("\n\n")), min_size=0, max_size=14
).map(lambda tokens: " ".join(tokens))
actions = st.one_of(
    st.tuples(st.just("correct"), st.integers(0, 5), text_edits),
    st.tuples(st.just("keep-some"), st.integers(0, 5), st.lists(st.booleans(), max_size=14)),
    st.tuples(st.just("split"), st.integers(0, 5), st.integers(0, 20)),
    st.tuples(st.just("join"), st.integers(0, 5), st.just(0)),
)


def _apply(story: Story, author: User, action: tuple[str, int, Any]) -> None:
    kind, which, arg = action
    passage = story.passages[which % len(story.passages)]
    if kind == "correct":
        correct_passage(passage, arg, None, author)
    elif kind == "keep-some":
        # The shown text with some of its words (placeholders included) left out.
        tokens = passage.text.replace(REDACTED_TEXT, "\0").split()
        kept = [t for t, keep in zip(tokens, arg + [True] * len(tokens), strict=False) if keep]
        edit_passage(passage, " ".join(kept).replace("\0", REDACTED_TEXT), author)
    elif kind == "split":
        split_passage(passage, arg, author)
    else:
        merge_with_next(passage, author)


# Slow (about 35 s): forty random histories of edits.
@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(actions, min_size=1, max_size=6), by_curator=st.booleans())
def test_no_edit_split_or_join_unhides_a_removed_word(
    app: Flask, teller: User, curator: User, history: list[Any], by_curator: bool
) -> None:
    story = clip_story(teller, PASSAGES)
    redact(story.passages[0], NAME_AT, NAME_AT, curator)
    redact(story.passages[1], 0, 1, curator)  # "Then the"
    db.session.commit()
    before, spans, state = removed_words(story), redacted_spans(story), redaction_state(story)
    author = curator if by_curator else teller
    for action in history:
        try:
            _apply(story, author, action)
        except TranscriptError:
            db.session.rollback()  # as the views do: a refused edit changes nothing
        else:
            db.session.commit()
        note(f"after {action!r}: {[p.text for p in story.passages]}")
        assert_still_removed(story, before, spans)
        assert redaction_state(story) == state


# --- undo: only a curator, with a reason, audited, and the web copy made again -----------------


def test_only_a_curator_can_undo_a_redaction_and_it_is_audited(
    app: Flask, story: Story, login_as: SignIn
) -> None:
    client, curator = login_as(Role.CURATOR)
    # The curator sees a button by the removed words.
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    found = re.search(
        rf'action="(/stories/{story.id}/passages/\d+/unredact)"[^>]*>\s*'
        r'<input[^>]*name="csrf_token"[^>]*>\s*<input type="hidden" name="redaction" value="(\d+)"',
        page,
    )
    assert found, "no undo button by the removed words"
    path, chosen = found.group(1), found.group(2)
    before, spans, state = removed_words(story), redacted_spans(story), redaction_state(story)

    teller_client = app.test_client()
    login(teller_client, story.storyteller.username)
    token = csrf_token(teller_client, "/")
    tried = {"redaction": chosen, "reason": "x", "csrf_token": token}
    assert teller_client.post(path, data=tried).status_code == 403
    trainer, _ = login_as(Role.TRAINER)
    answer = trainer.post(path, data={**tried, "csrf_token": csrf_token(trainer, "/")})
    assert answer.status_code in (403, 404)
    assert_still_removed(story, before, spans)

    token = csrf_token(client, "/")
    asked = {"redaction": chosen, "csrf_token": token}
    page = client.post(path, data={**asked, "reason": "  "}, follow_redirects=True)
    assert "Please say why" in page.get_data(as_text=True)
    page = client.post(path, data={**asked, "redaction": "x"}, follow_redirects=True)
    assert "Please choose the removed words" in page.get_data(as_text=True)
    assert_still_removed(story, before, spans)

    renders = len(db.session.scalars(select(Job).where(Job.kind == RENDER_STORY)).all())
    reason = "She told us Bronwen agreed to be named"
    response = client.post(path, data={**asked, "reason": reason})
    assert response.status_code == 302
    db.session.expire_all()
    assert NAME in story.passages[0].text and NAME in webvtt(story)
    assert redacted_spans(story) == [] and redaction_state(story) != state
    from storyhub.models import Redaction

    done = db.session.get(Redaction, int(chosen))
    assert done is not None and done.undone_at is not None
    assert done.undone_by_id == curator.id and done.undo_reason == reason
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "transcript.redaction_undone")
    ).one()
    assert event.actor_id == curator.id and event.detail["reason"] == reason
    assert event.object_id == story.id
    # The same re-render a redaction triggers, so the name is heard again in the web copy.
    assert len(db.session.scalars(select(Job).where(Job.kind == RENDER_STORY)).all()) == renders + 1
    kinds = db.session.scalars(
        select(TranscriptRevision.kind).where(TranscriptRevision.story_id == story.id)
    ).all()
    assert kinds[-1] == "unredact"
    # Undone once: a second undo is a plain message, not an error page.
    again = client.post(path, data={**asked, "reason": reason}, follow_redirects=True)
    assert again.status_code == 200 and "removed any more" in again.get_data(as_text=True)


# --- bounded work ---------------------------------------------------------------------------


def test_an_edit_splits_at_most_twenty_times(app: Flask, teller: User) -> None:
    long = " ".join(f"word{i}" for i in range(60))
    story = clip_story(teller, [long])
    client = app.test_client()
    login(client, teller.username)
    passage_id = story.passages[0].id
    revisions = len(db.session.scalars(select(TranscriptRevision)).all())
    # Hundreds of empty lines: refused at once, with a clear message, and nothing changes.
    page = _post_text(client, story, passage_id, "\n\n".join(long.split()) + "\n\n" * 300)
    assert f"up to {MAX_SPLITS_PER_EDIT} empty lines" in page
    # A text far longer than any passage (each word compared with the old ones): refused too.
    page = _post_text(client, story, passage_id, "word " * 10_000)
    assert "too much text for one passage" in page
    db.session.expire_all()
    assert len(story.passages) == 1 and story.passages[0].text == long
    assert len(db.session.scalars(select(TranscriptRevision)).all()) == revisions
    # Twenty splits are fine, and are saved as one change (not one write per split).
    words = long.split()
    text = "\n\n".join(" ".join(words[i * 3 : i * 3 + 3]) for i in range(MAX_SPLITS_PER_EDIT))
    _post_text(client, story, passage_id, text)
    db.session.expire_all()
    assert len(story.passages) == MAX_SPLITS_PER_EDIT
    kinds = db.session.scalars(select(TranscriptRevision.kind)).all()
    assert kinds[revisions:] == ["edit", "split"]


def test_a_name_found_many_times_is_removed_in_one_change(
    app: Flask, teller: User, login_as: SignIn
) -> None:
    story = clip_story(teller, [" ".join(["Bronwen said hello"] * 40)])
    client, _ = login_as(Role.CURATOR)
    revisions = len(db.session.scalars(select(TranscriptRevision)).all())
    path = f"/stories/{story.id}/passages/{story.passages[0].id}/redact"
    token = csrf_token(client, "/")
    client.post(path, data={"phrase": NAME, "csrf_token": token})
    db.session.expire_all()
    assert NAME not in story.passages[0].text
    assert len(db.session.scalars(select(TranscriptRevision)).all()) == revisions + 1
    # Asked again: said plainly, and no second record (one undo must bring each back).
    again = client.post(path, data={"phrase": NAME, "csrf_token": token}, follow_redirects=True)
    assert "already removed" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(TranscriptRevision)).all()) == revisions + 1


def test_the_migration_records_redactions_made_before_it(app: Flask, story: Story) -> None:
    """Redactions made before records existed (flags on words) become records when upgrading."""
    from flask_migrate import downgrade, upgrade

    from storyhub.models import Redaction

    spans, state = redacted_spans(story), redaction_state(story)
    story_id = story.id
    directory = app.extensions["migrate"].directory
    db.session.remove()
    downgrade(directory=directory, revision="0009")  # the words keep their flags
    upgrade(directory=directory)
    story = db.session.get(Story, story_id)
    assert story is not None
    records = db.session.scalars(select(Redaction)).all()
    assert [(r.story_id, r.start, r.end) for r in records] == [(story_id, *spans[0])]
    assert redacted_spans(story) == spans and redaction_state(story) == state
