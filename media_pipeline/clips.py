"""Cut an exact clip from a story's web rendition (H.264/AAC MP4, or AAC M4A for sound only).

A clip must start and end on the words a trainer chose. Stream copy alone can't do that: it can
only start on a keyframe, which may be seconds earlier. There are two ways to cut a video clip:

- **Smart cut**, when the story is a rendition made by rendition.py (closed GOPs of 2 s, encoded
  with stitchable headers) and the clip is at least two GOPs long. Let K1 be the first keyframe
  at or after the clip's first picture, and K2 the first keyframe whose GOP does not end inside
  the clip:
  1. the pictures before K1 and from K2 on are decoded and encoded again, with the rendition's
     own x264 settings (rendition.WEB_X264_ARGS), each piece starting with an IDR picture;
  2. the whole GOPs [K1, K2) are copied packet for packet, with no decoding;
  3. meanwhile the sound alone is cut exactly, by encoding [start, end) again;
  4. the pieces are joined by stream copy (ffmpeg's concat demuxer), with the sound.
  So at most about 4 s of pictures are encoded, whatever the clip's length. The pieces decode as
  one stream only if their headers (SPS/PPS: the MP4's avcC) are the source's, byte for byte:
  that is checked, and so are the number and times of the joined clip's pictures, against the
  plan. plan_source_cut() reads the packets (not the pictures) and checks the source;
  plan_cut() makes the plan from the packets' times and keyframes alone.
- **Full encode**, in every other case and whenever a check fails: ffmpeg seeks on the input
  (`-ss` before `-i`: it jumps to the keyframe before `start`, decodes from there and drops
  every frame before `start`) and encodes the whole clip again; `-t` then ends it on the right
  frame and audio sample.

Either way the clip's first picture is the source's first at or after `start`, its last is the
source's last before `end`, each is shown as long after `start` as in the story, and the sound
lasts `end - start`. cut_clip() logs which way it went, and why.

X264_ARGS and AAC_ARGS are shared with compile.py, whose pieces must match to be joined by
stream copy; the full encode uses them too.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

from .errors import N_, MediaError
from .ffmpeg import file_url, run_ffmpeg
from .rendition import WEB_X264_ARGS
from .thumbnail import ProgressCallback

log = logging.getLogger(__name__)

KINDS: Final = frozenset({"video", "audio"})

# x264 settings of the full encode, chosen by measuring a 29.9 s cut of a 5-minute 720p story
# on 2 cores (bench/clips.py; median of 3, seconds): ultrafast 2.2, superfast 3.3, veryfast
# 4.2, faster about 5.5; moviepy's default write_videofile 10.4. ultrafast is the only preset
# anywhere near the 10x goal, and even it gives about 5x: some 40 % of the CPU time goes on
# *decoding* the source from the keyframe before `start`, which no encoder setting can save (the
# smart cut avoids most of both). -threads 2 or 4 changed nothing beyond noise.
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

# A smart cut is tried only for a clip at least this many GOPs long: below that, the pieces
# encoded again are most of the clip and the gain would not pay for the extra steps.
MIN_SMART_GOPS: Final = 2
# x264 writes its settings into the first picture; a rendition's say "stitchable=1". Checking
# that first skips a doomed attempt on a story whose rendition is older than smart cuts.
_STITCHABLE_MARK: Final = b"stitchable=1"
# Timestamps closer than this (seconds) are the same instant (a frame lasts 1 ms at the least).
_EPS: Final = 1e-4
_IDR_NAL: Final = 5
# A piece encoded again has its only keyframe on its first picture: WEB_X264_ARGS without the
# forced keyframe every 2 s (an ffmpeg option, not x264's: the headers don't depend on it), so
# a head that ends 2 s after it starts can't put an IDR right before the copied K1's IDR.
_PIECE_X264_ARGS: Final = (
    WEB_X264_ARGS[: WEB_X264_ARGS.index("-force_key_frames")]
    + WEB_X264_ARGS[WEB_X264_ARGS.index("-force_key_frames") + 2 :]
)


@dataclass(frozen=True)
class Piece:
    """A run of consecutive pictures of the clip: copied whole GOPs, or encoded again."""

    copy: bool
    start: float  # source time (s) of its first picture; a keyframe's for a copy
    after: float  # a time between the picture before it and its first (where to trim)
    frames: int


@dataclass(frozen=True)
class CutPlan:
    """How cut_clip makes a video clip: a smart cut made of `pieces`, or a full encode."""

    smart: bool
    reason: str = ""  # why not smart
    frames: int = 0  # pictures in the clip
    first: float = 0.0  # source time of the clip's first picture
    pieces: tuple[Piece, ...] = ()
    # Filled in by plan_source_cut: the source's avcC and the time its timestamps count from.
    headers: bytes = field(default=b"", repr=False)
    origin: float = 0.0
    times: tuple[float, ...] = field(default=(), repr=False)  # the clip's pictures, source times


def _not_smart(reason: str) -> CutPlan:
    return CutPlan(smart=False, reason=reason)


def plan_cut(
    packets: Sequence[tuple[float, bool]],
    start: float,
    end: float,
    *,
    min_gops: int = MIN_SMART_GOPS,
) -> CutPlan:
    """Plan a smart cut of [start, end) from a video's packets; pure, so tested on its own.

    `packets` are (presentation time in seconds, starts a GOP: an IDR picture) in *decoding*
    order, covering at least the GOPs from the one holding `start` to the one after `end`.
    The plan is smart only if whole, closed GOPs lie inside the clip and the clip lasts at least
    `min_gops` of the longest GOP; otherwise `reason` says why not.
    """
    times = sorted(t for t, _ in packets)
    if not times:
        return _not_smart("the story has no pictures")
    if any(b - a < _EPS for a, b in itertools.pairwise(times)):
        return _not_smart("two pictures share a timestamp")
    i0 = bisect.bisect_left(times, start - _EPS)
    i1 = bisect.bisect_left(times, end - _EPS)
    if i1 <= i0:
        return _not_smart("no picture between the start and the end")
    clip_times = tuple(times[i0:i1])

    def no(reason: str) -> CutPlan:
        return CutPlan(False, reason, frames=i1 - i0, first=times[i0], times=clip_times)

    # GOPs: runs of packets in decoding order, each from an IDR to the packet before the next.
    # A GOP is closed when its pictures are exactly the ones shown from its IDR to the next
    # GOP's: then it decodes alone, and cutting at its IDR splits nothing.
    index = {t: i for i, t in enumerate(times)}
    keys = [k for k, (_, key) in enumerate(packets) if key]
    gops: list[tuple[int, int, bool]] = []  # (first picture, after its last, closed)
    for a, b in zip(keys, [*keys[1:], len(packets)], strict=True):
        shown = [packets[k][0] for k in range(a, b)]
        lo = index[packets[a][0]]
        hi = lo + len(shown)
        closed = hi <= len(times) and min(shown) == times[lo] and max(shown) == times[hi - 1]
        gops.append((lo, hi, closed))
    longest = max(
        (times[hi] - times[lo] for lo, hi, _ in gops if hi < len(times)),
        default=times[-1] - times[0],
    )
    if end - start < min_gops * longest:
        return no(f"the clip is shorter than {min_gops} GOPs")
    inside = [g for g in gops if i0 <= g[0] < i1]
    if any(not closed for _, _, closed in inside):
        return no("a GOP in the clip is not closed")
    whole = [g for g in inside if g[1] <= i1]
    if whole and whole[0][0] == i0 + 1 and len(whole) > 1:
        # One picture before K1 would make two IDR pictures follow each other, which H.264
        # allows only with different idr_pic_ids; encode the first whole GOP with it instead.
        whole = whole[1:]
    if not whole or whole[0][0] == i0 + 1:
        return no("no whole GOP inside the clip")
    if any(a[1] != b[0] for a, b in itertools.pairwise(whole)):
        return no("the GOPs inside the clip leave gaps")
    k1, k2 = whole[0][0], whole[-1][1]

    def after(i: int) -> float:
        return (times[i - 1] + times[i]) / 2 if i else times[0] - 0.5

    pieces = []
    if k1 > i0:
        pieces.append(Piece(copy=False, start=times[i0], after=after(i0), frames=k1 - i0))
    pieces.append(Piece(copy=True, start=times[k1], after=after(k1), frames=k2 - k1))
    if i1 > k2:
        pieces.append(Piece(copy=False, start=times[k2], after=after(k2), frames=i1 - k2))
    return CutPlan(True, frames=i1 - i0, first=times[i0], pieces=tuple(pieces), times=clip_times)


def _time_base(stream: Any) -> Fraction:
    if not stream.time_base:
        raise ValueError("a stream has no time base")
    return Fraction(stream.time_base)


def _has_idr(data: bytes, length_size: int) -> bool:
    """True if an AVCC packet (length-prefixed NAL units) holds an IDR slice."""
    i = 0
    while i + length_size < len(data):
        size = int.from_bytes(data[i : i + length_size], "big")
        if data[i + length_size] & 0x1F == _IDR_NAL:
            return True
        i += length_size + size
    return False


def plan_source_cut(src: Path, start: float, end: float) -> CutPlan:
    """Plan the cut of `src` (a story's rendition): read its packets, not its pictures.

    Reads the first packet (for x264's settings), decodes the first picture (for a display
    rotation, which only decoded frames show in PyAV), then demuxes from the keyframe before
    `start` to the second keyframe after `end`. Never raises: a problem is a reason not to be
    smart, and the full encode reports real errors.
    """
    import av  # PyAV: imported here so importing this module stays cheap

    try:
        with av.open(str(src), format="mov") as container:
            if not container.streams.audio or not container.streams.video:
                return _not_smart("the story lacks sound or pictures")
            video = container.streams.video[0]
            context = video.codec_context
            headers = bytes(context.extradata or b"")
            if context.name != "h264" or len(headers) < 7 or headers[0] != 1:
                return _not_smart("the pictures are not H.264 with avcC headers")
            length_size = (headers[4] & 3) + 1
            first = next((p for p in container.demux(video) if p.size), None)
            if first is None or _STITCHABLE_MARK not in bytes(first):
                return _not_smart("the story's rendition was not encoded to be stitched")
            with av.open(str(src), format="mov") as again:
                picture = next(again.decode(video=0), None)
                if picture is None or round(float(picture.rotation)) % 360:
                    return _not_smart("the pictures are rotated for display")
            base = _time_base(video)
            origin = Fraction(container.start_time or 0, 1_000_000)
            container.seek(max(0, math.floor((start + origin) / base)), stream=video)
            packets: list[tuple[float, bool]] = []
            keys_after_end = 0
            for packet in container.demux(video):
                if not packet.size:
                    continue  # the demuxer's flush packet
                if packet.pts is None:
                    return _not_smart("a packet has no timestamp")
                t = float(packet.pts * base - origin)
                key = bool(packet.is_keyframe) and _has_idr(bytes(packet), length_size)
                if key and t >= end - _EPS:
                    keys_after_end += 1
                    if keys_after_end == 2:
                        break
                packets.append((t, key))
    except Exception as exc:  # whatever it is, the full encode will say it plainly
        return _not_smart(f"unreadable: {exc}")
    if not packets or not packets[0][1] or packets[0][0] > start + _EPS:
        return _not_smart("seeking did not land on a keyframe before the start")
    plan = plan_cut(packets, start, end)
    return CutPlan(
        plan.smart, plan.reason, plan.frames, plan.first, plan.pieces,
        headers=headers, origin=float(origin), times=plan.times,
    )  # fmt: skip


class _Mismatch(Exception):
    """The smart cut's result differs from its plan: fall back to a full encode."""


def _encode_piece(src: Path, dest: Path, piece: Piece, origin: float, timeout: float) -> None:
    """Encode `piece` again, with the rendition's x264 settings, as a video-only MP4."""
    run_ffmpeg(
        [
            # Seek to the keyframe at or before the piece's first picture (for a tail, that
            # keyframe itself) and keep the timestamps, so the trim can use the source's own.
            "-noaccurate_seek", "-ss", f"{piece.start + _EPS:.6f}", "-copyts",
            "-protocol_whitelist", "file", "-f", "mov", "-i", file_url(src),
            "-map", "0:v:0", "-an", "-sn", "-dn",
            # No colour filter: the pictures keep the story's tags, as the headers must.
            "-vf", f"trim=start={piece.after + origin:.6f},setpts=PTS-STARTPTS",
            "-fps_mode", "passthrough", "-frames:v", str(piece.frames), *_PIECE_X264_ARGS,
            "-map_metadata", "-1", "-f", "mp4", "-y", file_url(dest),
        ],
        timeout=timeout,
        error_code="failed",
    )  # fmt: skip


def _encode_sound(src: Path, dest: Path, start: float, end: float, timeout: float) -> None:
    """Cut the sound of [start, end) exactly (input seek, decoded and encoded again) to an M4A."""
    run_ffmpeg(
        ["-ss", f"{start:.6f}", "-t", f"{end - start:.6f}", "-protocol_whitelist", "file",
         "-f", "mov", "-i", file_url(src), "-map", "0:a:0", "-vn", *AAC_ARGS,
         "-map_metadata", "-1", "-f", "mp4", "-y", file_url(dest)],
        timeout=timeout,
        error_code="failed",
    )  # fmt: skip


def _copy_gops(src: Path, dest: Path, piece: Piece, origin: float) -> None:
    """Copy the packets of `piece` (whole closed GOPs) into a video-only MP4, from time 0."""
    import av

    with av.open(str(src), format="mov") as container, av.open(str(dest), "w", "mp4") as out:
        video = container.streams.video[0]
        stream = out.add_stream_from_template(video)
        base = _time_base(video)
        container.seek(math.floor((piece.start + origin) / base), stream=video)
        copied, offset = 0, 0
        for packet in container.demux(video):
            if not packet.size:
                continue
            if packet.pts is None or packet.dts is None:
                raise _Mismatch("a packet to copy has no timestamp")
            if not copied:
                if abs(float(packet.pts * base) - origin - piece.start) > _EPS:
                    continue  # before K1 (the seek may land on the keyframe before)
                if not packet.is_keyframe:
                    raise _Mismatch("the copy does not start on a keyframe")
                offset = packet.pts
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = stream
            out.mux(packet)
            copied += 1
            if copied == piece.frames:
                break
    if copied != piece.frames:
        raise _Mismatch(f"copied {copied} pictures, planned {piece.frames}")


def _check_piece(path: Path, headers: bytes, frames: int) -> None:
    """Raise _Mismatch unless the piece has the source's headers and the planned pictures."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        if bytes(video.codec_context.extradata or b"") != headers:
            raise _Mismatch(f"{path.name} has other headers (SPS/PPS) than the story")
        packets = [p for p in container.demux(video) if p.size]
    if len(packets) != frames or not packets[0].is_keyframe:
        raise _Mismatch(f"{path.name} has {len(packets)} pictures, planned {frames}")


def _check_joined(path: Path, plan: CutPlan, start: float) -> None:
    """Raise _Mismatch unless every picture of the clip is where the plan puts it."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        base = _time_base(video)
        pts: list[int] = []
        dts: list[int] = []
        for packet in container.demux(video):
            if not packet.size:
                continue
            if packet.pts is None or packet.dts is None:
                raise _Mismatch("a joined picture has no timestamp")
            pts.append(packet.pts)
            dts.append(packet.dts)
    if any(b <= a for a, b in itertools.pairwise(dts)):
        raise _Mismatch("the joined pictures' decoding times do not increase")
    shown = sorted(float(p * base) for p in pts)
    wanted = [t - start for t in plan.times]
    gap = min((b - a for a, b in itertools.pairwise(wanted)), default=1.0)
    if len(shown) != len(wanted) or any(
        abs(a - b) > gap / 4 for a, b in zip(shown, wanted, strict=True)
    ):
        raise _Mismatch(f"the joined clip has {len(shown)} pictures, planned {len(wanted)}")


def _smart_cut(
    src: Path, tmp: Path, start: float, end: float, plan: CutPlan, deadline: float
) -> None:
    """Encode the head and tail, copy the GOPs between, join them and cut the sound into `tmp`.

    Raises _Mismatch when a piece or the result differs from the plan, MediaError when ffmpeg
    fails.
    """

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MediaError("timeout", detail="cutting the clip took too long")
        return remaining

    work = Path(tempfile.mkdtemp(prefix=f".{tmp.stem}-", dir=tmp.parent))
    try:
        paths = [work / f"piece{n}.mp4" for n in range(len(plan.pieces))]
        encoded = [(p, path) for p, path in zip(plan.pieces, paths, strict=True) if not p.copy]
        sound = work / "sound.m4a"
        # Head, tail and sound at once (the sound is as slow to encode as a piece, and on one
        # core), the copy in this thread meanwhile.
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="clip") as pool:
            running = [
                pool.submit(_encode_piece, src, path, piece, plan.origin, left())
                for piece, path in encoded
            ]
            running.append(pool.submit(_encode_sound, src, sound, start, end, left()))
            try:
                for piece, path in zip(plan.pieces, paths, strict=True):
                    if piece.copy:
                        _copy_gops(src, path, piece, plan.origin)
            finally:
                for future in running:
                    future.exception()  # wait for all, whatever happened here
            for future in running:
                future.result()
        for piece, path in encoded:
            _check_piece(path, plan.headers, piece.frames)
        listing = work / "pieces.ffconcat"
        # Plain names in the same folder: the concat demuxer's safe mode accepts nothing else.
        # Each piece but the last lasts until the next one's first picture, as in the story:
        # left to itself, the demuxer would guess its last picture's duration, and a picture
        # missing just before a keyframe (as in a variable-rate story) would shift the rest.
        lines = ["ffconcat version 1.0"]
        for n, path in enumerate(paths):
            lines.append(f"file '{path.name}'")
            if n + 1 < len(paths):
                lines.append(f"duration {plan.pieces[n + 1].start - plan.pieces[n].start:.6f}")
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run_ffmpeg(
            [
                # The first picture is shown as long after `start` as it is in the story.
                # auto_convert 0: the packets as they are (the pieces share one set of headers;
                # by default the demuxer would put a copy of the SPS/PPS in every keyframe).
                "-protocol_whitelist", "file", "-f", "concat", "-safe", "1", "-auto_convert", "0",
                "-itsoffset", f"{plan.first - start:.6f}", "-i", file_url(listing),
                "-protocol_whitelist", "file", "-f", "mov", "-i", file_url(sound),
                # A single AAC track copied whole keeps its encoder delay (the MP4's edit list).
                "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", "-y",
                file_url(tmp),
            ],
            timeout=left(),
            error_code="failed",
        )  # fmt: skip
        check_output(tmp, video=True)
        _check_joined(tmp, plan, start)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


