"""The story-processing job: runs media_pipeline's steps for one story and stores what they make.

probe → thumbnail → audio (16 kHz mono) → transcribe → passages → theme suggestions →
[story is TRANSCRIBED] → web-playable copy → [story is READY]. The transcript comes before the
slow rendition, so the words are there to read and correct as early as possible. Each step is
resumable: it checks whether its output already exists, so a job picked up again after a crash
continues rather than starts over, and never duplicates output.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app

from consent import copies
from consent.models import Audience, Naming
from consent.services import Choices, ConsentError, release
from media_pipeline import MediaError, MediaInfo, probe
from media_pipeline.audio import extract_audio
from media_pipeline.passages import make_passages
from media_pipeline.rendition import make_rendition, rendition_extension
from media_pipeline.thumbnail import make_thumbnail
from media_pipeline.transcribe import transcribe
from storyhub import audit
from storyhub.covers import picture_covers
from storyhub.extensions import N_, db
from storyhub.jobs import JobContext, JobFailed
from storyhub.models import MediaFile, MediaRole, Story, StoryState
from storyhub.registry import job_handler
from storyhub.storage import get_storage
from storyhub.themes.services import suggest_for_story
from storyhub.transcripts import redacted_spans, save_machine_transcript

PROCESS_STORY = "process_story"
RENDER_STORY = "render_story"

CONTENT_TYPES = {".mp4": "video/mp4", ".m4a": "audio/mp4", ".wav": "audio/wav"}


def _story(context: JobContext) -> Story:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is None:
        raise JobFailed("missing", N_("This story has been removed."))
    return story


def _folder(story: Story) -> Path:
    original = story.media_file(MediaRole.ORIGINAL)
    if original is None:
        raise JobFailed(
            "missing", N_("The uploaded file is missing. Please upload the story again.")
        )
    return Path(original.storage_key).parent


def _store(story: Story, role: MediaRole, made: Path, key: str, content_type: str) -> None:
    """Put a made file into storage under ``key`` and record it (replacing an older one)."""
    size = get_storage().put_file(made, key)
    existing = story.media_file(role)
    if existing is None:
        db.session.add(
            MediaFile(
                story=story, role=role, storage_key=key, content_type=content_type, size_bytes=size
            )
        )
    else:
        if existing.storage_key != key:
            get_storage().delete(existing.storage_key)
        existing.storage_key, existing.content_type, existing.size_bytes = key, content_type, size
    db.session.commit()


def _media_info(original: MediaFile, source: Path) -> MediaInfo:
    """The upload as validation found it, confirmed on the file as it is now.

    Every later step reads the upload as this format only (and local files only), so a file
    changed after validation can't make ffmpeg guess again (and pick a playlist demuxer). The
    probe never guesses either: it reads the signature, then opens only that format. A file
    that is now something else is "damaged", with the friendly message that goes with it.
    """
    found = probe(source)
    try:
        kept = MediaInfo.from_dict(original.info) if original.info else None
    except (KeyError, TypeError, ValueError):
        kept = None  # written by an older version: the probe above is all we have
    if kept is not None and kept.demuxer != found.demuxer:
        raise MediaError("damaged", detail=f"was {kept.container}, now {found.container}")
    original.info = found.to_dict()
    db.session.commit()
    return found


def _have(story: Story, role: MediaRole) -> bool:
    existing = story.media_file(role)
    return existing is not None and get_storage().exists(existing.storage_key)


def whisper_model_for(language: str) -> str:
    """The configured model, or the multilingual one when an English-only model can't do it."""
    model = str(current_app.config["WHISPER_MODEL"])
    return "base" if model.endswith(".en") and language != "en" else model


def _step(context: JobContext, start: float, end: float) -> Callable[[float, str], None]:
    """A progress callback for one step, mapped onto its share of the whole job."""

    def report(fraction: float, message: str) -> None:
        context.report(start + (end - start) * max(0.0, min(1.0, fraction)), message)

    return report


def process_story(context: JobContext) -> None:
    """Prepare a story: picture, words (transcript and passages), and a copy that plays anywhere."""
    story = _story(context)
    if story.state != StoryState.TRANSCRIBED:
        story.state = StoryState.PROCESSING
    story.failure_message = None
    db.session.commit()
    folder = _folder(story)
    original = story.media_file(MediaRole.ORIGINAL)
    assert original is not None
    source = get_storage().local_path(original.storage_key)

    context.report(0.02, N_("Checking your file"))
    try:
        info = _media_info(original, source)

        with tempfile.TemporaryDirectory(prefix="story-") as scratch_dir:
            scratch = Path(scratch_dir)
            if not _have(story, MediaRole.THUMBNAIL):
                context.report(0.05, N_("Making a picture for your story"))
                made = make_thumbnail(source, scratch / "thumbnail.jpg", info)
                _store(
                    story, MediaRole.THUMBNAIL, made, str(folder / "thumbnail.jpg"), "image/jpeg"
                )

            if story.transcript is None:
                _transcribe(context, story, source, info, folder, scratch)
            elif any(p.themes_suggested_at is None for p in story.passages):
                _suggest_themes(context, story)  # resumed after a crash between the two

            if not _have(story, MediaRole.RENDITION) or copies.web_copy_refusal(story):
                _render(context, story, source, info, folder, scratch, 0.8)
    except MediaError as err:
        raise JobFailed(err.code, err.message) from err

    story.state = StoryState.READY
    audit.record("story.processed", object_type="story", object_id=story.id)
    db.session.commit()
    _release_imported_consent(story)


