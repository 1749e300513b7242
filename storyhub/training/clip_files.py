"""One clip as a file to take away (for slides, or a room with no network), cut by a job.

The file is cut exactly on the clip's words from the story's current web copy
(``media_pipeline.clips.cut_clip``). It is served only while the clip may be used and only if it
was cut from the web copy and bounds the clip has now; it is a copy (``consent.copies``), bound to
the story's consent, naming and redaction state, and deleted by that one mechanism.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import send_file
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent import clip_refusal, copies
from consent.copies import Copy, CopyKind, copy_of, copy_refusal, web_copy_refusal
from consent.policy import Purpose
from media_pipeline.errors import MediaError
from storyhub import audit, jobs
from storyhub.extensions import N_, db
from storyhub.jobs import JobContext, JobFailed
from storyhub.models import Job, MediaRole
from storyhub.storage import get_storage
from storyhub.training.models import Clip
from storyhub.training.services import TrainingError, clip_standing

CUT_CLIP = "cut_clip"


def made_from(clip: Clip) -> str:
    """What a file of ``clip`` must have been cut from to be served: web copy and bounds."""
    rendition = clip.story.media_file(MediaRole.RENDITION)
    if rendition is None:
        return ""
    return f"{rendition.storage_key}|{clip.start:.3f}|{clip.end:.3f}"


def file_ready(clip: Clip) -> bool:
    """Whether the clip's file is there and was cut from what the clip is now."""
    current = made_from(clip)
    if not clip.file_key or current == "" or clip.file_made_from != current:
        return False
    return copy_refusal(copy_of(CopyKind.CLIP_FILE, clip.id)) is None


def file_job(clip: Clip) -> Job | None:
    """The job cutting the clip's file, while it runs."""
    job = clip.file_job
    return job if job is not None and not job.finished else None


def request_file(user: Any, clip: Clip) -> Job | None:
    """Ask for the clip as a file; None when an up-to-date file is already there."""
    standing = clip_standing(clip, user)
    if not standing.usable:
        raise TrainingError(_("This clip can't be used now. %(reason)s", reason=standing.reason))
    if file_ready(clip):
        return None
    running = file_job(clip)
    if running is not None:
        return running
    clip.file_job = jobs.submit(CUT_CLIP, clip.story, message=N_("Waiting to cut the clip"))
    return clip.file_job


def forget_file(key: str | None) -> None:
    """Delete a deleted clip's file (after the commit that deleted the clip)."""
    if key:
        get_storage().delete(key)


def send_clip_file(clip: Clip) -> Response:
    """The clip's file, named after it (the caller checked it may be used and is ready)."""
    assert clip.file_key is not None
    suffix = Path(clip.file_key).suffix
    response = send_file(
        get_storage().local_path(clip.file_key),
        mimetype="video/mp4" if suffix == ".mp4" else "audio/mp4",
        conditional=True,
        as_attachment=True,
        download_name=f"clip-{clip.id}{suffix}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: an HTTP header
    return response


def cut_clip_file(context: JobContext) -> None:
    """Cut the clip from the story's web copy, exactly on its words, and store it."""
    from media_pipeline.clips import cut_clip

    clip = db.session.scalar(select(Clip).where(Clip.file_job_id == context.job_id))
    if clip is None:
        raise JobFailed("missing", N_("This clip was deleted."))
    story = clip.story
    rendition = story.media_file(MediaRole.RENDITION)
    if clip_refusal(story) is not None or rendition is None or web_copy_refusal(story):
        raise JobFailed("refused", N_("This clip can't be used now."))
    source = get_storage().local_path(rendition.storage_key)
    source_made = made_from(clip)
    made_under = copies.made_from(story)
    suffix = ".mp4" if story.kind == "video" else ".m4a"
    with tempfile.TemporaryDirectory(prefix="storyhub-clip-") as workdir:
        out = Path(workdir) / f"clip{suffix}"

        def progress(fraction: float, stage: str) -> None:
            context.report(0.05 + 0.9 * fraction, stage)

        context.report(0.02, N_("Cutting the clip"))
        try:
            cut_clip(source, out, clip.start, clip.end, kind=story.kind, progress=progress)
        except MediaError as exc:
            raise JobFailed("media", N_("We couldn't cut this clip. Please try again.")) from exc
        # Consent may have changed while it was cut: ask again before keeping the file.
        db.session.expire_all()
        clip = db.session.get(Clip, clip.id)
        if clip is None or made_from(clip) != source_made:
            raise JobFailed(
                "changed", N_("The clip or its story changed meanwhile. Please ask again.")
            )
        key = f"clips/{clip.id}-{uuid.uuid4().hex[:8]}{suffix}"
        made = copies.record(CopyKind.CLIP_FILE, clip.id, Purpose.TRAINING, [made_under], [key])
        if copy_refusal(made) is not None:
            raise JobFailed(
                "changed", N_("The clip or its story changed meanwhile. Please ask again.")
            )
        get_storage().put_file(out, key)
    old = clip.file_key
    clip.file_key, clip.file_made_from = key, source_made
    audit.record("clip.file_made", object_type="clip", object_id=clip.id)
    db.session.commit()
    if old:
        get_storage().delete(old)


def forget_clip_file(made: Copy) -> None:
    """Its file was deleted: the clip no longer has one (it can be cut again when allowed)."""
    clip = db.session.get(Clip, made.subject_id)
    if clip is not None and clip.file_key in made.file_keys:
        clip.file_key, clip.file_made_from = None, ""
