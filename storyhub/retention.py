"""What a withdrawal or erasure does to stored media, everywhere storyhub keeps it.

consent/ decides and records; this module carries it out: its ``init_app`` registers a hook that
submits a purge job (sent after the commit, retried by the worker like any job). Withdrawal
deletes media derived for audiences (renditions, clips, compilations as later issues add them);
erasure deletes every file of the story, the original included.
"""

from __future__ import annotations

from flask import Flask

from consent.archive import ConsentEvent
from consent.models import ConsentStatus, ConsentVersion
from storyhub import audit, jobs
from storyhub.extensions import N_, db
from storyhub.jobs import JobContext, JobFailed
from storyhub.models import MediaRole, Story, StoryState
from storyhub.processing import RENDER_STORY
from storyhub.registry import job_handler, on_consent
from storyhub.storage import get_storage
from storyhub.themes.services import forget_story_words

PURGE_MEDIA = "purge_media"

# Made for audiences (or from the media for them), so deleted on withdrawal. The original, its
# thumbnail and the words stay for the teller, who may share again, until erasure.
DERIVED_ROLES: frozenset[MediaRole] = frozenset({MediaRole.RENDITION, MediaRole.AUDIO})


def schedule_purge(story: Story, version: ConsentVersion) -> None:
    jobs.submit(PURGE_MEDIA, story, message=N_("Removing shared copies"))


def erase_words(story: Story, version: ConsentVersion) -> None:
    """Erasure removes the words too: passages (with their themes), revisions, the transcript,
    and the tagger's memory of any theme a curator confirmed on them."""
    if version.status != ConsentStatus.ERASED:
        return
    forget_story_words(story)


def remake_web_copy(story: Story, version: ConsentVersion) -> None:
    """Shared again after a withdrawal: the web copy that was deleted is made again."""
    if story.state == StoryState.READY and story.media_file(MediaRole.RENDITION) is None:
        jobs.submit(RENDER_STORY, story, message=N_("Making a copy that plays everywhere"))


def purge_media(context: JobContext) -> None:
    """Delete the story's media that its current consent no longer allows us to keep."""
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is None or story.consent is None:
        raise JobFailed("missing", N_("This story has been removed."))
    erased = story.consent.status == ConsentStatus.ERASED
    if not erased and story.consent.status != ConsentStatus.WITHDRAWN:
        return  # shared again since the withdrawal: keep everything
    storage = get_storage()
    removed = []
    for media in list(story.media):
        if erased or media.role in DERIVED_ROLES:
            storage.delete(media.storage_key)
            story.media.remove(media)
            removed.append(media.role.value)
    audit.record(
        "story.media_purged", object_type="story", object_id=story.id, roles=sorted(removed)
    )
    db.session.commit()


def init_app(app: Flask) -> None:
    """A withdrawn or erased story's media and words go; a re-release remakes its web copy."""
    on_consent(app, ConsentEvent.WITHDRAWN, schedule_purge)
    on_consent(app, ConsentEvent.WITHDRAWN, erase_words)
    on_consent(app, ConsentEvent.RELEASED, remake_web_copy)
    job_handler(app, PURGE_MEDIA, purge_media)
