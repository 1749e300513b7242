"""Uploading stories: every accepted format is kept and processed; every bad file is refused with
a readable reason and leaves nothing behind, on disk or in the database."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from media_pipeline import MediaError, probe, validate
from storyhub.extensions import db
from storyhub.models import AuditEvent, Job, JobState, MediaFile, MediaRole, Role, Story, StoryState
from tests import media_factory
from tests.conftest import csrf_token


def upload(
    client: FlaskClient, path: Path | None, *, filename: str | None = None, **fields: Any
) -> Any:
    data: dict[str, Any] = {
        "title": "My story",
        "description": "About the day centre",
        "language": "en",
        "teller_kind": "service_user",
        "take_part": "y",
        "csrf_token": csrf_token(client, "/stories/new"),
    }
    data.update(fields)
    if path is not None:
        data["media"] = (path.open("rb"), filename or path.name)
    return client.post("/stories/new", data=data, content_type="multipart/form-data")


def stored_files(app: Flask) -> list[Path]:
    """Every file under the media root (staging included), so leftovers are caught."""
    return [p for p in Path(app.config["MEDIA_ROOT"]).rglob("*") if p.is_file()]


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Story, MediaFile, Job)
    }


@pytest.mark.parametrize("fmt", list(media_factory.VALID_SAMPLES))
def test_every_accepted_format_is_stored_and_processed(
    fmt: str, app: Flask, login_as: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    response = upload(client, valid_media[fmt], title=f"A {fmt} story")
    assert response.status_code == 302
    story = db.session.scalars(select(Story)).one()
    sample = media_factory.VALID_SAMPLES[fmt]
    assert response.headers["Location"].endswith(f"/stories/{story.id}")
    assert story.title == f"A {fmt} story"
    assert story.storyteller_id == teller.id
    assert story.kind == sample.kind
    assert story.duration == pytest.approx(probe(valid_media[fmt]).duration, abs=0.01)
    assert 1.0 < story.duration < 10.0
    # The job ran after the commit (in-process queue) and made the thumbnail or poster.
    assert story.state == StoryState.READY, story.failure_message
    original = story.media_file(MediaRole.ORIGINAL)
    thumbnail = story.media_file(MediaRole.THUMBNAIL)
    assert original is not None and thumbnail is not None
    assert original.content_type == sample.mime_type
    assert original.original_filename == valid_media[fmt].name
    assert original.size_bytes == valid_media[fmt].stat().st_size
    job = story.latest_job
    assert job is not None and job.state == JobState.DONE and job.attempts == 1
    # Nothing is left in the staging folder once the request is over.
    assert not list(Path(app.config["UPLOAD_STAGING"]).iterdir())
    # The player gets the web-playable copy: H.264/AAC MP4, or AAC for sound only.
    rendition = story.media_file(MediaRole.RENDITION)
    assert rendition is not None
    web_type = "video/mp4" if sample.kind == "video" else "audio/mp4"
    assert rendition.content_type == web_type
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    tag = "<video" if sample.kind == "video" else "<audio"
    assert tag in page and f'type="{web_type}"' in page
    assert f"/stories/{story.id}/media/rendition" in page


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated faststart mp4": (media_factory.make_truncated_faststart_mp4, "damaged"),
    "truncated mp4, index at end": (media_factory.make_truncated_mp4_index_at_end, "damaged"),
    "truncated webm": (media_factory.make_truncated_webm, "damaged"),
    "text renamed .mp4": (media_factory.make_text_as_mp4, "not_media"),
    "empty file": (media_factory.make_empty_file, "empty"),
    "random bytes": (media_factory.make_random_bytes, "not_media"),
    "png renamed .mp4": (media_factory.make_png_as_mp4, "unsupported_type"),
    "video without sound": (media_factory.make_video_without_audio, "no_audio"),
    "0.3 second clip": (media_factory.make_short_clip, "too_short"),
}


@pytest.fixture(scope="module")
def bad_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-media")
    return {name: make(folder) for name, (make, _code) in BAD_FILES.items()}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_with_a_reason_and_leave_nothing(
    case: str, app: Flask, login_as: Callable[..., Any], bad_media: dict[str, Path]
) -> None:
    client, _teller = login_as(Role.STORYTELLER)
    before = counts()
    response = upload(client, bad_media[case])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    # The reason shown is the pipeline's plain-language message for this kind of fault.
    with pytest.raises(MediaError) as refused:
        validate(bad_media[case])
    assert refused.value.code == BAD_FILES[case][1]
    assert str(escape(refused.value.message)) in page
    assert counts() == before
    assert stored_files(app) == []
    # The person's typed details survive the refusal, so nothing has to be typed again.
    assert 'value="My story"' in page


def test_a_file_of_the_wrong_type_is_refused_by_its_name(
    app: Flask, login_as: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, _ = login_as(Role.STORYTELLER)
    response = upload(client, valid_media["mp4"], filename="story.docx")
    assert response.status_code == 400
    assert "This kind of file can" in response.get_data(as_text=True)
    assert counts()["Story"] == 0 and stored_files(app) == []


@pytest.fixture
def small_limit(app_config: dict[str, Any]) -> None:
    app_config["MAX_UPLOAD_MB"] = 1


def test_oversize_upload_gets_a_friendly_page_not_a_bare_413(
    small_limit: None, app: Flask, login_as: Callable[..., Any], tmp_path: Path
) -> None:
    client, _ = login_as(Role.STORYTELLER)
    big = media_factory.make_large_wav(tmp_path / "big.wav", 3 * 1024 * 1024)
    response = upload(client, big)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "That file is too big" in page and "Files can be up to 1 MB" in page
    assert "<html" in page  # our page, with the site around it
    assert counts()["Story"] == 0 and stored_files(app) == []
    # The upload page's script gets the same reason as JSON.
    response = client.post(
        "/stories/new",
        data={"media": (big.open("rb"), "big.wav"), "title": "x"},
        headers={"X-Requested-With": "storyhub-upload"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Files can be up to 1 MB" in response.get_json()["error"]["message"]


def test_missing_title_and_file_are_explained(login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.STORYTELLER)
    response = upload(client, None, title="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please give your story a title." in page
    assert "Please choose the file of your story." in page


def test_upload_errors_come_back_as_json_for_the_progress_script(
    login_as: Callable[..., Any], bad_media: dict[str, Path]
) -> None:
    client, _ = login_as(Role.STORYTELLER)
    token = csrf_token(client, "/stories/new")
    response = client.post(
        "/stories/new",
        data={
            "media": (bad_media["text renamed .mp4"].open("rb"), "notes.mp4"),
            "title": "t",
            "language": "en",
            "teller_kind": "carer",
            "take_part": "y",
            "csrf_token": token,
        },
        headers={"X-Requested-With": "storyhub-upload"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["error"]["code"] == "not_media"
    assert "video or a sound recording" in body["error"]["message"]


def test_a_curator_uploads_on_behalf_of_a_storyteller(
    app: Flask,
    login_as: Callable[..., Any],
    make_user: Callable[..., Any],
    valid_media: dict[str, Path],
) -> None:
    teller = make_user(Role.STORYTELLER, display_name="Gwen")
    client, curator = login_as(Role.CURATOR)
    assert "Gwen" in client.get("/stories/new").get_data(as_text=True)
    response = upload(client, valid_media["m4a"], storyteller=str(teller.id))
    assert response.status_code == 302
    story = db.session.scalars(select(Story)).one()
    assert story.storyteller_id == teller.id and story.uploaded_by_id == curator.id
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "story.uploaded")
    ).one()
    assert event.actor_id == curator.id and event.detail["on_behalf_of"] == teller.id
    # The storyteller sees it among their own stories.
    teller_client = app.test_client()
    from tests.conftest import login

    login(teller_client, teller.username)
    assert "My story" in teller_client.get("/stories/mine").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.STORYTELLER, Role.CURATOR])
def test_a_forged_storyteller_value_is_refused(
    role: Role,
    app: Flask,
    login_as: Callable[..., Any],
    make_user: Callable[..., Any],
    valid_media: dict[str, Path],
) -> None:
    other_teller = make_user(Role.STORYTELLER)
    trainer = make_user(Role.TRAINER)
    client, _ = login_as(role)
    # A storyteller may not upload as someone else; a curator only for storytellers.
    target = other_teller if role == Role.STORYTELLER else trainer
    response = upload(client, valid_media["wav"], storyteller=str(target.id))
    assert response.status_code == 400
    assert counts()["Story"] == 0 and stored_files(app) == []


@pytest.mark.parametrize("field,value", [("language", "fr"), ("teller_kind", "robot")])
def test_forged_choices_are_refused(
    field: str, value: str, app: Flask, login_as: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, _ = login_as(Role.STORYTELLER)
    response = upload(client, valid_media["wav"], **{field: value})
    assert response.status_code == 400
    assert counts()["Story"] == 0 and stored_files(app) == []


@pytest.mark.parametrize("role", [Role.TRAINER, Role.MEMBER])
def test_roles_that_do_not_upload_are_refused(
    role: Role, login_as: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, _ = login_as(role)
    assert client.get("/stories/new").status_code == 403


def test_a_path_in_the_file_name_is_reduced_to_its_last_part(
    login_as: Callable[..., Any], valid_media: dict[str, Path], app: Flask
) -> None:
    client, _ = login_as(Role.STORYTELLER)
    response = upload(client, valid_media["mp3"], filename="../../etc/passwd.mp3")
    assert response.status_code == 302
    original = db.session.scalars(select(MediaFile)).first()
    assert original is not None and original.original_filename == "passwd.mp3"
    root = Path(app.config["MEDIA_ROOT"]).resolve()
    assert all(p.resolve().is_relative_to(root) for p in stored_files(app))


def test_a_failed_database_commit_keeps_no_file(
    app: Flask,
    login_as: Callable[..., Any],
    valid_media: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the story's row can't be saved, its file must not stay behind as an orphan."""
    from sqlalchemy.exc import OperationalError

    client, _ = login_as(Role.STORYTELLER)
    token = csrf_token(client, "/stories/new")

    def broken_commit() -> None:
        raise OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    response = client.post(
        "/stories/new",
        data={
            "media": (valid_media["wav"].open("rb"), "a.wav"),
            "title": "t",
            "language": "en",
            "teller_kind": "carer",
            "take_part": "y",
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    monkeypatch.undo()
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    db.session.rollback()
    assert counts()["Story"] == 0 and stored_files(app) == []


def test_upload_reads_the_body_from_a_stream(login_as: Callable[..., Any]) -> None:
    """Bytes that are not a file at all still get the friendly refusal."""
    client, _ = login_as(Role.STORYTELLER)
    token = csrf_token(client, "/stories/new")
    response = client.post(
        "/stories/new",
        data={
            "media": (io.BytesIO(b"\x00" * 5000), "story.mp4"),
            "title": "t",
            "language": "en",
            "teller_kind": "carer",
            "take_part": "y",
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)


def test_what_ended_processes_left_in_staging_is_removed_and_nothing_else(
    app: Flask, make_story: Callable[..., Any], tmp_path: Path
) -> None:
    """A web or worker process killed half-way leaves files named after it; they go once it has
    ended (a zombie nobody reaped has ended too), and so does a stored file it never recorded."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from storyhub.storage import get_storage
    from storyhub.uploads import remove_abandoned_files

    host = socket.gethostname()
    reaped = subprocess.Popen([sys.executable, "-c", "pass"])
    reaped.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # never waited for
    while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        time.sleep(0.01)
    dead, gone, alive = f"{reaped.pid}@{host}", f"{zombie.pid}@{host}", f"{os.getpid()}@{host}"

    storage = get_storage()
    kept_story = make_story(None, "wav")
    recorded = kept_story.media_file(MediaRole.ORIGINAL).storage_key
    unrecorded = "stories/0123456789abcdef/original.wav"
    storage.put_file(media_factory.make_wav(tmp_path), unrecorded)

    staging = Path(app.config["UPLOAD_STAGING"])
    left = [f"upload-{dead}-abc_12", f"copy-{gone}-x9", f"upload-{alive}-live1"]
    left += [f"upload-{reaped.pid}@another-host-q1", "upload-oldstyle1", "upload-newstyle1"]
    for name in [*left, "unrelated.txt"]:
        (staging / name).write_bytes(b"partial")
    os.utime(staging / "upload-oldstyle1", (time.time() - 2 * 86400,) * 2)
    (staging / f"pending-{dead}-p1").write_text(unrecorded)
    (staging / f"pending-{dead}-p2").write_text(recorded)
    (staging / f"pending-{alive}-p3").write_text(unrecorded)
    for owner in (dead, alive):
        (staging / f"worker-{owner}" / "story-x").mkdir(parents=True)
        (staging / f"worker-{owner}" / "story-x" / "web.mp4").write_bytes(b"half a video")

    removed = remove_abandoned_files()

    gone_now = [f"upload-{dead}-abc_12", f"copy-{gone}-x9", "upload-oldstyle1"]
    gone_now += [f"pending-{dead}-p1", f"pending-{dead}-p2", f"worker-{dead}"]
    assert sorted(removed) == sorted(gone_now)
    still = [f"upload-{alive}-live1", f"upload-{reaped.pid}@another-host-q1", "upload-newstyle1"]
    still += ["unrelated.txt", f"pending-{alive}-p3", f"worker-{alive}"]
    assert sorted(p.name for p in staging.iterdir()) == sorted(still)
    assert (staging / f"worker-{alive}" / "story-x" / "web.mp4").exists()
    assert not storage.exists(unrecorded)  # stored, never committed: deleted
    assert storage.exists(recorded)  # committed before the crash: kept
    zombie.wait()


def _chosen_language(page: str) -> str:
    """The language the upload form's question has chosen already."""
    import re

    chosen = [m for m in re.findall(r'<input[^>]*name="language"[^>]*>', page) if "checked" in m]
    assert len(chosen) == 1, chosen
    return re.search(r'value="(\w+)"', chosen[0]).group(1)  # type: ignore[union-attr]


def test_the_upload_form_starts_in_the_tellers_language(
    app: Flask, login_as: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    db.session.refresh(teller)
    assert teller.language == "en"  # signing in kept the page's language
    teller.language = None
    db.session.commit()
    page = client.get("/stories/new", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _chosen_language(page) == "en"
    # No account language: the page's language (here from the browser).
    page = client.get("/stories/new", headers={"Accept-Language": "cy"}).get_data(as_text=True)
    assert _chosen_language(page) == "cy"
    # The account's language, whatever the browser says.
    teller.language = "cy"
    db.session.commit()
    page = client.get("/stories/new", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _chosen_language(page) == "cy"
