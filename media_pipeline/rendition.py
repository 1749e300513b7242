"""A web-playable copy of a story: H.264/AAC MP4 with fast start (or AAC in M4A for sound only).

When the upload already is H.264 + AAC in an MP4/MOV, it is remuxed (stream copy: seconds, no
quality loss); otherwise it is encoded. Redacted spans are silenced, which needs the sound encoded
again (the picture is still copied when it can be). Rotated phone videos stay upright: a remux keeps
the display matrix, which browsers honour; an encode applies the rotation to the pixels.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import MediaError
from .ffmpeg import file_url, run_ffmpeg
from .probe import MediaInfo

ProgressCallback = Callable[[float, str], None]

WEB_VIDEO_CONTAINERS = frozenset({"mp4", "mov"})
# Large enough for a projector, small enough for venue Wi-Fi.
MAX_WIDTH = 1280


def rendition_extension(info: MediaInfo) -> str:
    """ ".mp4" for a video story, ".m4a" for a sound-only one."""
    return ".mp4" if info.kind == "video" else ".m4a"


def _silence_filter(spans: Sequence[tuple[float, float]]) -> str:
    # One volume filter per span, each active only inside its time window.
    return ",".join(
        f"volume=enable='between(t,{start:.3f},{end:.3f})':volume=0" for start, end in spans
    )


def make_rendition(
    src: Path,
    dest: Path,
    info: MediaInfo,
    *,
    silence: Sequence[tuple[float, float]] = (),
    timeout: float = 3600,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the web-playable copy of ``src`` to ``dest`` (atomically); return ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}-{uuid.uuid4().hex}{dest.suffix}")
    video = info.kind == "video"
    copy_video = video and info.video_codec == "h264" and info.container in WEB_VIDEO_CONTAINERS
    copy_audio = info.audio_codec == "aac" and not silence
    args: list[str] = ["-i", file_url(src), "-map", "0:a:0"]
    if video:
        args += ["-map", "0:v:0"]
        if copy_video:
            args += ["-c:v", "copy"]
        else:
            args += [
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                # Even dimensions (x264 needs them), never wider than MAX_WIDTH, never upscaled.
                "-vf", f"scale='min({MAX_WIDTH},iw)':-2",
            ]  # fmt: skip
    else:
        args += ["-vn"]
    if copy_audio:
        args += ["-c:a", "copy"]
    else:
        if silence:
            args += ["-af", _silence_filter(silence)]
        args += ["-c:a", "aac", "-b:a", "128k"]
    args += ["-movflags", "+faststart", "-f", "mp4" if video else "ipod", "-y", file_url(tmp)]
    if progress:
        progress(0.0, "Making a copy that plays everywhere")
    try:
        run_ffmpeg(args, timeout=timeout, error_code="failed")
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise MediaError("failed", detail="ffmpeg wrote no rendition")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    if progress:
        progress(1.0, "Made a copy that plays everywhere")
    return dest
