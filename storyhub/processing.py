"""The story-processing job: runs media_pipeline's steps for one story and stores what they make.

Each step is resumable: it checks whether its output already exists before doing the work, so a
job picked up again after a crash continues rather than starts over, and never duplicates output.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from media_pipeline import MediaError, MediaInfo, probe
from media_pipeline.thumbnail import make_thumbnail
from storyhub import audit
from storyhub.extensions import db
from storyhub.jobs import JobContext, JobFailed, handler
from storyhub.jobs.queue import FAILURE_HOOKS
from storyhub.models import MediaFile, MediaRole, Story, StoryState
from storyhub.storage import get_storage

PROCESS_STORY = "process_story"


def _story(context: JobContext) -> Story:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is None:
        raise JobFailed("missing", "This story has been removed.")
    return story


@handler(PROCESS_STORY)
def process_story(context: JobContext) -> None:
    """Probe the stored upload again, then make its thumbnail (or poster for audio)."""
    story = _story(context)
    story.state = StoryState.PROCESSING
    story.failure_message = None
    db.session.commit()

    original = story.media_file(MediaRole.ORIGINAL)
    if original is None:
        raise JobFailed("missing", "The uploaded file is missing. Please upload the story again.")
    storage = get_storage()
    source = storage.local_path(original.storage_key)

    context.report(0.05, "Checking your file")
    try:
        info = probe(source)
    except MediaError as err:
        raise JobFailed(err.code, err.message) from err
    original.info = info.to_dict()
    db.session.commit()

    context.report(0.4, "Making a picture for your story")
    _make_thumbnail(story, source, info)

    story.state = StoryState.READY
    audit.record("story.processed", object_type="story", object_id=story.id)
    db.session.commit()


def _make_thumbnail(story: Story, source: Path, info: MediaInfo) -> None:
    existing = story.media_file(MediaRole.THUMBNAIL)
    storage = get_storage()
    if existing is not None and storage.exists(existing.storage_key):
        return  # done before an interruption
    folder = Path(story.media_file(MediaRole.ORIGINAL).storage_key).parent  # type: ignore[union-attr]
    key = str(folder / "thumbnail.jpg")
    with tempfile.TemporaryDirectory(prefix="thumb-") as scratch:
        try:
            made = make_thumbnail(source, Path(scratch) / "thumbnail.jpg", info)
        except MediaError as err:
            raise JobFailed(err.code, err.message) from err
        size = storage.put_file(made, key)
    if existing is None:
        db.session.add(
            MediaFile(
                story=story,
                role=MediaRole.THUMBNAIL,
                storage_key=key,
                content_type="image/jpeg",
                size_bytes=size,
            )
        )
    else:
        existing.size_bytes = size
    db.session.commit()


def _mark_story_failed(context: JobContext, failure: JobFailed) -> None:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is not None:
        story.state = StoryState.FAILED
        story.failure_message = failure.message
        audit.record("story.failed", object_type="story", object_id=story.id, code=failure.code)
        db.session.commit()


FAILURE_HOOKS[PROCESS_STORY] = _mark_story_failed
