"""Hostile files posing as stories: a playlist (ffconcat, HLS) naming other files is refused at
upload, and no later step (sound, picture, web copy) lets ffmpeg guess the format and read what
the playlist names: each reads the upload only as the format validation found, from local files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from media_pipeline import MediaError, probe, validate
from media_pipeline.audio import extract_audio
from media_pipeline.rendition import make_rendition
from media_pipeline.thumbnail import make_thumbnail
from storyhub import jobs
from storyhub.extensions import db
from storyhub.models import JobState, MediaRole, Role
from storyhub.processing import RENDER_STORY
from storyhub.storage import get_storage
from tests.unit.storyhub.test_uploads import counts, stored_files, upload

# What a hostile "story" holds: a text file that names the file the attacker wants read (here
# another story's recording beside it) and that ffmpeg, left to guess, reads in its place.
HOSTILE: dict[str, Callable[[Path], str]] = {
    "ffconcat list naming a file beside it": lambda secret: (
        f"ffconcat version 1.0\nfile {secret.name}\n"
    ),
    "HLS playlist naming a file by its path": lambda secret: (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\n{secret}\n#EXT-X-ENDLIST\n"
    ),
}


def hostile_file(folder: Path, case: str, secret_source: Path) -> Path:
    """A playlist renamed story.mp4, with the 'secret' recording it names beside it."""
    secret = folder / "secret.mp4"
    shutil.copyfile(secret_source, secret)
    story = folder / "story.mp4"
    story.write_text(HOSTILE[case](secret))
    return story


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_playlist_posing_as_a_story_is_refused_at_upload(
    case: str,
    app: Flask,
    login_as: Callable[..., Any],
    valid_media: dict[str, Path],
    tmp_path: Path,
) -> None:
    client, _teller = login_as(Role.STORYTELLER)
    story = hostile_file(tmp_path, case, valid_media["mp4"])
    before = counts()
    response = upload(client, story)
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
    with pytest.raises(MediaError) as refused:
        validate(story)
    assert refused.value.code == "not_media"
    assert counts() == before and stored_files(app) == []


STEPS: dict[str, Callable[[Path, Path, Any], Path]] = {
    "the sound for the transcriber": lambda src, out, info: extract_audio(
        src, out / "audio.wav", info=info, timeout=60
    ),
    "the sound, format found by probing": lambda src, out, _info: extract_audio(
        src, out / "audio.wav", timeout=60
    ),
    "the web copy": lambda src, out, info: make_rendition(src, out / "web.mp4", info),
    "the picture": lambda src, out, info: make_thumbnail(src, out / "thumbnail.jpg", info),
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("case", list(HOSTILE))
def test_no_later_step_reads_what_a_playlist_names(
    case: str, step: str, valid_media: dict[str, Path], tmp_path: Path
) -> None:
    # The upload was a real MP4 when validated, then the file changed (or validation was
    # somehow passed): every step reads it as the MP4 it was found to be, so it fails, and
    # nothing is made from the file the playlist names.
    info = probe(valid_media["mp4"])
    story = hostile_file(tmp_path, case, valid_media["mp4"])
    out = tmp_path / "made"
    out.mkdir()
    with pytest.raises(MediaError):
        STEPS[step](story, out, info)
    assert list(out.iterdir()) == []


def test_the_worker_reads_a_story_only_as_the_format_found_at_upload(
    make_story: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    story = make_story(fmt="mp4")
    web = story.media_file(MediaRole.RENDITION)
    original = story.media_file(MediaRole.ORIGINAL)
    assert web is not None and original is not None
    before = (web.storage_key, web.size_bytes)
    # The original is swapped for a playlist naming a recording beside it; a new web copy is
    # asked for (as after a redaction). It fails, and the old copy is left as it was.
    source = get_storage().local_path(original.storage_key)
    hostile_file(source.parent, "ffconcat list naming a file beside it", valid_media["mov"])
    source.unlink()  # stored files may be hard links to the shared samples
    shutil.move(source.parent / "story.mp4", source)
    job = jobs.submit(RENDER_STORY, story, message="Making a copy that plays everywhere")
    db.session.commit()
    db.session.refresh(job)
    assert job.state == JobState.FAILED
    db.session.refresh(story)
    web = story.media_file(MediaRole.RENDITION)
    assert web is not None and (web.storage_key, web.size_bytes) == before


def test_the_worker_refuses_an_upload_that_is_now_another_format(
    make_story: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    # Validated as an MP4, then swapped in storage for a (real) WAV: read as neither.
    story = make_story(fmt="mp4")
    original = story.media_file(MediaRole.ORIGINAL)
    assert original is not None
    source = get_storage().local_path(original.storage_key)
    source.unlink()  # stored files may be hard links to the shared samples
    shutil.copyfile(valid_media["wav"], source)
    job = jobs.submit(RENDER_STORY, story, message="Making a copy that plays everywhere")
    db.session.commit()
    db.session.refresh(job)
    assert job.state == JobState.FAILED and job.error_code == "damaged"
