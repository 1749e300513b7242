"""Compile a training session into one MP4: for each clip a title card, then the exact clip.

How, and why this way:

- **Title cards** are composed with moviepy (a coloured background and wrapped text) and written
  by moviepy's ffmpeg with the very same x264 settings as the clips. A card is a still, so it is
  composed once and that one picture is written for every frame.
- **Clips** are cut by ffmpeg (input seek + encode, as in clips.py), scaled and padded to the
  session's size and frame rate, with captions burned in by libass when asked. A sound-only
  story gets a still picture (its title and "Sound only") for the video track.
- Every piece is H.264 with identical settings plus 16-bit PCM sound at one rate and layout,
  and lasts a whole number of frames, its sound exactly as long as its pictures. So the pieces
  join with ffmpeg's concat demuxer by **stream copy**: the pictures are encoded only once, and
  the sound is encoded to AAC only once, at the join. (Joining AAC pieces instead would add
  each piece's encoder priming, about 21 ms, and drift out of sync clip by clip.)
- Piece lengths come from rounding each boundary of the whole session to the nearest frame, so
  the total never drifts more than half a frame from clips + cards, however many clips.
- Captions for the whole session (WebVTT, and a soft mov_text track in the MP4) come from the
  same cues as the burned ones, moved to where each clip starts and cut off where it ends.

No Flask here. moviepy is imported inside the functions that use it: it is slow to import, and
importing it loads a .env file from above its install folder.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .captions import Cue, clip_words, format_webvtt, make_cues, shift_words
from .clips import AAC_ARGS, KINDS, X264_ARGS, check_times
from .errors import N_, MediaError
from .ffmpeg import file_url, run_ffmpeg
from .synth import DEFAULT_PALETTE, FONT_BOLD, FONT_REGULAR
from .thumbnail import ProgressCallback
from .transcribe import Word

# Sound inside the pieces: PCM has no encoder delay, so pieces join sample-exact.
AUDIO_RATE: Final = 48000
_PCM_ARGS: Final = ("-c:a", "pcm_s16le", "-ar", str(AUDIO_RATE), "-ac", "2")
_AUDIO_FILTER: Final = (
    # first_pts=0: sound that starts a little late after the seek (a remuxed M4A can start
    # 8 ms in) is padded with silence from 0, so it stays in sync and the piece is whole.
    f"aresample={AUDIO_RATE}:async=1:first_pts=0,aformat=sample_fmts=s16:channel_layouts=stereo,"
    # Sound shorter than its clip (a story whose sound ends early) is padded with silence;
    # -t then ends every piece's sound exactly where its pictures end.
    "apad"
)
_TO_YUV: Final = "out_color_matrix=bt709:out_range=tv"
# Pieces must have byte-identical H.264 headers to be joined by stream copy, so every piece's
# pictures pass through these filters, which state the pixel shape and colour description, or
# they would follow each source file. The colour tags are set on the pictures (ffmpeg 7 and later
# take them from the pictures, and ignore -colorspace & co.), whatever the source said: a clip
# from a fully tagged phone video then joins a moviepy title card by stream copy.
_PIECE_TAIL: Final = (
    "setsar=1,format=yuv420p,"
    "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
)

# Burned captions: large enough to read at the back of a room (1/14 of the picture's height,
# 51 px at 720p; a 42-character line of DejaVu Sans still fits the width), white on a black
# box, which stays readable over any picture.
_CAPTION_HEIGHT_FRACTION: Final = 1 / 14
_FONTS_DIR: Final = FONT_REGULAR.parent


@dataclass(frozen=True)
class SessionClip:
    """One clip of a training session, as chosen by the trainer."""

    source: Path  # the story's web rendition
    kind: str  # "video" or "audio"
    start: float  # seconds in the source, on word boundaries
    end: float
    title: str  # the clip's title, big on its title card
    card_lines: tuple[str, ...]  # smaller lines on the card: story title, "Told by Mary", ...
    words: tuple[Word, ...]  # the story's timed words (story times); redactions already applied


@dataclass(frozen=True)
class CompiledSpan:
    """Where one clip sits in the compilation (seconds)."""

    card_start: float  # where this clip's title card starts
    clip_start: float  # where the clip itself starts
    clip_end: float


@dataclass(frozen=True)
class Compilation:
    """The written session: the MP4, its length, where each clip is, and its captions."""

    path: Path
    duration: float
    spans: tuple[CompiledSpan, ...]
    webvtt: str  # captions for the whole compilation; every cue lies inside a clip's span


# The stages a session's export reports, with their numbers by name so that a caller showing
# them in another language can put the numbers where its sentence needs them.
CARD_STAGE = N_("Making title card %(number)s of %(total)s")
CLIP_STAGE = N_("Cutting clip %(number)s of %(total)s")


@dataclass(frozen=True)
class _Plan:
    """One clip's pieces, in whole frames."""

    card_frames: int
    clip_frames: int
    span: CompiledSpan
    cues: tuple[Cue, ...]  # times from the clip's own start, cut off at its end


