"""Generate small real media files (good and bad) for tests, with ffmpeg lavfi and espeak-ng.

Every function takes a directory, writes one file into it and returns its path.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from media_pipeline.ffmpeg import ffmpeg_exe, file_url, run_ffmpeg, run_process
from media_pipeline.synth import speak

SECONDS = 2.0
_TIMEOUT = 60.0
_SPEECH = "Hello. This is a short test of a story about care."


def _ffmpeg(args: list[str]) -> None:
    run_ffmpeg([*args], timeout=_TIMEOUT)


def _lavfi_video(size: str = "160x120", seconds: float = SECONDS, rate: int = 10) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]


def _lavfi_tone(seconds: float = SECONDS, rate: int = 44100) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:r={rate}:d={seconds}"]


def speech_wav(directory: Path) -> Path:
    """Return a short espeak-ng speech WAV in `directory` (made once, then reused)."""
    path = directory / "speech_source.wav"
    if not path.exists():
        speak(_SPEECH, path, words_per_minute=190)
    return path


def _x264() -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


# --- accepted video formats -------------------------------------------------------------


def make_mp4(directory: Path, name: str = "video.mp4") -> Path:
    """H.264/AAC MP4 with its index at the front (faststart), as a phone or editor makes."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_lavfi_tone(), *_x264(), "-c:a", "aac", "-shortest",
             "-movflags", "+faststart", "-f", "mp4", "-y", file_url(out)])  # fmt: skip
    return out


def make_mov(directory: Path, name: str = "video.mov") -> Path:
    """H.264/AAC QuickTime MOV (ftyp brand 'qt  '), like an iPhone recording."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_lavfi_tone(), *_x264(), "-c:a", "aac", "-shortest",
             "-f", "mov", "-y", file_url(out)])  # fmt: skip
    return out


def make_webm(directory: Path, name: str = "video.webm") -> Path:
    """VP8/Opus WebM, as a browser's MediaRecorder makes."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_lavfi_tone(rate=48000), "-c:v", "libvpx", "-deadline", "realtime",
             "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus", "-shortest",
             "-f", "webm", "-y", file_url(out)])  # fmt: skip
    return out


def make_live_webm(directory: Path, name: str = "live.webm") -> Path:
    """WebM written to a pipe, so it has no duration or index (like a browser recording)."""
    out = directory / name
    argv_tail = [*_lavfi_video(), *_lavfi_tone(rate=48000), "-c:v", "libvpx",
                 "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
                 "-c:a", "libopus", "-shortest", "-f", "webm", "pipe:1"]  # fmt: skip
    result = run_process(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *argv_tail],
        timeout=_TIMEOUT,
    )
    assert result.ok, result.stderr
    out.write_bytes(result.stdout)
    return out


