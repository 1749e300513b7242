"""Exporting a session: one compiled video with captions, and a printable handout, made by a job.

Only clips whose stories still allow it go in; the others are left out and the export says so.
Each export is a copy (``consent.copies``) bound to the consent, naming and redaction state of
every story in it: asked again when the files are done (a story can change while the video is
made) and at every download, and deleted by that one mechanism when any of them changes. Each
export is recorded against each story in it ("where my story has been used").
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import render_template, send_file
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent import can_view, copies
from consent.copies import Copy, CopyKind, copy_of, copy_refusal
from consent.models import Audience
from consent.policy import Purpose
from consent.services import record_use
from media_pipeline.errors import MediaError
from storyhub import audit, jobs
from storyhub.extensions import N_, db
from storyhub.jobs import JobContext, JobFailed
from storyhub.models import Job, MediaRole, Story, User, utcnow
from storyhub.playlists.core import in_language_of
from storyhub.storage import get_storage
from storyhub.training.models import Lesson, LessonExport
from storyhub.training.services import (
    Slide,
    TrainingError,
    can_open,
    slides_for,
)
from storyhub.transcripts import caption_words

EXPORT_SESSION = "export_session"

# What an export holds, as (file kind, file name, content type).
EXPORT_FILES = {
    "video": ("session.mp4", "video/mp4"),
    "captions": ("session.vtt", "text/vtt"),
    "handout": ("handout.html", "text/html"),
    "pdf": ("handout.pdf", "application/pdf"),
}


def request_export(user: User, session: Lesson, *, burn_captions: bool) -> LessonExport:
    """Ask the worker for an export of ``session`` (sent after the caller commits)."""
    if not can_open(user, session):
        raise TrainingError(_("You can't export this session."))
    if not any(s.kind == "clip" for s in slides_for(user, session)):
        raise TrainingError(
            _("None of this session's clips can be used now, so there is nothing to export.")
        )
    export = LessonExport(session=session, requested_by=user, burn_captions=bool(burn_captions))
    db.session.add(export)
    export.job = jobs.submit(EXPORT_SESSION, None, message=N_("Waiting to start"))
    db.session.flush()
    audit.record(
        "session.export_requested", actor=user, object_type="session", object_id=session.id,
        export=export.id,
    )  # fmt: skip
    return export


def may_follow_export(user: Any, job: Job) -> bool:
    export = db.session.scalar(select(LessonExport).where(LessonExport.job_id == job.id))
    return export is not None and can_open(user, export.session)


@dataclass(frozen=True)
class ExportPlan:
    """What an export will hold: the slides to show, and the clips left out (with why)."""

    slides: list[Slide]
    left_out: list[dict[str, Any]]

    @property
    def clips(self) -> list[Slide]:
        return [s for s in self.slides if s.kind == "clip"]


def plan_export(viewer: Any, session: Lesson) -> ExportPlan:
    """The session as it can be exported today, for ``viewer``."""
    slides: list[Slide] = []
    left_out: list[dict[str, Any]] = []
    for slide in slides_for(viewer, session):
        if slide.kind == "skipped":
            assert slide.clip is not None and slide.standing is not None
            # The story too, so erasing it can take its clip's title out of the record.
            left_out.append(
                {
                    "title": slide.clip.title,
                    "reason": slide.standing.reason or "",
                    "story_id": slide.clip.story_id,
                }
            )
        else:
            slides.append(slide)
    return ExportPlan(slides=slides, left_out=left_out)


def render_handout(export: LessonExport, plan: ExportPlan) -> str:
    """The printable handout: each clip's words and the prompts (the trainer's notes stay out)."""
    return render_template(
        "training/handout.html",
        session=export.session,
        slides=plan.slides,
        left_out=plan.left_out,
        made_on=utcnow(),
    )


def _session_clips(plan: ExportPlan) -> list[Any]:
    from media_pipeline.compile import SessionClip

    storage = get_storage()
    clips = []
    for slide in plan.clips:
        assert slide.clip is not None
        story = slide.clip.story
        rendition = story.media_file(MediaRole.RENDITION)
        assert rendition is not None  # clip_standing checked it
        clips.append(
            SessionClip(
                source=storage.local_path(rendition.storage_key),
                kind=story.kind,
                start=slide.clip.start,
                end=slide.clip.end,
                title=slide.clip.title,
                card_lines=(
                    _("From “%(title)s”", title=story.title),
                    _("Told by %(teller)s", teller=slide.teller),
                    _("Shared by its storyteller for: %(audiences)s", audiences=slide.audiences),
                ),
                words=tuple(caption_words(story)),
            )
        )
    return clips


def _fetch_nothing() -> Any:
    """WeasyPrint's fetcher for the handout, which needs nothing from outside (its fonts come from
    the system): it allows no address of any kind, so no text a trainer typed can make the worker
    fetch one, whatever the template does with it."""
    from weasyprint.urls import URLFetcher  # WeasyPrint is imported only where it is used

    return URLFetcher(allowed_protocols=())


def export_session(context: JobContext) -> None:
    """Compile the video, write the captions and the handout, then store them all."""
    export = db.session.scalar(select(LessonExport).where(LessonExport.job_id == context.job_id))
    if export is None:
        raise JobFailed("missing", N_("This export was removed."))
    # The title cards, the handout and any reason written into them: in the language of the
    # trainer who asked (the job's own messages are stored as msgids and translated when shown).
    with in_language_of(export.requested_by):
        _export_session(context, export)


def _export_session(context: JobContext, export: LessonExport) -> None:
    from weasyprint import HTML

    from media_pipeline.compile import compile_session

    viewer = export.requested_by
    plan = plan_export(viewer, export.session)
    if not plan.clips:
        raise JobFailed(
            "empty",
            N_("None of this session's clips can be used now, so there is nothing to export."),
        )
    clips = _session_clips(plan)
    story_ids = sorted({s.clip.story_id for s in plan.clips if s.clip is not None})
    stories = db.session.scalars(select(Story).where(Story.id.in_(story_ids))).all()
    made_under = [copies.made_from(story) for story in stories]
    context.report(0.02, N_("Getting the clips ready"))
    with tempfile.TemporaryDirectory(prefix="storyhub-export-") as workdir:
        work = Path(workdir)

        def progress(fraction: float, stage: str) -> None:
            context.report(0.02 + 0.86 * fraction, stage)

        try:
            compiled = compile_session(
                clips,
                work / "session.mp4",
                burn_captions=export.burn_captions,
                progress=progress,
            )
        except MediaError as exc:
            raise JobFailed(
                "media", N_("We couldn't make the video. Please try again, or tell a curator.")
            ) from exc
        (work / "session.vtt").write_text(compiled.webvtt, encoding="utf-8")
        context.report(0.9, N_("Writing the handout"))
        handout = render_handout(export, plan)
        (work / "handout.html").write_text(handout, encoding="utf-8")
        HTML(string=handout, url_fetcher=_fetch_nothing()).write_pdf(work / "handout.pdf")
        context.report(0.97, N_("Checking every story may still be used"))
        # A story can change while the video is made: ask again, of the copy, before storing.
        db.session.expire_all()
        fresh = db.session.get(LessonExport, export.id)
        assert fresh is not None
        export = fresh
        folder = f"exports/{export.id}-{uuid.uuid4().hex[:8]}"
        files = {kind: f"{folder}/{name}" for kind, (name, _type) in EXPORT_FILES.items()}
        made = copies.record(
            CopyKind.EXPORT, export.id, Purpose.TRAINING, made_under, list(files.values())
        )
        if _refusal(export.requested_by, made) is not None:
            raise JobFailed(
                "changed",
                N_(
                    "A story in this session changed while we made the export. "
                    "Please export it again: the new export will follow the stories as they are "
                    "now."
                ),
            )
        storage = get_storage()
        for kind, (name, _type) in EXPORT_FILES.items():
            storage.put_file(work / name, files[kind])
    export.files = files
    export.story_ids = story_ids
    export.left_out = plan.left_out
    export.duration = compiled.duration
    export.finished_at = utcnow()
    for story in db.session.scalars(select(Story).where(Story.id.in_(story_ids))):
        record_use(story, export.requested_by, kind="export", audience=Audience.TRAINING)
    audit.record(
        "session.exported", actor=export.requested_by, object_type="session",
        object_id=export.session_id, export=export.id, stories=story_ids,
    )  # fmt: skip
    db.session.commit()


def export_refusal(user: Any, export: LessonExport) -> str | None:
    """Why ``export``'s files may not be downloaded now by ``user``; None when they may."""
    if export.revoked_at is not None:
        # Kept as the English msgid (made by consent/ when the copy went): shown translated.
        if export.revoked_reason:
            return _(export.revoked_reason)
        return _("This export was withdrawn.")
    if not export.files:
        return _("This export isn't ready.")
    return _refusal(user, copy_of(CopyKind.EXPORT, export.id))


