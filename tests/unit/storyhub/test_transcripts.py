"""Transcripts in the app: real Whisper on spoken stories, passages on the story page, captions
that follow corrections, splits and joins, speakers, redaction, approval, and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from consent.models import Audience
from consent.services import Choices, release
from media_pipeline.synth import render_story
from storyhub.extensions import db
from storyhub.models import (
    Language,
    MediaRole,
    Passage,
    Role,
    StoryState,
    TellerKind,
    TranscriptRevision,
)
from storyhub.storage import get_storage
from storyhub.transcripts import retime
from storyhub.uploads import StoryDetails, store_story_file
from tests.conftest import csrf_token

pytestmark = pytest.mark.slow

SENTENCES = [
    "My name is Mary and I live in Swansea.",
    "The carer listened to me every morning.",
    "Now I go to the lunch club with my friends.",
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spoken")
    return render_story(folder / "gwen.mp4", title="Gwen", paragraphs=SENTENCES)


@pytest.fixture
def story(app: Flask, make_user: Callable[..., Any], spoken: Path) -> Any:
    teller = make_user(Role.STORYTELLER, display_name="Gwen Jones")
    return store_story_file(
        spoken,
        StoryDetails("Gwen's story", "", Language.ENGLISH, TellerKind.SERVICE_USER),
        uploader=teller,
        storyteller=teller,
        original_filename="gwen.mp4",
    )


def words_of(story: Any) -> list[str]:
    return [w["text"].lower().strip(".,") for p in story.passages for w in p.words]


def test_a_spoken_story_is_transcribed_into_timed_passages(story: Any) -> None:
    assert story.state == StoryState.READY, story.failure_message
    assert story.transcript is not None and story.transcript.model == "tiny.en"
    words = words_of(story)
    for expected in ("mary", "swansea", "carer", "lunch", "friends"):
        assert expected in words
    times = [(w["start"], w["end"]) for p in story.passages for w in p.words]
    assert all(0 <= s <= e <= story.duration + 0.5 for s, e in times)
    assert times == sorted(times)
    # Kept for resuming: the 16 kHz sound, and the web copy.
    assert story.media_file(MediaRole.AUDIO) is not None
    assert story.media_file(MediaRole.RENDITION) is not None
    assert db.session.scalar(select(func.count()).select_from(TranscriptRevision)) == 1
    # The pipeline suggested themes for every passage: "The carer listened to me" is heard.
    assert story.passages and all(p.themes_suggested_at for p in story.passages)
    suggested = {t.subtheme.key for p in story.passages for t in p.themes}
    assert "listened-to" in suggested, [p.text for p in story.passages]


def test_the_story_page_shows_the_words_with_captions_on_by_default(story: Any, app: Flask) -> None:
    from tests.conftest import login

    client = app.test_client()
    login(client, story.storyteller.username)
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert re.search(r'<track kind="captions" src="/stories/\d+/captions.vtt"[^>]*default>', page)
    assert 'class="word"' in page and "Play from here" in page
    assert "Swansea" in page or "swansea" in page.lower()
    vtt = client.get(f"/stories/{story.id}/captions.vtt")
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    text = vtt.get_data(as_text=True)
    assert text.startswith("WEBVTT") and "Swansea" in text


def test_captions_follow_consent(story: Any, login_as: Callable[..., Any]) -> None:
    trainer, _ = login_as(Role.TRAINER)
    assert trainer.get(f"/stories/{story.id}/captions.vtt").status_code == 404
    release(story, story.storyteller, Choices(audiences={Audience.TRAINING}), watched=True)
    db.session.commit()
    assert trainer.get(f"/stories/{story.id}/captions.vtt").status_code == 200


def test_release_approves_the_transcript(story: Any) -> None:
    assert story.transcript.approved_at is None
    release(story, story.storyteller, Choices(audiences={Audience.TRAINING}), watched=True)
    assert story.transcript.approved_at is not None


def test_correcting_a_word_keeps_the_other_timings_and_captions_follow(
    story: Any, app: Flask
) -> None:
    from tests.conftest import login

    client = app.test_client()
    login(client, story.storyteller.username)
    passage = story.passages[0]
    before = [dict(w) for w in passage.words]
    target = next(i for i, w in enumerate(before) if "swansea" in w["text"].lower())
    new_text = " ".join("Abertawe." if i == target else w["text"] for i, w in enumerate(before))
    response = client.post(
        f"/stories/{story.id}/passages/{passage.id}",
        data={"text": new_text, "speaker": "Gwen", "csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 302
    db.session.expire_all()
    after = story.passages[0].words
    assert after[target]["text"] == "Abertawe."
    assert (after[target]["start"], after[target]["end"]) == (
        before[target]["start"],
        before[target]["end"],
    )
    assert [(w["start"], w["end"]) for i, w in enumerate(after) if i != target] == [
        (w["start"], w["end"]) for i, w in enumerate(before) if i != target
    ]
    assert story.passages[0].speaker == "Gwen"
    vtt = client.get(f"/stories/{story.id}/captions.vtt").get_data(as_text=True)
    assert "Abertawe" in vtt and "Swansea" not in vtt
    kinds = db.session.scalars(select(TranscriptRevision.kind).order_by("revision")).all()
    assert kinds == ["machine", "edit", "speaker"]


def test_split_and_join_passages(story: Any, app: Flask) -> None:
    from tests.conftest import login

    client = app.test_client()
    login(client, story.storyteller.username)
    passage = story.passages[0]
    texts = [w["text"] for w in passage.words]
    cut = len(texts) // 2
    text = " ".join(texts[:cut]) + "\n\n" + " ".join(texts[cut:])
    token = csrf_token(client, "/")
    client.post(
        f"/stories/{story.id}/passages/{passage.id}", data={"text": text, "csrf_token": token}
    )
    db.session.expire_all()
    assert len(story.passages) == 2
    first, second = story.passages
    assert [w["text"] for w in first.words] == texts[:cut]
    assert [w["text"] for w in second.words] == texts[cut:]
    assert first.end <= second.start + 0.001
    client.post(f"/stories/{story.id}/passages/{first.id}/join", data={"csrf_token": token})
    db.session.expire_all()
    assert len(story.passages) == 1
    assert [w["text"] for w in story.passages[0].words] == texts


def test_a_curator_redacts_a_name_everywhere(story: Any, login_as: Callable[..., Any]) -> None:
    curator, _ = login_as(Role.CURATOR)
    passage = story.passages[0]
    old_rendition = story.media_file(MediaRole.RENDITION).storage_key
    response = curator.post(
        f"/stories/{story.id}/passages/{passage.id}/redact",
        data={"phrase": "Mary", "csrf_token": csrf_token(curator, "/")},
    )
    assert response.status_code == 302
    db.session.expire_all()
    shown = story.passages[0].text
    assert "[name removed]" in shown and "Mary" not in shown
    vtt = curator.get(f"/stories/{story.id}/captions.vtt").get_data(as_text=True)
    assert "[name removed]" in vtt and "Mary" not in vtt
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert 'class="word redacted"' in page
    # The web copy was made again (a new file), with the name silenced.
    new_rendition = story.media_file(MediaRole.RENDITION).storage_key
    assert new_rendition != old_rendition
    assert not get_storage().exists(old_rendition)
    # Editing the words afterwards can't bring the name back.
    from storyhub.transcripts import edit_passage

    edit_passage(story.passages[0], story.passages[0].text.replace("Swansea", "Abertawe"), _)
    assert any(w.get("redacted") for w in story.passages[0].words)


def test_storytellers_cannot_redact_and_others_cannot_edit(
    story: Any, login_as: Callable[..., Any], app: Flask
) -> None:
    from tests.conftest import login

    teller_client = app.test_client()
    login(teller_client, story.storyteller.username)
    passage = story.passages[0]
    token = csrf_token(teller_client, "/")
    response = teller_client.post(
        f"/stories/{story.id}/passages/{passage.id}/redact",
        data={"phrase": "Mary", "csrf_token": token},
    )
    assert response.status_code == 403
    stranger, _ = login_as(Role.STORYTELLER)
    response = stranger.post(
        f"/stories/{story.id}/passages/{passage.id}",
        data={"text": "hacked", "csrf_token": csrf_token(stranger, "/")},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert "hacked" not in story.passages[0].text


def test_retime_shares_time_among_replacements_and_keeps_order() -> None:
    old = [
        {"start": 0.0, "end": 0.5, "text": "I"},
        {"start": 0.5, "end": 1.0, "text": "live"},
        {"start": 1.0, "end": 2.0, "text": "Swansea."},
    ]
    new = retime(old, "I live in Swansea Bay.")
    assert [w["text"] for w in new] == ["I", "live", "in", "Swansea", "Bay."]
    assert new[0] == old[0] and new[1] == old[1]
    # "Swansea." corrected to "Swansea" keeps its own time; the added words sit beside it.
    assert (new[3]["start"], new[3]["end"]) == (1.0, 2.0)
    assert new[2]["start"] == new[2]["end"] == 1.0 and new[4]["start"] == 2.0
    assert [w["start"] for w in new] == sorted(w["start"] for w in new)


def test_cli_transcribe_prints_json_without_storing(runner: FlaskCliRunner, spoken: Path) -> None:
    result = runner.invoke(args=["transcribe", str(spoken), "--language", "en"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["language"] == "en" and data["passages"]
    first = data["passages"][0]
    assert {"start", "end", "text", "words"} <= set(first)
    assert "lunch" in " ".join(p["text"] for p in data["passages"]).lower()
    assert db.session.scalar(select(func.count()).select_from(Passage)) == 0


def test_cli_import_queues_a_folder_with_its_consent(
    runner: FlaskCliRunner, make_user: Callable[..., Any], spoken: Path, tmp_path: Path
) -> None:
    make_user(Role.CURATOR, username="cara")
    make_user(Role.STORYTELLER, username="gwen")
    make_user(Role.STORYTELLER, username="dai")
    (tmp_path / "gwen.mp4").write_bytes(spoken.read_bytes())
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "stories.csv").write_text(
        "file,title,language,teller_kind,storyteller,audiences,clips_allowed\n"
        "gwen.mp4,Lunch club,en,carer,gwen,training;statistics,yes\n"
        "notes.mp4,Notes,en,carer,dai,,\n"
        "missing.mp4,Gone,en,carer,dai,,\n"
    )
    result = runner.invoke(
        args=["import", str(tmp_path), "--curator", "cara", "--storyteller", "dai"]
    )
    assert result.exit_code == 0, result.output
    assert "Queued 1 stories; skipped 2" in result.output
    assert "doesn't seem to be a video" in result.output and "missing.mp4" in result.output
    from storyhub.models import Story

    story = db.session.scalars(select(Story)).one()
    assert story.title == "Lunch club" and story.storyteller.username == "gwen"
    assert story.state == StoryState.READY
    # The consent recorded before import was released once the story was ready.
    assert story.consent.audiences == {Audience.TRAINING, Audience.STATISTICS}
    assert story.consent.clips_allowed and story.imported_consent is None