def _try_smart_cut(src: Path, tmp: Path, start: float, end: float, deadline: float) -> bool:
    """Make the clip by a smart cut if the plan and every check allow; True if it did."""
    plan = plan_source_cut(src, start, end)
    if not plan.smart:
        log.info("clip %.3f-%.3f s of %s: full encode (%s)", start, end, src.name, plan.reason)
        return False
    try:
        _smart_cut(src, tmp, start, end, plan, deadline)
    except MediaError as exc:
        if exc.code == "timeout":
            raise
        problem: object = exc.detail
    except Exception as exc:  # anything else: the full encode still makes a right clip
        problem = exc
    else:
        copied = sum(p.frames for p in plan.pieces if p.copy)
        log.info(
            "clip %.3f-%.3f s of %s: smart cut (%d pictures copied, %d encoded)",
            start, end, src.name, copied, plan.frames - copied,
        )  # fmt: skip
        return True
    log.warning(
        "clip %.3f-%.3f s of %s: smart cut failed, full encode instead (%s)",
        start, end, src.name, problem,
    )  # fmt: skip
    tmp.unlink(missing_ok=True)
    return False


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
    the source's first frame at or after `start`, and it lasts `end - start` to within a frame.
    A video clip of a rendition is smart-cut when it can be (see the module's docstring).
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
    deadline = time.monotonic() + timeout
    report(0.0, N_("Cutting the clip"))
    try:
        if not (video and _try_smart_cut(src, tmp, start, end, deadline)):
            _full_encode(src, tmp, start, end, video=video, timeout=deadline - time.monotonic())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    report(1.0, N_("Clip ready"))
    return dest


def _full_encode(
    src: Path, tmp: Path, start: float, end: float, *, video: bool, timeout: float
) -> None:
    """Cut by input seek and a full encode of the clip (the sound only, for an audio clip)."""
    if timeout <= 0:
        raise MediaError("timeout", detail="cutting the clip took too long")
    # Renditions are always MP4/M4A: forcing the demuxer (and files only) means a file that
    # is somehow something else can't switch to a playlist demuxer that opens other files.
    args: list[str] = [
        "-ss", f"{start:.6f}", "-protocol_whitelist", "file", "-f", "mov",
        "-i", file_url(src), "-t", f"{end - start:.6f}", "-map", "0:a:0",
    ]  # fmt: skip
    if video:
        # Each picture keeps its time to the story's own precision and none is repeated or
        # dropped. (By default the encoder counts in frames from `start`: a picture 20 ms after
        # `start` moved to 40 ms, and with it the last one before `end` out of the clip.)
        args += ["-map", "0:v:0", "-fps_mode", "passthrough", "-enc_time_base:v", "demux"]
        args += X264_ARGS
    else:
        args += ["-vn"]
    # No metadata from the story file: a phone's may hold where it was filmed.
    args += [*AAC_ARGS, "-map_metadata", "-1", "-movflags", "+faststart"]
    args += ["-f", "mp4" if video else "ipod", "-y", file_url(tmp)]
    run_ffmpeg(args, timeout=timeout, error_code="failed")
    check_output(tmp, video=video)
