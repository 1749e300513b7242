"""Make a JPEG picture for a story: a video frame, or a waveform poster for audio."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Final

from PIL import Image, UnidentifiedImageError

from .errors import MediaError
from .ffmpeg import file_url, run_ffmpeg
from .probe import MediaInfo

ProgressCallback = Callable[[float, str], None]

# Calm cream background with a deep teal waveform: contrast ratio about 9:1.
POSTER_BACKGROUND: Final = "0xf3efe6"
POSTER_FOREGROUND: Final = "0x1d4e5f"
# Drawing a waveform decodes the audio; beyond 30 minutes the picture looks the same anyway.
_POSTER_MAX_SECONDS: Final = 1800


def make_thumbnail(
    src: Path,
    dest: Path,
    info: MediaInfo,
    width: int = 640,
    timeout: float = 60,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write a JPEG for `src` to `dest` (atomically replacing it) and return `dest`."""
    if width < 16:
        raise ValueError("width must be at least 16 pixels")
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as dest so the final os.replace is atomic; .jpg so tools recognise it.
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp.jpg")
    report = progress or (lambda _fraction, _stage: None)
    try:
        report(0.0, "starting")
        if info.has_video:
            _video_frame(src, tmp, info, width, timeout)
        else:
            _audio_poster(src, tmp, info, width, timeout)
        report(0.9, "checking picture")
        _check_jpeg(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    report(1.0, "done")
    return dest


def _video_frame(src: Path, tmp: Path, info: MediaInfo, width: int, timeout: float) -> None:
    # A frame a little way in avoids black fade-ins; ffmpeg autorotates phone video upright.
    at = min(1.0, 0.1 * info.duration)
    for seek in (at, 0.0) if at > 0 else (0.0,):
        run_ffmpeg(
            [
                "-ss",
                f"{seek:.3f}",
                "-protocol_whitelist",
                "file",
                "-f",
                info.demuxer,
                "-i",
                file_url(src),
                "-map",
                "0:V:0",
                "-frames:v",
                "1",
                # Never upscale; -2 keeps the height even, which the JPEG encoder prefers.
                "-vf",
                f"scale='min({width},iw)':-2",
                "-q:v",
                "3",
                "-c:v",
                "mjpeg",
                "-f",
                "image2",
                "-update",
                "1",
                "-y",
                file_url(tmp),
            ],
            timeout=timeout,
        )
        if tmp.exists() and tmp.stat().st_size > 0:
            return
    raise MediaError("failed", detail="no video frame could be extracted")


def _audio_poster(src: Path, tmp: Path, info: MediaInfo, width: int, timeout: float) -> None:
    width -= width % 2
    height = max(2, round(width * 9 / 16) // 2 * 2)
    wave_w, wave_h = width * 9 // 10 // 2 * 2, height * 6 // 10 // 2 * 2
    graph = (
        f"[0:a:0]aformat=channel_layouts=mono,"
        f"showwavespic=s={wave_w}x{wave_h}:colors={POSTER_FOREGROUND}:scale=sqrt:filter=peak[w];"
        f"color=c={POSTER_BACKGROUND}:s={width}x{height},"
        # A faint centre line so even a very quiet recording shows something.
        f"drawbox=x={(width - wave_w) // 2}:y={height // 2 - 1}:w={wave_w}:h=2:"
        f"color={POSTER_FOREGROUND}@0.6:t=fill[bg];"
        "[bg][w]overlay=(W-w)/2:(H-h)/2:shortest=1,format=yuv420p"
    )
    run_ffmpeg(
        [
            "-t",
            str(_POSTER_MAX_SECONDS),
            "-protocol_whitelist",
            "file",
            "-f",
            info.demuxer,
            "-i",
            file_url(src),
            "-filter_complex",
            graph,
            "-frames:v",
            "1",
            "-q:v",
            "3",
            "-c:v",
            "mjpeg",
            "-f",
            "image2",
            "-update",
            "1",
            "-y",
            file_url(tmp),
        ],
        timeout=timeout,
    )
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise MediaError("failed", detail="waveform poster was not written")


def _check_jpeg(path: Path) -> None:
    """Refuse to publish anything that is not a readable JPEG."""
    try:
        with Image.open(path) as img:
            fmt = img.format
            img.verify()
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError("failed", detail=f"thumbnail unreadable: {exc}") from exc
    if fmt != "JPEG":
        raise MediaError("failed", detail=f"thumbnail is {fmt}, not JPEG")
