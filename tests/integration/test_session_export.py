"""Exporting a three-clip session for real: ffmpeg, moviepy, WeasyPrint, the job, the storage.

Checks the compiled video (length = clips + title cards within two frames, sound throughout,
captions inside each clip), the handout, the record on each story, and what a withdrawal does:
the export is deleted, and a new one leaves the story out and says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.models import StoryUse
from consent.services import withdraw
from storyhub.extensions import db
from storyhub.models import JobState, Role, Story, User
from storyhub.storage import get_storage
from storyhub.training.models import Clip, Lesson, LessonExport
from tests.conftest import csrf_token, login
from tests.training_factory import clip_story, make_video

# Long media work: each export compiles a video session with ffmpeg, moviepy and WeasyPrint.
pytestmark = pytest.mark.slow

SignIn = Callable[[Role], tuple[FlaskClient, User]]
CARD_SECONDS = 3.0
FRAME = 1 / 25

PASSAGES = [
    "I was lonely after the stroke and nobody called me",
    "Then the volunteers came every Tuesday and we talked",
    "Now I go to the club and I help with the tea",
]


def _post(client: FlaskClient, path: str, data: dict[str, object]) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, "/sessions"), **data})


def _vtt_cues(text: str) -> list[tuple[float, float]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [
        (seconds(a), seconds(b))
        for a, b in re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", text)
    ]


def _streams(path: Path) -> tuple[float, float, float]:
    """(container, video, audio) durations in seconds."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert container.duration is not None
        return (
            container.duration / 1_000_000,
            float(video.duration * video.time_base) if video.duration else 0.0,
            float(audio.duration * audio.time_base) if audio.duration else 0.0,
        )


@pytest.fixture(scope="module")
def story_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("export") / "story.mp4", 95)


@pytest.fixture
def stories(app: Flask, make_user: Callable[..., User], story_video: Path) -> list[Story]:
    teller = make_user(Role.STORYTELLER, display_name="Mary Jones")
    return [
        clip_story(teller, PASSAGES, title=title, video=story_video)
        for title in ("Finding the club", "Going home", "The new carer")
    ]


