"""Probe and validate uploaded media safely: PyAV runs in a child process with a time limit.

Run `python -m media_pipeline.probe PATH` to print a file's MediaInfo as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from .errors import MESSAGES, N_, MediaError
from .ffmpeg import file_url, helper_env, run_ffmpeg, run_process

ACCEPTED_CONTAINERS: Final[frozenset[str]] = frozenset(
    {"mp4", "mov", "3gp", "m4a", "webm", "matroska", "mp3", "wav", "ogg", "flac"}
)

# ffmpeg demuxer for each container. Forcing it (instead of letting ffmpeg guess from the
# content) means a hostile upload can't switch to a playlist demuxer (hls, concat, ...)
# that would open other files or URLs.
DEMUXERS: Final[dict[str, str]] = {
    "mp4": "mov",
    "mov": "mov",
    "3gp": "mov",
    "m4a": "mov",
    "webm": "matroska",
    "matroska": "matroska",
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "ogg",
    "flac": "flac",
}

_VIDEO_MIME: Final[dict[str, str]] = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
    "m4a": "video/mp4",
    "webm": "video/webm",
    "matroska": "video/x-matroska",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "video/ogg",
    "flac": "audio/flac",
}
_AUDIO_MIME: Final[dict[str, str]] = {
    "mp4": "audio/mp4",
    # There is no audio-only QuickTime type; browsers play it as video/quicktime.
    "mov": "video/quicktime",
    "3gp": "audio/3gpp",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
    "matroska": "audio/x-matroska",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
_EXTENSIONS: Final[dict[str, str]] = {
    "mp4": ".mp4",
    "mov": ".mov",
    "3gp": ".3gp",
    "m4a": ".m4a",
    "webm": ".webm",
    "matroska": ".mkv",
    "mp3": ".mp3",
    "wav": ".wav",
    "ogg": ".ogg",
    "flac": ".flac",
}

# ISO-BMFF major brands that are still pictures (iPhone HEIC photos, AVIF, JPEG 2000).
_IMAGE_BRANDS: Final[frozenset[str]] = frozenset(
    {
        "heic",
        "heix",
        "heim",
        "heis",
        "hevc",
        "hevx",
        "mif1",
        "msf1",
        "avif",
        "avis",
        "jp2",
        "jpx",
        "mjp2",
        "crx",
    }
)
# Top-level atoms that may start an old QuickTime file that has no ftyp box.
_QT_ATOMS: Final[frozenset[bytes]] = frozenset(
    {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"junk"}
)

# Recognisable but not accepted: lets us say "wrong type of file" rather than "not media".
_UNSUPPORTED_MAGIC: Final[tuple[tuple[int, bytes, str], ...]] = (
    (0, b"\x89PNG\r\n\x1a\n", "png image"),
    (0, b"GIF87a", "gif image"),
    (0, b"GIF89a", "gif image"),
    (0, b"\xff\xd8\xff", "jpeg image"),
    (0, b"BM", "bmp image"),
    (0, b"%PDF", "pdf document"),
    (0, b"PK\x03\x04", "zip archive"),
    (0, b"FLV", "flash video"),
    (0, b"#!AMR", "amr audio"),
    (0, b"FORM", "aiff audio"),
    (0, b"caff", "core audio file"),
    (0, b".RMF", "realmedia"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "windows media"),
    (0, b"\x00\x00\x01\xba", "mpeg program stream"),
    (0, b"\x00\x00\x01\xb3", "mpeg video"),
)


@dataclass(frozen=True)
class MediaInfo:
    """What a probe learned about a media file (sizes are as displayed, after rotation)."""

    container: str
    duration: float
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    rotation: int = 0  # clockwise degrees needed to show the picture upright (0/90/180/270)

    @property
    def kind(self) -> str:
        """'video' or 'audio' (cover art does not make an audio file a video)."""
        return "video" if self.has_video else "audio"

    @property
    def mime_type(self) -> str:
        """The MIME type to serve this file with."""
        table = _VIDEO_MIME if self.has_video else _AUDIO_MIME
        return table.get(self.container, "application/octet-stream")

    @property
    def extension(self) -> str:
        """The usual file name extension, with its dot (e.g. '.mp4')."""
        return _EXTENSIONS.get(self.container, ".bin")

    @property
    def demuxer(self) -> str:
        """The ffmpeg demuxer name to force when reading this file."""
        return DEMUXERS[self.container]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (plain str/int/float/bool/None)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        """Rebuild a MediaInfo from `to_dict()` output (unknown keys ignored; ValueError if bad)."""
        if data.get("container") not in ACCEPTED_CONTAINERS:
            raise ValueError(f"unknown container {data.get('container')!r}")

        def opt_int(value: Any) -> int | None:
            return None if value is None else int(value)

        def opt_str(value: Any) -> str | None:
            return None if value is None else str(value)

        return cls(
            container=str(data["container"]),
            duration=float(data["duration"]),
            has_video=bool(data["has_video"]),
            has_audio=bool(data["has_audio"]),
            video_codec=opt_str(data.get("video_codec")),
            audio_codec=opt_str(data.get("audio_codec")),
            width=opt_int(data.get("width")),
            height=opt_int(data.get("height")),
            rotation=int(data.get("rotation") or 0),
        )


def normalise_isobmff(brand: str | None, has_video: bool) -> str | None:
    """Map an ftyp major brand (None if no ftyp) to mp4/mov/3gp/m4a, or None for still images."""
    if brand is None:
        return "mov"  # Pre-2001 QuickTime files start straight with moov/mdat.
    brand = brand.strip()
    if brand in _IMAGE_BRANDS:
        return None
    if brand == "qt":
        return "mov"
    if brand.startswith("3g"):
        return "3gp"
    # "M4A " with video is really an MP4, and "isom"/"mp42" with only sound is an M4A: what
    # the file holds matters more than the label the recording app chose.
    return "mp4" if has_video else "m4a"


@dataclass(frozen=True)
class _Sniffed:
    family: str  # isobmff | ebml | wav | ogg | flac | mp3 | unsupported | unknown
    detail: str | None = None  # ftyp brand, EBML DocType or what the unsupported thing is


def _is_mpeg_audio_sync(b: bytes) -> bool:
    # 11-bit frame sync, a real MPEG version and a non-zero layer (ADTS AAC has layer 0).
    return (
        len(b) >= 2
        and b[0] == 0xFF
        and (b[1] & 0xE0) == 0xE0
        and (b[1] >> 3) & 3 != 1
        and (b[1] >> 1) & 3 != 0
    )


def _ebml_doctype(head: bytes) -> str | None:
    idx = head.find(b"\x42\x82", 4, 64)
    if idx < 0 or idx + 3 > len(head):
        return None
    first = head[idx + 2]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        return None
    size = first & ((0x80 >> (length - 1)) - 1)
    for b in head[idx + 3 : idx + 2 + length]:
        size = (size << 8) | b
    start = idx + 2 + length
    return head[start : start + size].rstrip(b"\x00").decode("ascii", errors="replace")


def _sniff(head: bytes) -> _Sniffed:
    """Identify the file family from its first bytes, without trusting the file name."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        return _Sniffed("isobmff", brand)
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return _Sniffed("isobmff", None)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _Sniffed("ebml", _ebml_doctype(head))
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64", b"BW64"):
        if head[8:12] == b"WAVE":
            return _Sniffed("wav")
        return _Sniffed("unsupported", "riff " + head[8:12].decode("latin-1").strip().lower())
    if head.startswith(b"OggS"):
        return _Sniffed("ogg")
    if head.startswith(b"fLaC"):
        return _Sniffed("flac")
    if head.startswith(b"ID3"):
        return _Sniffed("mp3", "id3")
    if _is_mpeg_audio_sync(head):
        return _Sniffed("mp3")
    for offset, magic, what in _UNSUPPORTED_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return _Sniffed("unsupported", what)
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return _Sniffed("unsupported", "mpeg transport stream")
    return _Sniffed("unknown")