def compile_session(
    clips: Sequence[SessionClip],
    dest: Path,
    *,
    card_seconds: float = 3.0,
    burn_captions: bool = False,
    size: tuple[int, int] = (1280, 720),
    fps: int = 25,
    timeout: float = 3600,
    progress: ProgressCallback | None = None,
) -> Compilation:
    """Write the session's MP4 to `dest` (atomically) and return what was written.

    Raises ValueError for an empty list, bad times, kinds or sizes; MediaError ("missing",
    "failed", "timeout") when a source is gone or ffmpeg fails.
    """
    plans = _plan(clips, card_seconds=card_seconds, size=size, fps=fps)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}-{uuid.uuid4().hex}{dest.suffix}")
    deadline = time.monotonic() + timeout
    report = progress or (lambda _fraction, _stage: None)

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise MediaError("timeout", detail=f"compile_session exceeded {timeout:g}s")
        return left

    n = len(clips)
    webvtt = format_webvtt(_session_cues(plans))
    try:
        with tempfile.TemporaryDirectory(prefix="storyhub-compile-") as workdir:
            work = Path(workdir)
            pieces: list[Path] = []
            jobs: list[_Job] = []
            for i, (clip, plan) in enumerate(zip(clips, plans, strict=True)):
                card, piece = work / f"card_{i:03d}.mov", work / f"clip_{i:03d}.mov"
                pieces += [card, piece]
                jobs.append(
                    _Job(
                        CARD_STAGE % {"number": i + 1, "total": n},
                        _CARD_COST,
                        functools.partial(
                            write_title_card,
                            card,
                            title=clip.title,
                            lines=clip.card_lines,
                            frames=plan.card_frames,
                            size=size,
                            fps=fps,
                            workdir=work,
                        ),
                    )
                )
                jobs.append(
                    _Job(
                        CLIP_STAGE % {"number": i + 1, "total": n},
                        _CLIP_COST + _CLIP_COST_PER_SECOND * plan.clip_frames / fps,
                        functools.partial(
                            _cut_piece, clip, plan, piece, work, i, burn_captions, size, fps,
                            remaining,
                        ),
                    )
                )  # fmt: skip
            total_seconds = sum(p.card_frames + p.clip_frames for p in plans) / fps
            join_cost = _JOIN_COST + _JOIN_COST_PER_SECOND * total_seconds
            everything = sum(job.cost for job in jobs) + join_cost
            _run_jobs(jobs, lambda done, stage: report(done / everything, stage))
            report((everything - join_cost) / everything, N_("Joining the clips"))
            _check_pieces(pieces, [f for p in plans for f in (p.card_frames, p.clip_frames)], fps)
            _join(pieces, webvtt, work, tmp, remaining())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    report(1.0, N_("Session ready"))
    total_frames = sum(p.card_frames + p.clip_frames for p in plans)
    return Compilation(
        path=dest,
        duration=total_frames / fps,
        spans=tuple(p.span for p in plans),
        webvtt=webvtt,
    )


# --- planning ------------------------------------------------------------------------------