def make_mkv(directory: Path, name: str = "video.mkv") -> Path:
    """H.264/Vorbis Matroska."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_lavfi_tone(), *_x264(), "-c:a", "libvorbis", "-shortest",
             "-f", "matroska", "-y", file_url(out)])  # fmt: skip
    return out


def make_3gp(directory: Path, name: str = "video.3gp") -> Path:
    """H.263/AMR-NB 3GP at QCIF, as an older feature phone records."""
    out = directory / name
    _ffmpeg([*_lavfi_video(size="176x144"), *_lavfi_tone(rate=8000), "-c:v", "h263",
             "-c:a", "libopencore_amrnb", "-ar", "8000", "-ac", "1", "-b:a", "12.2k",
             "-shortest", "-f", "3gp", "-y", file_url(out)])  # fmt: skip
    return out


# --- accepted audio formats (spoken, via espeak-ng) ---------------------------------------


def _from_speech(directory: Path, name: str, codec_args: list[str], fmt: str) -> Path:
    out = directory / name
    _ffmpeg(["-i", file_url(speech_wav(directory)), *codec_args, "-f", fmt, "-y", file_url(out)])
    return out


def make_m4a(directory: Path, name: str = "audio.m4a") -> Path:
    """AAC in an M4A (ftyp 'M4A '), like a phone voice memo."""
    return _from_speech(directory, name, ["-c:a", "aac", "-b:a", "64k"], "ipod")


def make_mp3(directory: Path, name: str = "audio.mp3") -> Path:
    """MP3 via libmp3lame."""
    return _from_speech(directory, name, ["-c:a", "libmp3lame", "-q:a", "6"], "mp3")


def make_wav(directory: Path, name: str = "audio.wav") -> Path:
    """16-bit PCM WAV."""
    return _from_speech(directory, name, ["-c:a", "pcm_s16le"], "wav")


def make_ogg(directory: Path, name: str = "audio.ogg") -> Path:
    """Vorbis in Ogg."""
    return _from_speech(directory, name, ["-c:a", "libvorbis", "-q:a", "3"], "ogg")


def make_flac(directory: Path, name: str = "audio.flac") -> Path:
    """FLAC."""
    return _from_speech(directory, name, ["-c:a", "flac"], "flac")


def make_mp3_with_cover(directory: Path, name: str = "cover.mp3") -> Path:
    """MP3 carrying an attached cover picture (still an audio story)."""
    out = directory / name
    cover = directory / "cover.png"
    Image.new("RGB", (64, 64), "#336699").save(cover)
    _ffmpeg(["-i", file_url(speech_wav(directory)), "-i", file_url(cover), "-map", "0:a",
             "-map", "1:v", "-c:a", "libmp3lame", "-q:a", "6", "-c:v", "png",
             "-disposition:v", "attached_pic", "-id3v2_version", "3",
             "-f", "mp3", "-y", file_url(out)])  # fmt: skip
    return out


@dataclass(frozen=True)
class Sample:
    """An accepted upload format and what probe() should report for it."""

    make: Callable[[Path], Path]
    container: str
    kind: str
    mime_type: str
    extension: str


VALID_SAMPLES: dict[str, Sample] = {
    "mp4": Sample(make_mp4, "mp4", "video", "video/mp4", ".mp4"),
    "mov": Sample(make_mov, "mov", "video", "video/quicktime", ".mov"),
    "webm": Sample(make_webm, "webm", "video", "video/webm", ".webm"),
    "mkv": Sample(make_mkv, "matroska", "video", "video/x-matroska", ".mkv"),
    "3gp": Sample(make_3gp, "3gp", "video", "video/3gpp", ".3gp"),
    "m4a": Sample(make_m4a, "m4a", "audio", "audio/mp4", ".m4a"),
    "mp3": Sample(make_mp3, "mp3", "audio", "audio/mpeg", ".mp3"),
    "wav": Sample(make_wav, "wav", "audio", "audio/wav", ".wav"),
    "ogg": Sample(make_ogg, "ogg", "audio", "audio/ogg", ".ogg"),
    "flac": Sample(make_flac, "flac", "audio", "audio/flac", ".flac"),
}


def make_all_valid(directory: Path) -> dict[str, Path]:
    """Write one sample of every accepted format; return {format key: path}."""
    return {key: sample.make(directory) for key, sample in VALID_SAMPLES.items()}


# --- special cases -------------------------------------------------------------------------


def make_rotated_video(directory: Path, name: str = "portrait.mp4", rotation: int = 90) -> Path:
    """320x240 coded H.264/AAC whose display matrix turns it `rotation` degrees clockwise."""
    plain = make_mp4(directory, name=f"unrotated_{name}")
    out = directory / name
    # -display_rotation is counter-clockwise; phones' classic "rotate" tag is clockwise.
    _ffmpeg(["-display_rotation", str(-rotation), "-i", file_url(plain), "-c", "copy",
             "-movflags", "+faststart", "-f", "mp4", "-y", file_url(out)])  # fmt: skip
    plain.unlink()
    return out


def make_video_without_audio(directory: Path, name: str = "silent.mp4") -> Path:
    """H.264 MP4 with no audio track at all."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_x264(), "-f", "mp4", "-y", file_url(out)])
    return out


def make_short_clip(directory: Path, name: str = "short.mp4", seconds: float = 0.3) -> Path:
    """A valid but very short H.264/AAC clip (0.3 s by default)."""
    out = directory / name
    _ffmpeg([*_lavfi_video(seconds=seconds), *_lavfi_tone(seconds=seconds), *_x264(),
             "-c:a", "aac", "-shortest", "-f", "mp4", "-y", file_url(out)])  # fmt: skip
    return out


# --- bad files -----------------------------------------------------------------------------