def _sniff_file(path: Path) -> _Sniffed:
    with path.open("rb") as fh:
        head = fh.read(4096)
        if not head:
            raise MediaError("empty")
        sniffed = _sniff(head)
        if sniffed.family == "mp3" and sniffed.detail == "id3" and len(head) >= 10:
            # Look past the ID3 tag (often holding cover art): FLAC may hide behind one too.
            size = 0
            for b in head[6:10]:
                size = (size << 7) | (b & 0x7F)
            fh.seek(10 + size + (10 if head[5] & 0x10 else 0))
            after = fh.read(4)
            if after.startswith(b"fLaC"):
                return _Sniffed("flac")
        return sniffed


def _demuxer_for(sniffed: _Sniffed) -> str:
    return {
        "isobmff": "mov",
        "ebml": "matroska",
        "wav": "wav",
        "ogg": "ogg",
        "flac": "flac",
        "mp3": "mp3",
    }[sniffed.family]


def _probe_in_process(path: Path) -> MediaInfo:
    """Probe with PyAV in this process; meant for the time-limited child that probe() starts."""
    import av  # Imported here: a demuxer crash or hang must only ever take down the child.

    sniffed = _sniff_file(path)
    if sniffed.family == "unknown":
        raise MediaError("not_media", detail="unrecognised file signature")
    if sniffed.family == "unsupported":
        raise MediaError("unsupported_type", detail=str(sniffed.detail))
    if sniffed.family == "isobmff" and sniffed.detail and sniffed.detail in _IMAGE_BRANDS:
        raise MediaError("unsupported_type", detail=f"still image (ftyp {sniffed.detail})")
    if sniffed.family == "ebml" and sniffed.detail not in (None, "webm", "matroska"):
        raise MediaError("unsupported_type", detail=f"EBML DocType {sniffed.detail}")

    try:
        container = av.open(
            file_url(path),
            format=_demuxer_for(sniffed),
            options={"protocol_whitelist": "file"},
        )
    except Exception as exc:  # The signature matched, so failing to open means damaged.
        raise MediaError("damaged", detail=f"open failed: {exc}") from exc

    with container:
        videos = [
            s
            for s in container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        audios = list(container.streams.audio)
        video = videos[0] if videos else None
        audio = audios[0] if audios else None

        if sniffed.family == "isobmff":
            name = normalise_isobmff(sniffed.detail, video is not None)
            if name is None:
                raise MediaError("unsupported_type", detail=f"ftyp {sniffed.detail}")
        elif sniffed.family == "ebml":
            name = "webm" if sniffed.detail == "webm" else "matroska"
        else:
            name = sniffed.family

        rotation = _rotation(container, video) if video is not None else 0
        # After _rotation: a packet scan for the duration may continue from where it stopped.
        duration = _duration(container)
        width = height = None
        if video is not None:
            cc = video.codec_context
            width, height = int(cc.width or 0) or None, int(cc.height or 0) or None
            sar = video.sample_aspect_ratio
            if width and sar is not None and sar.numerator > 0 and sar.denominator > 0:
                width = max(1, round(width * sar.numerator / sar.denominator))
            if rotation in (90, 270):
                width, height = height, width

        return MediaInfo(
            container=name,
            duration=round(duration, 3),
            has_video=video is not None,
            has_audio=audio is not None,
            video_codec=_codec_name(video),
            audio_codec=_codec_name(audio),
            width=width,
            height=height,
            rotation=rotation,
        )


def _codec_name(stream: Any) -> str | None:
    if stream is None:
        return None
    try:
        return str(stream.codec_context.codec.canonical_name)
    except Exception:
        return "unknown"


def _duration(container: Any) -> float:
    """Duration in seconds; scans packet timestamps when the header has none (live WebM)."""
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000
    best = 0.0
    for stream in container.streams:
        if stream.duration and stream.time_base:
            best = max(best, float(stream.duration * stream.time_base))
    if best > 0:
        return best
    # Browser recordings (MediaRecorder) have no duration: read packets, no decoding.
    # If unseekable, keep scanning from where the rotation check stopped.
    with contextlib.suppress(Exception):
        container.seek(0)
    for packet in container.demux():
        if packet.pts is None or packet.time_base is None:
            continue
        end = packet.pts + (packet.duration or 0)
        best = max(best, float(end * packet.time_base))
    return best


def _rotation(container: Any, video: Any) -> int:
    """Clockwise display rotation from the display matrix (via a decoded frame) or rotate tag."""
    # A broken first GOP just means we fall back to the legacy rotate tag.
    with contextlib.suppress(Exception):
        # PyAV exposes the stream's display matrix only on decoded frames; read a few packets.
        for count, packet in enumerate(container.demux(video)):
            if count > 300:
                break
            frames = packet.decode()
            if frames:
                # PyAV reports counter-clockwise degrees; phones' rotate tag is clockwise.
                degrees = round(-float(frames[0].rotation) / 90.0) * 90 % 360
                if degrees:
                    return degrees
                break
    tag = video.metadata.get("rotate")
    with contextlib.suppress(ValueError, TypeError):
        return round(float(tag) / 90.0) * 90 % 360
    return 0


def _child_main(argv: list[str]) -> int:
    """Entry point of `python -m media_pipeline.probe PATH`: print JSON, exit 0 or 2."""
    if len(argv) != 1:
        print("usage: python -m media_pipeline.probe PATH", file=sys.stderr)
        return 64
    try:
        info = _probe_in_process(Path(argv[0]))
    except MediaError as err:
        print(json.dumps({"error": {"code": err.code, "detail": err.detail}}))
        return 2
    print(json.dumps(info.to_dict()))
    return 0


_PACKAGE_PARENT: Final[str] = str(Path(__file__).resolve().parent.parent)


def probe(path: Path | str, timeout: float = 30.0) -> MediaInfo:
    """Describe a media file, probing it in a child process killed after `timeout` seconds.

    Raises MediaError: missing, empty, not_media (unknown signature or not a regular file),
    unsupported_type (recognised but not accepted, e.g. AVI, GIF, PNG, HEIC), damaged (looks
    like accepted media but can't be opened), timeout, or failed (our own problem).
    """
    p = Path(path)
    try:
        st = p.stat()  # stat() never blocks, unlike open() on a FIFO.
    except FileNotFoundError as exc:
        raise MediaError("missing", detail=str(p)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise MediaError("not_media", detail="not a regular file")
    if st.st_size == 0:
        raise MediaError("empty")

    env = helper_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, env.get("PYTHONPATH")]))
    # STORYHUB_PYTHON for servers (e.g. uWSGI) where sys.executable is not a Python.
    python = os.environ.get("STORYHUB_PYTHON") or sys.executable
    argv = [python, "-m", "media_pipeline.probe", str(p.resolve())]
    result = run_process(argv, timeout=timeout, env=env, cwd=_PACKAGE_PARENT)
    if result.returncode in (0, 2):
        try:
            data = json.loads(result.stdout)
        except ValueError:
            data = None
        if isinstance(data, dict):
            if result.returncode == 0:
                return MediaInfo.from_dict(data)
            error = data.get("error") or {}
            code = error.get("code")
            if code not in MESSAGES:
                raise MediaError("failed", detail=f"probe gave unknown error {code!r}")
            raise MediaError(code, detail=str(error.get("detail", "")))
    if result.returncode < 0:
        # Killed by a signal (e.g. a crash inside FFmpeg on a hostile file).
        raise MediaError("damaged", detail=f"probe died with signal {-result.returncode}")
    raise MediaError("failed", detail=result.stderr.strip() or f"probe exit {result.returncode}")


