"""Cut an exact clip from a story's web rendition (H.264/AAC MP4, or AAC M4A for sound only).

A clip must start and end on the words a trainer chose. Stream copy can't do that: it can only
start on a keyframe, which may be seconds earlier. So ffmpeg seeks on the input (`-ss` before
`-i`: it jumps to the keyframe before `start`, decodes from there and drops every frame before
`start`) and encodes the clip again; `-t` then ends it on the right frame and audio sample.

The encoder settings are shared with compile.py, whose pieces must match to be joined by stream
copy.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Final

from .errors import MediaError
from .ffmpeg import file_url, run_ffmpeg
from .thumbnail import ProgressCallback

KINDS: Final = frozenset({"video", "audio"})

# x264 settings, chosen by measuring a 29.9 s cut of a 5-minute 720p story on 2 cores
# (bench/clips.py; median of 3, seconds): ultrafast 2.2, superfast 3.3, veryfast 4.2, faster
# about 5.5; moviepy's default write_videofile 10.4. ultrafast is the only preset anywhere near
# the 10x goal, and even it gives about 5x: some 40 % of the CPU time goes on *decoding* the
# source from the keyframe before `start`, which no encoder setting can save. -threads 2 or 4
# changed nothing beyond noise: ffmpeg already keeps both cores busy.
# - Deblocking is switched back on (ultrafast turns it off): it costs almost nothing and
#   removes the blockiness that shows on a projector.
# - ultrafast spends bits freely (uncapped: 2.7x veryfast's file at the same CRF on the test
#   story, and 110 MB for 30 s of grainy video), so the rate is capped at 4 Mbit/s, plenty for
#   720p. The cap made the grainy cut smaller (16 MB) and quicker too (6.6 s instead of 7.6 s):
#   fewer bits to write.
X264_ARGS: Final[tuple[str, ...]] = (
    "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "deblock=0,0",
    "-crf", "23", "-maxrate", "4M", "-bufsize", "8M", "-pix_fmt", "yuv420p",
)  # fmt: skip
AAC_ARGS: Final[tuple[str, ...]] = ("-c:a", "aac", "-b:a", "128k")


def check_times(start: float, end: float) -> None:
    """Raise ValueError unless 0 <= start < end (both finite)."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError("the clip's start and end must be numbers of seconds")
    if start < 0:
        raise ValueError("the clip can't start before the beginning of the story")
    if end <= start:
        raise ValueError("the clip must end after it starts")


def check_output(path: Path, *, video: bool) -> None:
    """Raise MediaError unless `path` holds sound (and pictures, for video) with some frames.

    ffmpeg succeeds but writes a file with no streams when `start` lies past the end of the
    story. This is our own output, so reading its index in-process is safe (and takes ms).
    """
    import av  # PyAV: imported here so importing this module stays cheap

    try:
        with av.open(str(path)) as container:
            kinds = {s.type for s in container.streams if s.frames}
    except (OSError, av.FFmpegError) as exc:
        raise MediaError("failed", detail=f"unreadable output {path.name}: {exc}") from exc
    wanted = {"audio", "video"} if video else {"audio"}
    if not wanted <= kinds:
        raise MediaError("failed", detail=f"{path.name} is empty: is the start past the end?")


def cut_clip(
    src: Path,
    dest: Path,
    start: float,
    end: float,
    *,
    kind: str,
    timeout: float = 600,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the exact clip [start, end) of `src` to `dest` (atomically); return `dest`.

    `kind` is "video" (H.264/AAC MP4 out) or "audio" (AAC M4A out). The clip's first frame is
    the source's frame at `start`, and it lasts `end - start` to within a frame.
    Raises ValueError for bad times or kind, MediaError ("missing", "failed", "timeout").
    """
    check_times(start, end)
    if kind not in KINDS:
        raise ValueError('kind must be "video" or "audio"')
    src, dest = Path(src), Path(dest)
    if not src.is_file():
        raise MediaError("missing", detail=f"no such file: {src}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}-{uuid.uuid4().hex}{dest.suffix}")
    video = kind == "video"
    report = progress or (lambda _fraction, _stage: None)
    # Renditions are always MP4/M4A: forcing the demuxer (and files only) means a file that
    # is somehow something else can't switch to a playlist demuxer that opens other files.
    args: list[str] = [
        "-ss", f"{start:.6f}", "-protocol_whitelist", "file", "-f", "mov",
        "-i", file_url(src), "-t", f"{end - start:.6f}", "-map", "0:a:0",
    ]  # fmt: skip
    if video:
        args += ["-map", "0:v:0", *X264_ARGS]
    else:
        args += ["-vn"]
    # No metadata from the story file: a phone's may hold where it was filmed.
    args += [*AAC_ARGS, "-map_metadata", "-1", "-movflags", "+faststart"]
    args += ["-f", "mp4" if video else "ipod", "-y", file_url(tmp)]
    report(0.0, "Cutting the clip")
    try:
        run_ffmpeg(args, timeout=timeout, error_code="failed")
        check_output(tmp, video=video)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    report(1.0, "Clip ready")
    return dest