def _build_session(client: FlaskClient, stories: list[Story]) -> Lesson:
    response = _post(client, "/sessions", {"title": "Loneliness and belonging"})
    session_id = int(response.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    # Three clips of different lengths, from different passages, with a prompt between.
    bounds = [(2, 7), (10, 17), (21, 26)]
    for story, (first, last) in zip(stories, bounds, strict=True):
        _post(
            client,
            f"/stories/{story.id}/clips/new",
            {
                "start_word": first,
                "end_word": last,
                "title": f"About {story.title}",
                "session": session_id,
            },
        )
        _post(
            client,
            f"/sessions/{session_id}/items",
            {"kind": "prompt", "text": f"What mattered in {story.title}?", "notes": "SECRET NOTE"},
        )
    session = db.session.get(Lesson, session_id)
    assert session is not None
    return session


def _export(client: FlaskClient, session: Lesson, burn: bool = True) -> LessonExport:
    # The test queue runs the job in-process, right after the request's commit.
    _post(client, f"/sessions/{session.id}/exports", {"burn": "yes"} if burn else {})
    db.session.expire_all()
    export = db.session.scalars(
        select(LessonExport)
        .where(LessonExport.session_id == session.id)
        .order_by(LessonExport.id.desc())
    ).first()
    assert export is not None and export.job is not None
    assert export.job.state == JobState.DONE, export.job.error_message
    return export


def test_a_three_clip_session_exports_in_sync(
    app: Flask, login_as: SignIn, stories: list[Story]
) -> None:
    client, trainer = login_as(Role.TRAINER)
    session = _build_session(client, stories)
    export = _export(client, session)
    clips = db.session.scalars(select(Clip).order_by(Clip.id)).all()
    expected = sum(c.duration for c in clips) + CARD_SECONDS * len(clips)

    storage = get_storage()
    video = storage.local_path(export.files["video"])
    total, video_seconds, audio_seconds = _streams(video)
    assert abs(total - expected) <= 2 * FRAME, (total, expected)
    assert abs(video_seconds - expected) <= 2 * FRAME
    assert audio_seconds >= expected - 2 * FRAME  # sound all the way through
    assert export.duration is not None and abs(export.duration - expected) <= 2 * FRAME

    # Each clip's captions lie inside that clip's span of the compilation, after its card
    # (the compilation puts every cut on a frame, so spans may move by up to a frame).
    cues = _vtt_cues(storage.local_path(export.files["captions"]).read_text(encoding="utf-8"))
    spans = []
    offset = 0.0
    for clip in clips:
        spans.append((offset + CARD_SECONDS, offset + CARD_SECONDS + clip.duration))
        offset += CARD_SECONDS + clip.duration
    assert cues
    for start, end in cues:
        assert any(a - FRAME <= start and end <= b + FRAME for a, b in spans), (start, end, spans)
    for a, b in spans:  # and every clip has captions
        assert any(a - FRAME <= s and e <= b + FRAME for s, e in cues)

    handout = storage.local_path(export.files["handout"]).read_text(encoding="utf-8")
    assert "What mattered in Going home?" in handout
    assert "volunteers came every Tuesday" in handout
    assert "told by Mary" in handout and "Jones" not in handout  # first name only, as consented
    assert "SECRET NOTE" not in handout  # trainer's notes stay with the trainer
    assert storage.local_path(export.files["pdf"]).read_bytes().startswith(b"%PDF")

    # Every story in it records the export, for "where my story has been used".
    uses = db.session.scalars(select(StoryUse).where(StoryUse.kind == "export")).all()
    assert sorted(u.story_id for u in uses) == sorted(s.id for s in stories)
    assert all(u.user_id == trainer.id for u in uses)
    teller = app.test_client()
    login(teller, stories[0].storyteller.username)
    used = teller.get(f"/stories/{stories[0].id}/used").get_data(as_text=True)
    assert re.search(r"Training packs made with clips of it[^<]*</td><td>1</td>", used)

    # The handout opens as a page of its own, its inline style allowed and nothing else.
    page = client.get(f"/sessions/{session.id}/exports/{export.id}/handout")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "script-src" not in policy
    download = client.get(f"/sessions/{session.id}/exports/{export.id}/video")
    assert download.status_code == 200 and download.mimetype == "video/mp4"
    assert len(download.get_data()) == video.stat().st_size


def test_withdrawing_a_story_deletes_its_exports_and_the_next_leaves_it_out(
    app: Flask, login_as: SignIn, stories: list[Story]
) -> None:
    client, _ = login_as(Role.TRAINER)
    session = _build_session(client, stories)
    first = _export(client, session, burn=False)
    first_files = [get_storage().local_path(k) for k in first.files.values()]
    gone = stories[1]
    withdraw(gone, gone.storyteller, "I changed my mind")
    db.session.commit()

    db.session.expire_all()
    assert first.revoked_at is not None and first.files == {}
    assert not any(path.exists() for path in first_files)
    refused = client.get(f"/sessions/{session.id}/exports/{first.id}/video")
    assert refused.status_code == 410
    assert "Its storyteller withdrew it." in refused.get_data(as_text=True)
    assert "Make a new export" in refused.get_data(as_text=True)  # and it can be made again

    # The player skips it with a notice, and a new export leaves it out and says so.
    player = client.get(f"/sessions/{session.id}/play").get_data(as_text=True)
    assert "Clip skipped" in player and "Its storyteller withdrew it." in player
    second = _export(client, session, burn=False)
    assert second.story_ids == sorted([stories[0].id, stories[2].id])
    assert second.left_out == [
        {"title": "About Going home", "reason": "Its storyteller withdrew it.", "story_id": gone.id}
    ]
    kept = [c for c in db.session.scalars(select(Clip)) if c.story_id != gone.id]
    expected = sum(c.duration for c in kept) + CARD_SECONDS * len(kept)
    total, _, _ = _streams(get_storage().local_path(second.files["video"]))
    assert abs(total - expected) <= 2 * FRAME
    handout = get_storage().local_path(second.files["handout"]).read_text(encoding="utf-8")
    assert "Not included" in handout and "About Going home" in handout
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Left out of this export:" in page and "Its storyteller withdrew it." in page


def test_a_clip_can_be_taken_away_as_a_file_until_its_story_is_withdrawn(
    app: Flask, login_as: SignIn, stories: list[Story]
) -> None:
    client, _ = login_as(Role.TRAINER)
    story = stories[0]
    _post(
        client,
        f"/stories/{story.id}/clips/new",
        {"start_word": 3, "end_word": 14, "title": "Lonely, then the volunteers"},
    )
    clip = db.session.scalars(select(Clip)).one()
    page = client.get(f"/clips/{clip.id}").get_data(as_text=True)
    assert "Make a file of this clip" in page
    assert client.get(f"/clips/{clip.id}/file").status_code == 404  # not cut yet
    # The test queue cuts it at once; a second ask finds it made and goes straight to it.
    _post(client, f"/clips/{clip.id}/file", {})
    again = _post(client, f"/clips/{clip.id}/file", {})
    assert again.headers["Location"].endswith(f"/clips/{clip.id}/file")  # type: ignore[attr-defined]
    download = client.get(f"/clips/{clip.id}/file")
    assert download.status_code == 200 and download.mimetype == "video/mp4"
    db.session.expire_all()
    assert clip.file_key is not None
    path = get_storage().local_path(clip.file_key)
    total, video_seconds, audio_seconds = _streams(path)
    assert abs(total - clip.duration) <= FRAME and abs(video_seconds - clip.duration) <= FRAME
    assert abs(audio_seconds - clip.duration) <= 0.03
    # Another trainer can't take it, and a withdrawal deletes it.
    other, _ = login_as(Role.TRAINER)
    assert other.get(f"/clips/{clip.id}/file").status_code == 404
    withdraw(story, story.storyteller, "please stop")
    db.session.commit()
    assert client.get(f"/clips/{clip.id}/file").status_code == 404
    db.session.expire_all()
    assert clip.file_key is None and not path.exists()