def _plan(
    clips: Sequence[SessionClip], *, card_seconds: float, size: tuple[int, int], fps: int
) -> list[_Plan]:
    """Check the arguments and work out every piece's length in frames, and its captions."""
    if not clips:
        raise ValueError("a session needs at least one clip")
    width, height = size
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError("size must be even and at least 64x64 pixels")
    if not 1 <= fps <= 120:
        raise ValueError("fps must be between 1 and 120")
    if not math.isfinite(card_seconds) or card_seconds * fps < 1:
        raise ValueError("title cards must last at least one frame")
    plans: list[_Plan] = []
    exact, position = 0.0, 0  # seconds as asked, and frames as planned
    for number, clip in enumerate(clips, start=1):
        check_times(clip.start, clip.end)
        if clip.kind not in KINDS:
            raise ValueError(f'clip {number}: kind must be "video" or "audio"')
        if not Path(clip.source).is_file():
            raise MediaError("missing", detail=f"clip {number}: no such file {clip.source}")
        # Each boundary is rounded to the nearest frame of the whole session, so rounding
        # never accumulates: the total stays within half a frame of clips + cards.
        card_start = position
        exact += card_seconds
        clip_start = max(round(exact * fps), card_start + 1)
        exact += clip.end - clip.start
        clip_end = round(exact * fps)
        if clip_end <= clip_start:
            raise ValueError(f"clip {number} is shorter than one frame")
        position = clip_end
        clip_frames = clip_end - clip_start
        # Cues are timed from the clip's start; the clip may be up to half a frame shorter
        # than asked, so they are cut off at its real end.
        length = clip_frames / fps
        cues = _trim_cues(
            make_cues(clip_words(clip.words, clip.start, clip.end), until=clip.end - clip.start),
            length,
        )
        plans.append(
            _Plan(
                card_frames=clip_start - card_start,
                clip_frames=clip_frames,
                span=CompiledSpan(card_start / fps, clip_start / fps, clip_end / fps),
                cues=tuple(cues),
            )
        )
    return plans


def _trim_cues(cues: Sequence[Cue], length: float) -> list[Cue]:
    """Cues cut off at `length` seconds, in whole milliseconds; cues starting after it go."""
    limit = math.floor(length * 1000 + 1e-6)
    kept: list[Cue] = []
    for cue in cues:
        start, end = round(cue.start * 1000), min(round(cue.end * 1000), limit)
        if end > start:
            kept.append(Cue(start / 1000, end / 1000, cue.lines, cue.words))
    return kept


def _session_cues(plans: Sequence[_Plan]) -> list[Cue]:
    """Every clip's cues moved to where the clip starts in the session, inside its span."""
    cues: list[Cue] = []
    for plan in plans:
        # Whole milliseconds inside the span, so the written WebVTT keeps every cue inside.
        first = math.ceil(plan.span.clip_start * 1000 - 1e-6)
        last = math.floor(plan.span.clip_end * 1000 + 1e-6)
        for cue in plan.cues:
            start = max(first, round((plan.span.clip_start + cue.start) * 1000))
            end = min(last, round((plan.span.clip_start + cue.end) * 1000))
            if end > start:
                words = tuple(shift_words(cue.words, plan.span.clip_start))
                cues.append(Cue(start / 1000, end / 1000, cue.lines, words))
    return cues


# Rough costs in seconds on 2 cores at 720p, to weight the progress fraction.
_CARD_COST: Final = 0.7
_CLIP_COST: Final = 0.3
_CLIP_COST_PER_SECOND: Final = 0.15
_JOIN_COST: Final = 0.5
_JOIN_COST_PER_SECOND: Final = 0.025
# Pieces are made two at a time. An ffmpeg encode already keeps about 1.75 of the 2 cores
# busy, but a title card (moviepy, mostly one Python thread) or a sound-only clip (a still
# picture) uses far less, and the pair overlaps the seek and setup of the next piece.
# Measured on 2 cores (bench/clips.py: three 30 s clips, cards, burned captions): 12.2 s, against
# 13.6 s one at a time.
PARALLEL_JOBS: Final = 2


@dataclass(frozen=True)
class _Job:
    stage: str  # said when the job starts, e.g. "Cutting clip 2 of 3"
    cost: float
    run: Callable[[], object]