def _truncate(src: Path, dest: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    src.unlink()
    return dest


def _longer_mp4(directory: Path, name: str, faststart: bool) -> Path:
    out = directory / name
    flags = ["-movflags", "+faststart"] if faststart else []
    _ffmpeg([*_lavfi_video(size="320x240", seconds=3, rate=15), *_lavfi_tone(seconds=3),
             *_x264(), "-c:a", "aac", "-shortest", *flags,
             "-f", "mp4", "-y", file_url(out)])  # fmt: skip
    return out


def make_truncated_faststart_mp4(directory: Path, name: str = "cut_faststart.mp4") -> Path:
    """An MP4 with its index at the front, cut off at 60%: a plain probe still succeeds."""
    return _truncate(_longer_mp4(directory, "whole_fs.mp4", True), directory / name, 0.6)


def make_truncated_mp4_index_at_end(directory: Path, name: str = "cut_end.mp4") -> Path:
    """An MP4 with its index at the end, cut off at 60%: the index is missing."""
    return _truncate(_longer_mp4(directory, "whole_end.mp4", False), directory / name, 0.6)


def make_truncated_webm(directory: Path, name: str = "cut.webm") -> Path:
    """A WebM cut off at 60%."""
    return _truncate(make_webm(directory, "whole.webm"), directory / name, 0.6)


def make_text_as_mp4(directory: Path, name: str = "notes.mp4") -> Path:
    """A plain text file renamed .mp4."""
    out = directory / name
    out.write_text("Dear diary,\nThis is not a video, it is just some words.\n" * 20)
    return out


def make_empty_file(directory: Path, name: str = "empty.mp4") -> Path:
    """A zero-byte file."""
    out = directory / name
    out.write_bytes(b"")
    return out


def make_random_bytes(directory: Path, name: str = "noise.mp4", size: int = 64 * 1024) -> Path:
    """Random bytes (seeded; the first bytes are forced not to look like any media header)."""
    out = directory / name
    data = bytearray(random.Random(1234).randbytes(size))
    data[:4] = b"\x13\x37\x42\x24"
    out.write_bytes(bytes(data))
    return out


def make_png_as_mp4(directory: Path, name: str = "photo.mp4") -> Path:
    """A PNG picture renamed .mp4."""
    out = directory / name
    Image.new("RGB", (64, 48), "#2a7f62").save(out, format="PNG")
    return out


def make_gif(directory: Path, name: str = "animation.gif") -> Path:
    """A small animated GIF (a moving picture, but not an accepted format)."""
    out = directory / name
    _ffmpeg([*_lavfi_video(size="64x48", seconds=1), "-f", "gif", "-y", file_url(out)])
    return out


def make_avi(directory: Path, name: str = "old.avi") -> Path:
    """An MPEG-4/MP3 AVI with sound (a real video, but not an accepted container)."""
    out = directory / name
    _ffmpeg([*_lavfi_video(), *_lavfi_tone(), "-c:v", "mpeg4", "-c:a", "libmp3lame",
             "-shortest", "-f", "avi", "-y", file_url(out)])  # fmt: skip
    return out


BAD_SAMPLES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated_faststart_mp4": (make_truncated_faststart_mp4, "damaged"),
    "truncated_mp4_index_at_end": (make_truncated_mp4_index_at_end, "damaged"),
    "truncated_webm": (make_truncated_webm, "damaged"),
    "text_as_mp4": (make_text_as_mp4, "not_media"),
    "empty": (make_empty_file, "empty"),
    "random_bytes": (make_random_bytes, "not_media"),
    "png_as_mp4": (make_png_as_mp4, "unsupported_type"),
    "gif": (make_gif, "unsupported_type"),
    "avi": (make_avi, "unsupported_type"),
    "video_without_audio": (make_video_without_audio, "no_audio"),
    "short_clip": (make_short_clip, "too_short"),
}


# --- big files -----------------------------------------------------------------------------


def make_large_wav(path: Path, size_bytes: int, *, rate: int = 48000, channels: int = 2) -> Path:
    """Write a valid 16-bit PCM WAV (a 440 Hz tone) of about `size_bytes`, streaming 1 s blocks."""
    frame = 2 * channels
    data_len = max(frame, (size_bytes - 44) // frame * frame)
    if data_len > 0xFFFFFFFF - 36:
        raise ValueError("plain WAV cannot exceed 4 GiB")
    one_second = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) * channels
        for i in range(rate)
    )
    header = (
        b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * frame, frame, 16)
        + b"data" + struct.pack("<I", data_len)
    )  # fmt: skip
    with Path(path).open("wb") as fh:
        fh.write(header)
        left = data_len
        while left:
            chunk = one_second[: min(left, len(one_second))]
            fh.write(chunk)
            left -= len(chunk)
    return Path(path)