def _release_imported_consent(story: Story) -> None:
    """An imported story whose consent was recorded before is released now that it is ready."""
    choices = story.imported_consent
    if not choices:
        return
    try:
        release(
            story,
            story.uploaded_by,
            Choices(
                audiences={Audience(a) for a in choices["audiences"]},
                clips_allowed=bool(choices.get("clips_allowed")),
                naming=Naming(choices.get("naming", "first")),
                review_months=int(choices.get("review_months", 12)),
                notes="Consent recorded before import.",  # untranslated: record data
            ),
            watched=True,
        )
    except ConsentError as problem:
        audit.record("story.import_consent_refused", object_type="story", object_id=story.id,
                     reason=str(problem))  # fmt: skip
    story.imported_consent = None
    db.session.commit()


def _transcribe(
    context: JobContext, story: Story, source: Path, info: MediaInfo, folder: Path, scratch: Path
) -> None:
    config = current_app.config
    if not _have(story, MediaRole.AUDIO):
        context.report(0.08, N_("Getting the sound ready"))
        wav = extract_audio(source, scratch / "audio16k.wav", info=info, timeout=1800)
        _store(story, MediaRole.AUDIO, wav, str(folder / "audio16k.wav"), "audio/wav")
    audio = story.media_file(MediaRole.AUDIO)
    assert audio is not None
    language = story.language.value
    context.report(0.12, N_("Writing down the words"))
    machine = transcribe(
        get_storage().local_path(audio.storage_key),
        language=language,
        model=whisper_model_for(language),
        compute_type=config["WHISPER_COMPUTE_TYPE"],
        beam_size=config["WHISPER_BEAM_SIZE"],
        threads=config["WHISPER_THREADS"],
        progress=_step(context, 0.12, 0.75),
    )
    context.report(0.76, N_("Finding the passages"))
    save_machine_transcript(story, machine, make_passages(machine))
    _suggest_themes(context, story)
    story.state = StoryState.TRANSCRIBED
    audit.record("story.transcribed", object_type="story", object_id=story.id)
    db.session.commit()


def _suggest_themes(context: JobContext, story: Story) -> None:
    context.report(0.78, N_("Suggesting themes"))
    suggest_for_story(story)
    db.session.commit()


def _render(
    context: JobContext,
    story: Story,
    source: Path,
    info: MediaInfo,
    folder: Path,
    scratch: Path,
    start: float,
) -> None:
    extension = rendition_extension(info)
    # A new name each time, so a browser never mixes bytes of an old copy with a new one.
    revision = story.transcript.revision if story.transcript else 0
    key = str(folder / f"web-r{revision}{extension}")
    # What it is made under is taken before it is made: a redaction saved meanwhile makes it stale.
    made_under = copies.made_from(story)
    made = make_rendition(
        source,
        scratch / f"web{extension}",
        info,
        silence=redacted_spans(story),
        cover=picture_covers(story) if info.kind == "video" else (),
        progress=_step(context, start, 0.98),
    )
    _store(story, MediaRole.RENDITION, made, key, CONTENT_TYPES[extension])
    copies.record(copies.CopyKind.WEB_COPY, story.id, None, [made_under], [key])
    db.session.commit()


def render_story(context: JobContext) -> None:
    """Make the web copy again (after a redaction), so removed words are silent in it."""
    story = _story(context)
    # Whatever was removed, copies made before it (the old web copy too) are deleted first.
    copies.forget_refused(copies.holding(story.id))
    db.session.commit()
    original = story.media_file(MediaRole.ORIGINAL)
    if original is None:
        raise JobFailed("missing", N_("The uploaded file is missing."))
    source = get_storage().local_path(original.storage_key)
    try:
        info = _media_info(original, source)
        with tempfile.TemporaryDirectory(prefix="render-") as scratch:
            _render(context, story, source, info, _folder(story), Path(scratch), 0.05)
    except MediaError as err:
        raise JobFailed(err.code, err.message) from err
    if story.state == StoryState.FAILED:  # held back after an earlier failure: shared again
        story.state, story.failure_message = StoryState.READY, None
        db.session.commit()


def mark_story_failed(context: JobContext, failure: JobFailed) -> None:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is not None:
        story.state = StoryState.FAILED
        story.failure_message = failure.message
        audit.record("story.failed", object_type="story", object_id=story.id, code=failure.code)
        db.session.commit()


def hold_back(context: JobContext, failure: JobFailed) -> None:
    """The web copy could not be made again (after a redaction): the story is held back from
    audiences (``consent.policy``) and its page and the curators' list show it as failed."""
    mark_story_failed(
        context,
        JobFailed(
            failure.code,
            N_(
                "We couldn't make the video again without the words that were removed, so only "
                "its storyteller and staff can see the story for now. Please try again."
            ),
        ),
    )


def init_app(app: Flask) -> None:
    """Preparing a story: the processing job and the web copy's re-render, and what their
    failures leave (a story a curator can retry; a story held back)."""
    job_handler(app, PROCESS_STORY, process_story, on_failure=mark_story_failed)
    job_handler(app, RENDER_STORY, render_story, on_failure=hold_back)