def _run_jobs(jobs: Sequence[_Job], report: Callable[[float, str], None]) -> None:
    """Run `jobs` PARALLEL_JOBS at a time, in order; progress is reported from this thread.

    The first failure is raised once the jobs already running have finished (each ffmpeg has
    its own time limit); the jobs not yet started are dropped.
    """
    done = 0.0
    with ThreadPoolExecutor(max_workers=PARALLEL_JOBS, thread_name_prefix="compile") as pool:
        running: dict[Future[object], float] = {}
        try:
            for job in jobs:
                while len(running) >= PARALLEL_JOBS:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done += running.pop(future)
                        future.result()
                report(done, job.stage)
                running[pool.submit(job.run)] = job.cost
            for future in as_completed(list(running)):
                running.pop(future)
                future.result()
        except BaseException:
            for future in running:
                future.cancel()
            raise


# --- title cards (moviepy) -----------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@contextlib.contextmanager
def _closing_all(clips: list[Any]) -> Iterator[list[Any]]:
    try:
        yield clips
    finally:
        for clip in clips:
            clip.close()


def compose_card(
    title: str,
    lines: Sequence[str],
    *,
    size: tuple[int, int],
    palette: tuple[str, str] = DEFAULT_PALETTE,
) -> Any:
    """Compose a title card with moviepy; return its picture (height x width x 3 uint8 array).

    Large bold title, smaller lines below it, all centred and wrapped, cream on deep
    blue-grey (contrast above 10:1). Text that would not fit is made smaller.
    """
    from moviepy import ColorClip, CompositeVideoClip, TextClip

    width, height = size
    background, foreground = palette
    text_width = width - 2 * (width // 12)
    texts = [
        (title.strip(), FONT_BOLD, 1 / 11),
        *((t.strip(), FONT_REGULAR, 1 / 20) for t in lines),
    ]
    texts = [t for t in texts if t[0]]
    for scale in (1.0, 0.85, 0.7, 0.6, 0.5, 0.4, 0.3):
        last_try = scale == 0.3
        # moviepy's own "caption" wrapping can split a word and overflow the card, so the
        # text is wrapped here on word boundaries and drawn as a multi-line "label".
        wrapped = []
        for text, font, fraction in texts:
            px = max(12, round(height * fraction * scale))
            wrapped.append((_wrap(text, font, px, text_width, force=last_try), text, font, px))
        if not last_try and any(w is None for w, _, _, _ in wrapped):
            continue
        with _closing_all([]) as parts:
            for text_lines, text, font, px in wrapped:
                parts.append(
                    TextClip(
                        font=str(font),
                        text="\n".join(text_lines or text.split()),
                        font_size=px,
                        color=foreground,
                        method="label",
                        text_align="center",
                        interline=px // 4,
                        # Room below the last line for descenders (g, y, p).
                        margin=(0, px // 2),
                        duration=1,
                    )
                )
            gap = round(height * 0.04 * scale)
            used = sum(p.h for p in parts) + gap * max(0, len(parts) - 1)
            if used > height * 0.9 and not last_try:
                continue
            y = max(0, (height - used) // 2)
            placed = []
            for part in parts:
                placed.append(part.with_position(("center", y)))
                y += part.h + gap
            with (
                ColorClip(size, color=_rgb(background), duration=1) as back,
                CompositeVideoClip([back, *placed], size=size) as card,
            ):
                return card.get_frame(0)
    raise AssertionError("unreachable")  # pragma: no cover


def _wrap(text: str, font: Path, px: int, max_width: int, *, force: bool) -> list[str] | None:
    """Word-wrap `text` to `max_width` pixels at `px`.

    A word wider than a line gives None (try a smaller size), or with `force` is split.
    """
    from PIL import ImageFont

    face = ImageFont.truetype(str(font), px)
    pieces: list[str] = []
    for word in text.split():
        while face.getlength(word) > max_width:
            if not force:
                return None
            cut = max(1, len(word) - 1)
            while cut > 1 and face.getlength(word[:cut]) > max_width:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        pieces.append(word)
    lines: list[str] = []
    for piece in pieces:
        candidate = f"{lines[-1]} {piece}" if lines else piece
        if lines and face.getlength(candidate) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(piece)
    return lines


def write_title_card(
    dest: Path,
    *,
    title: str,
    lines: Sequence[str],
    frames: int,
    size: tuple[int, int],
    fps: int,
    workdir: Path,
) -> Path:
    """Write a silent title card of `frames` frames as a session piece (H.264 + PCM in MOV)."""
    import numpy as np
    from moviepy import AudioClip, ImageClip

    picture = compose_card(title, lines, size=size)
    # moviepy writes int(duration * fps) frames and int(duration * rate) samples; a hair over
    # the exact length stops floating point from dropping the last of either.
    seconds = frames / fps + 1e-9

    def silence(t: Any) -> Any:
        return np.zeros((len(t), 2)) if isinstance(t, np.ndarray) else np.zeros(2)

    with (
        AudioClip(silence, duration=seconds, fps=AUDIO_RATE) as quiet,
        ImageClip(picture, duration=seconds) as still,
        still.with_audio(quiet) as card,
    ):
        card.write_videofile(
            str(dest),
            fps=fps,
            codec="libx264",
            preset="ultrafast",
            audio_fps=AUDIO_RATE,
            audio_nbytes=2,
            audio_codec="pcm_s16le",
            # Its own folder: moviepy's default is the working directory, shared by all jobs.
            temp_audiofile_path=str(workdir),
            logger=None,
            ffmpeg_params=[*X264_ARGS, "-vf", f"scale={_TO_YUV},{_PIECE_TAIL}"],
        )
    return dest


# --- clips (ffmpeg) ------------------------------------------------------------------------


def _cut_piece(
    clip: SessionClip,
    plan: _Plan,
    dest: Path,
    work: Path,
    index: int,
    burn_captions: bool,
    size: tuple[int, int],
    fps: int,
    remaining: Callable[[], float],
) -> None:
    """Cut one clip as a session piece: exact start, `plan.clip_frames` frames, PCM sound."""
    width, height = size
    source = ["-ss", f"{clip.start:.6f}", "-protocol_whitelist", "file", "-f", "mov",
              "-i", file_url(clip.source)]  # fmt: skip
    if clip.kind == "video":
        inputs, maps = source, ["-map", "0:v:0", "-map", "0:a:0"]
        video_filter = (
            # start_time=0: pictures that start a little late repeat their first frame.
            f"fps={fps}:start_time=0,"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2:"
            f"{_TO_YUV},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,"
            # A story whose pictures end early holds its last picture to the end of the clip.
            "tpad=stop=-1:stop_mode=clone"
        )
    else:
        still = work / f"still_{index:03d}.png"
        _save_png(compose_card(clip.title, [N_("Sound only")], size=size), still)
        # One picture, converted once, then repeated by the loop filter: far quicker than
        # -loop 1, which decodes the PNG again for every frame.
        inputs = ["-protocol_whitelist", "file", "-f", "image2", "-framerate", str(fps),
                  "-i", file_url(still), *source]  # fmt: skip
        maps = ["-map", "0:v:0", "-map", "1:a:0"]
        video_filter = (
            f"scale={_TO_YUV},format=yuv420p,loop=loop=-1:size=1:start=0,setpts=N/({fps}*TB)"
        )
    video_filter += f",{_PIECE_TAIL}"
    if burn_captions and plan.cues:
        subtitles = work / f"captions_{index:03d}.ass"
        subtitles.write_text(_ass(plan.cues, size), encoding="utf-8")
        video_filter += (
            f",subtitles=filename={_filter_value(str(subtitles))}"
            f":fontsdir={_filter_value(str(_FONTS_DIR))}"
        )
    args = [
        *inputs, *maps, "-t", f"{plan.clip_frames / fps:.6f}",
        "-vf", video_filter, *X264_ARGS, "-r", str(fps),
        "-af", _AUDIO_FILTER, *_PCM_ARGS,
        "-map_metadata", "-1", "-f", "mov", "-y", file_url(dest),
    ]  # fmt: skip
    run_ffmpeg(args, timeout=remaining(), error_code="failed")


def _save_png(picture: Any, dest: Path) -> None:
    from PIL import Image

    Image.fromarray(picture).save(dest, "PNG")


def _filter_value(text: str) -> str:
    """Escape `text` as an option value inside an ffmpeg filtergraph (both levels)."""
    for char in "\\':":
        text = text.replace(char, "\\" + char)
    for char in "\\'[],;":
        text = text.replace(char, "\\" + char)
    return text


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _ass_text(line: str) -> str:
    # Braces start ASS override codes and a backslash starts an escape: show look-alikes.
    return " ".join(line.split()).replace("\\", "\u2216").replace("{", "(").replace("}", ")")


def _ass(cues: Sequence[Cue], size: tuple[int, int]) -> str:
    """An ASS subtitle script that libass draws large, on a dark box, at the bottom centre."""
    width, height = size
    font_px = round(height * _CAPTION_HEIGHT_FRACTION)
    margin = max(8, height // 24)
    # Colours are &HAABBGGRR, alpha 00 = opaque: white text on an opaque black box (each line
    # gets its own box; see-through boxes would show a darker band where two lines overlap).
    head = "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {width}",
            f"PlayResY: {height}",
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
            "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
            "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
            f"Style: Caption,DejaVu Sans,{font_px},&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,"
            f"0,0,0,0,100,100,0,0,3,{max(2, font_px // 6)},0,2,{margin},{margin},{margin},1",
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        ]
    )
    events = [
        f"Dialogue: 0,{_ass_time(c.start)},{_ass_time(c.end)},Caption,,0,0,0,,"
        + "\\N".join(_ass_text(line) for line in c.lines)
        for c in cues
    ]
    return head + "\n" + "\n".join(events) + "\n"


# --- joining -------------------------------------------------------------------------------


def _check_pieces(pieces: Sequence[Path], frames: Sequence[int], fps: int) -> None:
    """Refuse to join pieces that would not play back correctly after a stream copy.

    Each must have exactly its planned number of frames, sound as long as its pictures, and
    the same H.264 headers as the first (a title card written by a different ffmpeg build
    could differ, and a stream copy would then show garbage).
    """
    import av  # PyAV, on our own intermediate files

    headers: bytes | None = None
    for piece, wanted in zip(pieces, frames, strict=True):
        try:
            with av.open(str(piece)) as container:
                video = container.streams.video[0]
                audio = container.streams.audio[0]
                extradata = bytes(video.codec_context.extradata or b"")
                pictures = video.frames
                sound = 0.0
                if audio.duration and audio.time_base:
                    sound = float(audio.duration * audio.time_base)
        except (OSError, IndexError, av.FFmpegError) as exc:
            raise MediaError("failed", detail=f"unreadable piece {piece.name}: {exc}") from exc
        # Sound to the sample (a frame rate that doesn't divide 48000 can round by one).
        if pictures != wanted or abs(sound - wanted / fps) > 1.5 / AUDIO_RATE:
            raise MediaError(
                "failed",
                detail=f"{piece.name}: {pictures} frames and {sound:.4f}s of sound, "
                f"expected {wanted} frames (is the start past the end of the story?)",
            )
        if headers is None:
            headers = extradata
        elif extradata != headers:
            raise MediaError("failed", detail=f"{piece.name} was encoded with other settings")


def _join(pieces: Sequence[Path], webvtt: str, work: Path, dest: Path, timeout: float) -> None:
    """Join the pieces by stream copy, encode the sound to AAC once, add the caption track."""
    listing = work / "pieces.ffconcat"
    # Plain names in the same folder: the concat demuxer's safe mode accepts nothing else.
    listing.write_text(
        "ffconcat version 1.0\n" + "".join(f"file '{p.name}'\n" for p in pieces),
        encoding="utf-8",
    )
    args = ["-protocol_whitelist", "file", "-f", "concat", "-safe", "1", "-i", file_url(listing)]
    maps = ["-map", "0:v:0", "-map", "0:a:0"]
    captions: list[str] = []
    if "-->" in webvtt:
        vtt = work / "captions.vtt"
        vtt.write_text(webvtt, encoding="utf-8")
        args += ["-protocol_whitelist", "file", "-f", "webvtt", "-i", file_url(vtt)]
        maps += ["-map", "1:s:0"]
        # A soft track too, so VLC and other players can show or hide the captions.
        captions = ["-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    run_ffmpeg(
        [*args, *maps, "-c:v", "copy", *AAC_ARGS, *captions,
         "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", "-y", file_url(dest)],
        timeout=timeout,
        error_code="failed",
    )  # fmt: skip
