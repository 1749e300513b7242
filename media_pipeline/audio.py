"""Extract a story's sound as 16 kHz mono 16-bit WAV, the input Whisper expects.

Resampling uses the SoX resampler when this ffmpeg has it (it filters out everything above the
new 8 kHz limit first); otherwise ffmpeg's own resampler with a long, steep filter. Dropping
samples without filtering would fold high sounds back into the speech range as whistles.
"""

from __future__ import annotations

import functools
import os
import uuid
import wave
from pathlib import Path
from typing import Final

from .errors import ErrorCode, MediaError
from .ffmpeg import ffmpeg_exe, file_url, run_ffmpeg, run_process
from .probe import MediaInfo, probe
from .thumbnail import ProgressCallback

SAMPLE_RATE: Final = 16000

# SoX's "very high quality" (28 bits) is overkill for speech; 20 bits (its default) is plenty.
_SOXR_FILTER: Final = f"aresample={SAMPLE_RATE}:resampler=soxr:precision=20"
# swr fallback: a long windowed-sinc (Kaiser) filter whose passband ends just below 8 kHz.
_SWR_FILTER: Final = (
    f"aresample={SAMPLE_RATE}:resampler=swr:filter_size=64:phase_shift=10"
    ":cutoff=0.91:filter_type=kaiser:kaiser_beta=12"
)


@functools.lru_cache(maxsize=4)
def _has_soxr(exe: str) -> bool:
    """True if the ffmpeg program at `exe` was built with libsoxr."""
    try:
        result = run_process([exe, "-hide_banner", "-buildconf"], timeout=15)
    except MediaError:
        return False
    return result.ok and "--enable-libsoxr" in (result.stdout.decode("utf-8", "replace"))


def resample_filter() -> str:
    """Return the ffmpeg audio filter used to resample to 16 kHz (soxr if available)."""
    return _SOXR_FILTER if _has_soxr(ffmpeg_exe()) else _SWR_FILTER


def extract_audio(
    src: Path | str,
    dest_wav: Path | str,
    *,
    info: MediaInfo | None = None,
    timeout: float = 300,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write `src`'s first audio track to `dest_wav` as 16 kHz mono 16-bit PCM WAV.

    `info` is what validation found (its container is the only format read); without it the
    file is probed first. The file appears atomically (a temporary file in the same folder,
    then renamed), so a reader never sees half a WAV, and running it again simply replaces the
    result. Raises MediaError: "missing" if `src` doesn't exist, "no_audio" if it has no sound,
    "timeout", or "failed" (also when the file is not that format after all).
    """
    src, dest = Path(src), Path(dest_wav)
    report = progress or (lambda _fraction, _stage: None)
    if not src.is_file():
        raise MediaError("missing", detail=f"{src} does not exist")
    if info is None:
        info = probe(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp.wav")
    try:
        report(0.0, "extracting sound")
        args = [
            # Never let ffmpeg guess the format: a text file posing as a story could name a
            # playlist demuxer (concat, hls) and have ffmpeg read other files or URLs.
            "-protocol_whitelist", "file", "-f", info.demuxer, "-i", file_url(src),
            "-map", "0:a:0?", "-vn", "-sn", "-dn",
            # Down-mix to mono before resampling; then a proper anti-aliased resampler.
            "-ac", "1", "-af", resample_filter(),
            "-c:a", "pcm_s16le", "-ar", str(SAMPLE_RATE),
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
            "-f", "wav", "-y", file_url(tmp),
        ]  # fmt: skip
        result = run_ffmpeg(args, timeout=timeout, check=False)
        if not result.ok:
            detail = result.stderr.strip() or f"exit {result.returncode}"
            # "-map 0:a:0?" leaves ffmpeg with nothing to write when there is no audio track.
            code: ErrorCode = "no_audio" if "does not contain any stream" in detail else "failed"
            raise MediaError(code, detail=detail)
        _check_wav(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    report(1.0, "done")
    return dest


def _check_wav(path: Path) -> None:
    """Raise MediaError unless `path` is a non-empty 16 kHz mono 16-bit WAV."""
    if not path.exists():
        raise MediaError("no_audio", detail="ffmpeg wrote no audio")
    try:
        with wave.open(str(path), "rb") as w:
            fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
            frames = w.getnframes()
    except (wave.Error, EOFError) as exc:
        raise MediaError("failed", detail=f"unreadable WAV from ffmpeg: {exc}") from exc
    if fmt != (SAMPLE_RATE, 1, 2):
        raise MediaError("failed", detail=f"unexpected WAV format {fmt}")
    if frames == 0:
        raise MediaError("no_audio", detail="the audio track is empty")