def _friendly_duration(seconds: float) -> str:
    """Say a limit in words, exactly: '4 hours', '10 minutes', '1 second', '90 seconds'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" + ("s" if n != 1 else "")
    secs = round(seconds, 1)
    return f"{secs:g} second" + ("s" if secs != 1 else "")


# Measured on a 2-core box (warm page cache): the demux pass alone reads a 1 GB PCM WAV in
# ~0.4-0.5 s, and validate() as a whole takes ~0.85 s on it; a 9.3 GB 720p H.264 MP4 took
# 2.6 s (6.5 s partly cold). So ~0.3-0.5 s per GB: it is bound by disk reads, not CPU.
_DEMUX_ARGS: Final[tuple[str, ...]] = ("-map", "0:a", "-map", "0:V?", "-c", "copy", "-f", "null")


def validate(
    path: Path | str,
    *,
    min_duration: float = 1.0,
    max_duration: float = 4 * 3600,
    timeout: float = 120.0,
) -> MediaInfo:
    """Probe and check an upload (type, sound, length, readable to the end); raise MediaError."""
    deadline = time.monotonic() + timeout
    info = probe(path, timeout=min(30.0, timeout))
    if info.container not in ACCEPTED_CONTAINERS:
        raise MediaError("unsupported_type", detail=info.container)
    if not info.has_audio:
        raise MediaError("no_audio")
    if info.duration < min_duration:
        raise MediaError(
            "too_short",
            N_(
                "This recording is shorter than %(limit)s, so there is nothing to play. "
                "Please check you chose the right file."
            )
            % {"limit": _friendly_duration(min_duration)},
            detail=f"{info.duration}s",
        )
    if info.duration > max_duration:
        raise MediaError(
            "too_long",
            N_(
                "This recording is longer than %(limit)s, which is more than we can take. "
                "Please shorten it or split it into parts."
            )
            % {"limit": _friendly_duration(max_duration)},
            detail=f"{info.duration}s",
        )
    # Demux-only pass: stream copy to the null muxer reads every packet without decoding.
    # -xerror stops at the first error; any error output at all (e.g. "partial file",
    # "File ended prematurely") means the file is truncated or corrupt. This catches a
    # truncated faststart MP4, whose index at the front makes a plain probe look fine.
    remaining = max(0.5, deadline - time.monotonic())
    result = run_ffmpeg(
        [
            "-xerror",
            "-protocol_whitelist",
            "file",
            "-f",
            info.demuxer,
            "-i",
            file_url(Path(path)),
            *_DEMUX_ARGS,
            "-",
        ],
        timeout=remaining,
        check=False,
    )
    if not result.ok or result.stderr.strip():
        raise MediaError("damaged", detail=result.stderr.strip() or f"exit {result.returncode}")
    return info


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