def _refusal(user: Any, made: Copy | None) -> str | None:
    """The copy's own refusal, then whether ``user`` may see every story in it."""
    refusal = copy_refusal(made)
    if (
        refusal is None
        and made is not None
        and not all(can_view(user, h.story) for h in made.stories)
    ):
        return _("You may not see a story in this export.")
    return refusal


# The handout is a page of its own (it must open from a download too), so its style is inline:
# allow exactly that for this one response, and nothing else (no scripts, no requests).
HANDOUT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def send_export_file(export: LessonExport, kind: str, *, attachment: bool) -> Response:
    """One of an export's files (range requests answered), never kept in a browser's cache."""
    name, content_type = EXPORT_FILES[kind]
    response = send_file(
        get_storage().local_path(export.files[kind]),
        mimetype=content_type,
        conditional=True,
        as_attachment=attachment,
        download_name=f"session-{export.session_id}-{name}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: an HTTP header
    if kind == "handout":
        response.headers["Content-Security-Policy"] = HANDOUT_CSP  # untranslated: a header
    return response


def forget_export(made: Copy) -> None:
    """Its files were deleted: the export says why, and offers to be made again."""
    export = db.session.get(LessonExport, made.subject_id)
    if export is not None:
        export.files = {}
        export.revoked_at = utcnow()
        export.revoked_reason = made.gone_reason
