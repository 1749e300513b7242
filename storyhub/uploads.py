"""Receiving a story: stream the file to disk, validate it, store it, record it, queue its job.

The rules: nothing is kept unless the file is valid media AND the database commit succeeds;
the job is sent only after that commit. A refused upload leaves no file and no row behind, and
neither does a web process killed half-way: what it staged is named after it, and
``remove_abandoned_files`` deletes it once the process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app, has_request_context
from flask import Request as FlaskRequest
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from consent import services as consent_services
from media_pipeline import MediaError, validate
from storyhub import audit, jobs
from storyhub.extensions import N_, db
from storyhub.jobs.messages import job_text
from storyhub.jobs.queue import ended_here, process_tag
from storyhub.models import (
    Language,
    MediaFile,
    MediaRole,
    ServiceSetting,
    Story,
    TellerKind,
    User,
)
from storyhub.processing import PROCESS_STORY
from storyhub.registry import housekeeping_task
from storyhub.storage import get_storage, new_story_folder

log = logging.getLogger(__name__)

# What people may upload, by file name ending. The content is checked for real by validate();
# the ending only lets us refuse an obvious wrong type (a .docx, a .jpg) straight away.
VIDEO_EXTENSIONS = ("mp4", "mov", "webm", "mkv", "3gp")
AUDIO_EXTENSIONS = ("m4a", "mp3", "wav", "ogg", "oga", "flac")
ACCEPTED_EXTENSIONS = VIDEO_EXTENSIONS + AUDIO_EXTENSIONS
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in ACCEPTED_EXTENSIONS) + ",video/*,audio/*"


class UploadRejected(Exception):
    """The upload cannot be kept; ``message`` tells the person why, in plain words."""

    def __init__(self, message: str, code: str = "rejected") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def accepts_uploads(view: Any) -> Any:
    """Mark a view that receives story files: only these take a body up to MAX_UPLOAD_MB."""
    view.accepts_uploads = True
    return view


def is_upload_route(endpoint: str | None) -> bool:
    """Whether the view at ``endpoint`` receives story files (and so a large body)."""
    view = current_app.view_functions.get(endpoint or "")
    return bool(getattr(view, "accepts_uploads", False))


class StreamingRequest(FlaskRequest):
    """Writes uploaded files straight to the staging folder instead of memory or /tmp.

    Werkzeug already streams multipart bodies; pointing its file factory at the staging folder
    keeps memory flat and lets the finished file be linked into storage without a copy.
    """

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        staging = current_app.config["UPLOAD_STAGING"]
        os.makedirs(staging, exist_ok=True)
        # Deleted when closed (at the end of the request), whether or not the story was kept;
        # named after this process, so that if it is killed the file is known to be abandoned.
        staged = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "wb+", dir=staging, prefix=f"upload-{process_tag()}-"
        )
        self._staged_files.append(staged)
        return staged

    @property
    def max_content_length(self) -> int | None:
        """Small (MAX_REQUEST_KB) everywhere but the upload routes, which take a story's file.

        Decided by the route matched, before anything (the CSRF check included) reads the body.
        """
        if self._max_content_length is None and current_app and is_upload_route(self.endpoint):
            return int(current_app.config["MAX_UPLOAD_CONTENT_LENGTH"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def _staged_files(self) -> list[IO[bytes]]:
        return self.__dict__.setdefault("_storyhub_staged", [])

    def close(self) -> None:
        """Close (and so delete) every staged file, including those of an upload cut short.

        Werkzeug closes only the files it finished parsing; a body refused or dropped half-way
        would otherwise leave its partial file until garbage collection.
        """
        try:
            super().close()
        finally:
            for staged in self._staged_files:
                staged.close()


@dataclass(frozen=True)
class StoryDetails:
    title: str
    description: str
    language: Language
    teller_kind: TellerKind
    setting: ServiceSetting = ServiceSetting.NOT_SAID


def extension_of(filename: str) -> str:
    """The lower-case ending of ``filename`` without the dot ("" when there is none)."""
    name = os.path.basename(filename.replace("\\", "/"))
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _staged_path(upload: FileStorage) -> tuple[Path, bool]:
    """A path on disk holding the upload's bytes, and whether we made it (and must delete it)."""
    stream: Any = upload.stream
    name = getattr(stream, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        stream.flush()
        return Path(name), False
    staging = current_app.config["UPLOAD_STAGING"]
    os.makedirs(staging, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=staging, prefix=f"copy-{process_tag()}-")
    with os.fdopen(fd, "wb") as out:
        upload.save(out)
    return Path(path), True


def receive_upload(
    upload: FileStorage, details: StoryDetails, *, uploader: User, storyteller: User
) -> Story:
    """Validate and keep an uploaded story, or raise UploadRejected having kept nothing."""
    filename = upload.filename or ""
    if extension_of(filename) not in ACCEPTED_EXTENSIONS:
        raise UploadRejected(
            _(
                "This kind of file can't be used. Please choose a video (for example .mp4 or "
                ".mov) or a sound recording (for example .m4a, .mp3 or .wav)."
            ),
            "unsupported_type",
        )
    path, made_copy = _staged_path(upload)
    try:
        return store_story_file(
            path, details, uploader=uploader, storyteller=storyteller, original_filename=filename
        )
    finally:
        if made_copy:
            path.unlink(missing_ok=True)


def store_story_file(
    path: Path,
    details: StoryDetails,
    *,
    uploader: User,
    storyteller: User,
    original_filename: str,
    imported_consent: dict[str, Any] | None = None,
) -> Story:
    """Validate the media file at ``path`` and keep it as a new story (the file is not moved)."""
    config = current_app.config
    try:
        info = validate(
            path,
            min_duration=config["MIN_DURATION_SECONDS"],
            max_duration=config["MAX_DURATION_SECONDS"],
            timeout=config["VALIDATION_TIMEOUT_SECONDS"],
        )
    except MediaError as err:
        # Shown now, in the uploader's language (the command-line import prints it in English).
        shown = job_text(err.message, err.code) if has_request_context() else err.message
        raise UploadRejected(shown, err.code) from err

    storage = get_storage()
    key = f"{new_story_folder()}/original.{info.extension.lstrip('.')}"
    marker = _mark_pending(key)
    try:
        size = storage.put_file(path, key)
        story = Story(
            title=details.title,
            description=details.description,
            language=details.language,
            teller_kind=details.teller_kind,
            setting=details.setting,
            storyteller=storyteller,
            uploaded_by=uploader,
            kind=info.kind,
            duration=info.duration,
            imported_consent=imported_consent,
        )
        story.media.append(
            MediaFile(
                role=MediaRole.ORIGINAL,
                storage_key=key,
                content_type=info.mime_type,
                size_bytes=size,
                original_filename=os.path.basename(original_filename.replace("\\", "/"))[:255],
                info=info.to_dict(),
            )
        )
        db.session.add(story)
        db.session.flush()
        # Consent step 1: taking part, so the story may be stored and prepared. Nobody else
        # sees it until the teller releases it (step 2).
        consent_services.take_part(story, uploader)
        audit.record(
            "story.uploaded",
            actor=uploader,
            object_type="story",
            object_id=story.id,
            on_behalf_of=storyteller.id if storyteller.id != uploader.id else None,
        )
        jobs.submit(PROCESS_STORY, story, message=N_("Waiting to prepare your story"))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        with contextlib.suppress(OSError):
            storage.delete(key)
        raise
    finally:
        marker.unlink(missing_ok=True)
    return story


def _mark_pending(key: str) -> Path:
    """Note ``key`` in the staging folder while its file is stored but its rows not committed.

    The commit is one transaction (story, file, consent, audit, job), so a crash leaves all of
    the rows or none; but the file is stored just before it. If the process dies in between,
    ``remove_abandoned_files`` finds this note and deletes the file that no row records.
    """
    staging = current_app.config["UPLOAD_STAGING"]
    os.makedirs(staging, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=staging, prefix=f"pending-{process_tag()}-")
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return Path(name)


# Staged uploads of an older version were not named after their process: those are taken to be
# abandoned once nothing has written to them for a day.
UNNAMED_ABANDONED_AFTER = 24 * 3600


def remove_abandoned_files() -> list[str]:
    """Delete what processes that ended without tidying up left in the staging folder.

    That is: uploads they were receiving (``upload-``, ``copy-``), a worker's own temporary
    folder with its jobs' partial files (``worker-``), and a story file stored just before a
    crash whose rows were never committed (``pending-``). Entries of processes that are still
    running, or that belong to another machine, are left alone. Runs when the site is set up,
    when the worker starts, and at the worker's sweep every few minutes. Returns the names.
    """
    staging = Path(current_app.config["UPLOAD_STAGING"])
    if not staging.is_dir():
        return []
    removed = []
    for entry in sorted(staging.iterdir()):
        kind, _, rest = entry.name.partition("-")
        if kind not in ("upload", "copy", "pending", "worker"):
            continue
        tag = rest if kind == "worker" else rest.rpartition("-")[0]
        try:
            if "@" in tag:
                abandoned = ended_here(tag)
            else:
                abandoned = time.time() - entry.stat().st_mtime > UNNAMED_ABANDONED_AFTER
            if not abandoned:
                continue
            if kind == "pending":
                _delete_if_unrecorded(entry.read_text().strip())
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:  # another sweep took it first
            continue
        except OSError:  # e.g. a program the dead process started still writes there
            log.warning("could not remove %s yet; the next sweep tries again", entry, exc_info=True)
            continue
        removed.append(entry.name)
    return removed


def remove_abandoned_files_task() -> None:
    remove_abandoned_files()


def _delete_if_unrecorded(key: str) -> None:
    if key and db.session.scalar(select(MediaFile.id).where(MediaFile.storage_key == key)) is None:
        get_storage().delete(key)


def init_app(app: Flask) -> None:
    """The sweep removes what interrupted uploads and dead workers left behind."""
    housekeeping_task(app, "remove_abandoned_files", remove_abandoned_files_task)
