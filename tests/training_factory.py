"""Stories whose clips may be used in training, with real web copies for the export tests."""

from __future__ import annotations

from pathlib import Path

from consent.models import Audience
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from storyhub.extensions import db
from storyhub.models import MediaRole, Story, User
from storyhub.storage import get_storage
from tests.search_factory import make_story

TRAINING = {Audience.TRAINING}


def make_video(path: Path, seconds: float) -> Path:
    """A small H.264/AAC MP4 (moving test picture, a tone), as a story's web copy would be."""
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}",
            "-f", "lavfi", "-i", f"sine=f=330:r=48000:d={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-y", file_url(path),
        ],
        timeout=120,
    )  # fmt: skip
    return path


def clip_story(
    teller: User,
    passages: list[str],
    *,
    title: str = "A story",
    clips_allowed: bool = True,
    audiences: set[Audience] | None = None,
    video: Path | None = None,
) -> Story:
    """A released story shared for training (clips allowed unless said otherwise).

    With ``video``, that file becomes the story's web copy, so clips of it can be exported.
    """
    story = make_story(
        teller,
        passages,
        title=title,
        audiences=TRAINING if audiences is None else audiences,
        clips_allowed=clips_allowed,
    )
    if video is not None:
        rendition = story.media_file(MediaRole.RENDITION)
        assert rendition is not None
        rendition.storage_key = f"stories/{story.id}/rendition.mp4"
        rendition.size_bytes = get_storage().put_file(video, rendition.storage_key)
        rendition.content_type = "video/mp4"
        story.kind = "video"
        db.session.commit()
    return story
