"""Clips benchmark: exact clip cutting and session compilation against plain moviepy, in one run.

    .venv/bin/python bench/clips.py                # 5-minute 720p story, 3 timed runs of ours
    .venv/bin/python bench/clips.py --repeat 1     # a quicker look

Makes a 5-minute 1280x720 25 fps H.264/AAC upload (ffmpeg testsrc2 and a tone; x264 veryfast,
CRF 23, x264's default GOP, AAC 128k, fast start) with synthetic timed words (one every 0.4 s) in
a temporary folder, and the story's web copy from it with media_pipeline.rendition.make_rendition,
as the product does at upload (timed: that cost moved from clips to upload processing). Clips are
always cut from the web copy. Then times:

(a) media_pipeline.clips.cut_clip of a 30 s clip whose bounds are word boundaries, from the web
    copy (a smart cut), against moviepy's default
    `VideoFileClip(src).subclipped(a, b).write_videofile(out)` of the same copy (only
    `logger=None` and a private `temp_audiofile_path` added). Goal: at least 10x faster.
    cut_clip also cuts the same clip from the upload itself, which is what a web copy made
    before renditions were always encoded looks like: it falls back to the full encode. The
    same full encode with other x264 presets (plain ffmpeg, cut_clip's arguments otherwise)
    shows why its preset was chosen.
(b) media_pipeline.compile.compile_session of three 30 s clips with 3 s title cards and burned
    captions, against a plain moviepy composition of the same (TextClip cards, subclips with
    caption TextClips composited over them, concatenate_videoclips, default write_videofile).
    Goal: at least 2x faster. compile_session also runs once making one piece at a time, to show
    what making two at a time gives.

Every output's length is checked with PyAV and printed, and so is the way cut_clip went (from its
log). moviepy is imported before any timing,
so neither side pays for it. Exits 1 if a goal is missed or something fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The benchmark uses the same ffmpeg as moviepy (imageio-ffmpeg's), whatever the shell says.
for _name in [k for k in os.environ if k.startswith("STORYHUB_")]:
    del os.environ[_name]

import logging  # noqa: E402

import av  # noqa: E402

from media_pipeline import compile as compile_module  # noqa: E402
from media_pipeline.captions import clip_words, make_cues  # noqa: E402
from media_pipeline.clips import X264_ARGS, cut_clip  # noqa: E402
from media_pipeline.compile import SessionClip, compile_session  # noqa: E402
from media_pipeline.ffmpeg import file_url, run_ffmpeg  # noqa: E402
from media_pipeline.probe import probe  # noqa: E402
from media_pipeline.rendition import make_rendition  # noqa: E402
from media_pipeline.synth import DEFAULT_PALETTE, FONT_BOLD, FONT_REGULAR  # noqa: E402
from media_pipeline.transcribe import Word  # noqa: E402

SIZE = (1280, 720)
FPS = 25
CARD_SECONDS = 3.0
WORD_EVERY = 0.4
CUT_GOAL = 10.0
SESSION_GOAL = 2.0
MB = 1024 * 1024


def make_upload(path: Path, seconds: float) -> None:
    """An H.264/AAC upload: testsrc2 + a tone, x264 veryfast CRF 23, AAC 128k, fast start."""
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s={SIZE[0]}x{SIZE[1]}:r={FPS}:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest",
         "-movflags", "+faststart", "-f", "mp4", "-y", file_url(path)],
        timeout=1800,
    )  # fmt: skip


def make_words(seconds: float) -> tuple[Word, ...]:
    """One word every 0.4 s (0.3 s long, off the frame grid), a sentence every 10 words."""
    count = int((seconds - 0.5) / WORD_EVERY)
    return tuple(
        Word(
            0.013 + i * WORD_EVERY, 0.313 + i * WORD_EVERY, f" word{i}{'.' if i % 10 == 9 else ''}"
        )
        for i in range(count)
    )


def word_bounds(words: tuple[Word, ...], first: int, seconds: float) -> tuple[float, float]:
    """From the start of word `first` to the end of the last word that fits in `seconds`."""
    last = first + int(seconds / WORD_EVERY) - 1
    return words[first].start, words[last].end


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def lengths(path: Path) -> tuple[float, float, float]:
    """Container, video and audio durations (s), read with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0]

        def seconds(stream: av.stream.Stream | None) -> float:
            if stream is None or not stream.duration or not stream.time_base:
                return float("nan")
            return float(stream.duration * stream.time_base)

        return (container.duration or 0) / 1e6, seconds(video), seconds(audio)


# --- moviepy baselines ---------------------------------------------------------------------


def moviepy_cut(src: Path, dest: Path, start: float, end: float, tmp: Path) -> None:
    from moviepy import VideoFileClip

    with VideoFileClip(str(src)) as video, video.subclipped(start, end) as clip:
        clip.write_videofile(str(dest), logger=None, temp_audiofile_path=str(tmp))


def moviepy_session(clips: list[SessionClip], dest: Path, tmp: Path) -> None:
    """The same session composed the plain moviepy way, written with write_videofile defaults."""
    from moviepy import (
        ColorClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        concatenate_videoclips,
    )

    width, height = SIZE
    background = tuple(int(DEFAULT_PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    foreground = DEFAULT_PALETTE[1]
    to_close: list = []
    parts = []
    try:
        for clip in clips:
            title = TextClip(font=str(FONT_BOLD), text=clip.title, font_size=height // 11,
                             color=foreground, method="caption", size=(width * 5 // 6, None),
                             text_align="center", duration=CARD_SECONDS)  # fmt: skip
            lines = TextClip(font=str(FONT_REGULAR), text="\n".join(clip.card_lines),
                             font_size=height // 20, color=foreground, method="label",
                             text_align="center", duration=CARD_SECONDS)  # fmt: skip
            back = ColorClip(SIZE, color=background, duration=CARD_SECONDS)
            card = CompositeVideoClip(
                [back, title.with_position(("center", height // 4)),
                 lines.with_position(("center", height * 3 // 5))], size=SIZE,
            )  # fmt: skip
            video = VideoFileClip(str(clip.source))
            sub = video.subclipped(clip.start, clip.end)
            captions = []
            for cue in make_cues(clip_words(clip.words, clip.start, clip.end),
                                 until=clip.end - clip.start):  # fmt: skip
                text = TextClip(font=str(FONT_REGULAR), text="\n".join(cue.lines),
                                font_size=round(height / 14), color="white", bg_color="black",
                                method="label", text_align="center",
                                duration=cue.end - cue.start)  # fmt: skip
                captions.append(
                    text.with_start(cue.start).with_position(("center", height - text.h - 30))
                )
            captioned = CompositeVideoClip([sub, *captions], size=SIZE)
            to_close += [title, lines, back, card, video, sub, *captions, captioned]
            parts += [card, captioned]
        final = concatenate_videoclips(parts)
        to_close.append(final)
        final.write_videofile(str(dest), logger=None, temp_audiofile_path=str(tmp))
    finally:
        for item in to_close:
            item.close()


# --- the run -------------------------------------------------------------------------------


class PathLog(logging.Handler):
    """Keeps the messages in which cut_clip says which way it cut (smart or full encode)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def preset_args(src: Path, dest: Path, start: float, end: float, preset: str) -> list[str]:
    """cut_clip's full-encode arguments with another x264 preset (and its deblocking choice)."""
    x264 = list(X264_ARGS)
    x264[x264.index("-preset") + 1] = preset
    if preset != "ultrafast":  # the other presets deblock anyway
        i = x264.index("-x264-params")
        del x264[i : i + 2]
    return ["-ss", f"{start:.6f}", "-protocol_whitelist", "file", "-f", "mov",
            "-i", file_url(src), "-t", f"{end - start:.6f}", "-map", "0:a:0", "-map", "0:v:0",
            "-fps_mode", "passthrough", "-enc_time_base:v", "demux", *x264,
            "-c:a", "aac", "-b:a", "128k", "-map_metadata", "-1",
            "-movflags", "+faststart", "-f", "mp4", "-y", file_url(dest)]  # fmt: skip


def ffmpeg_version() -> str:
    result = run_ffmpeg(["-version"], timeout=30)
    return result.stdout.decode("utf-8", "replace").split()[2]


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the `finally` in main() cleans up on SIGTERM too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each of ours")
    parser.add_argument("--workdir", type=Path, default=None, help="where temp files go")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)

    import moviepy  # noqa: F401  (before any timing: neither side should pay for the import)

    load_start = os.getloadavg()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="storyhub-bench-clips-", dir=args.workdir))
    problems: list[str] = []
    try:
        seconds = args.minutes * 60
        upload = root / "upload.mp4"
        made = timed(lambda: make_upload(upload, seconds))
        words = make_words(seconds)
        print(f"Upload: {seconds:.0f} s {SIZE[0]}x{SIZE[1]} {FPS} fps, {len(words)} words, "
              f"{upload.stat().st_size / MB:.0f} MB (made in {made:.0f} s)",
              flush=True)  # fmt: skip
        info = probe(upload)
        src = root / "story.mp4"
        rendition_time = timed(lambda: make_rendition(upload, src, info))
        print(f"make_rendition: {rendition_time:.1f} s, {src.stat().st_size / MB:.0f} MB",
              flush=True)  # fmt: skip

        # (a) one cut
        a, b = word_bounds(words, int(seconds * 0.4 / WORD_EVERY), args.clip_seconds)
        ways = PathLog()
        clips_log = logging.getLogger("media_pipeline.clips")
        clips_log.addHandler(ways)
        clips_log.setLevel(logging.INFO)
        ours_cut = [
            timed(lambda: cut_clip(src, root / "cut.mp4", a, b, kind="video"))
            for _ in range(args.repeat)
        ]
        print(f"cut_clip {a:.3f}-{b:.3f} s (web copy): {', '.join(f'{t:.2f}' for t in ours_cut)} s",
              flush=True)  # fmt: skip
        full_cut = [
            timed(lambda: cut_clip(upload, root / "cut-full.mp4", a, b, kind="video"))
            for _ in range(args.repeat)
        ]
        clips_log.removeHandler(ways)
        print(f"cut_clip {a:.3f}-{b:.3f} s (upload): {', '.join(f'{t:.2f}' for t in full_cut)} s",
              flush=True)  # fmt: skip
        way_smart, way_full = ways.messages[0], ways.messages[-1]
        for way in ways.messages:
            print(f"  {way}", flush=True)
        if not all("smart cut (" in m for m in ways.messages[: args.repeat]):
            problems.append("cut_clip did not smart-cut the web copy")
        presets: dict[str, list[float]] = {}
        preset_sizes: dict[str, float] = {}
        for preset in ("ultrafast", "superfast", "veryfast"):
            dest = root / f"preset-{preset}.mp4"
            presets[preset] = [
                timed(
                    lambda p=preset, d=dest: run_ffmpeg(preset_args(src, d, a, b, p), timeout=600)
                )
                for _ in range(args.repeat)
            ]
            preset_sizes[preset] = dest.stat().st_size / MB
            print(f"  preset {preset}: {statistics.median(presets[preset]):.2f} s, "
                  f"{preset_sizes[preset]:.1f} MB", flush=True)  # fmt: skip
        theirs_cut = timed(lambda: moviepy_cut(src, root / "cut-moviepy.mp4", a, b, root))
        print(f"moviepy cut: {theirs_cut:.1f} s", flush=True)

        # (b) a session of three clips with title cards and burned captions
        session: list[SessionClip] = []
        for n, fraction in enumerate((0.1, 0.45, 0.8), start=1):
            start, end = word_bounds(words, int(seconds * fraction / WORD_EVERY), args.clip_seconds)
            session.append(SessionClip(
                src, "video", start, end, f"Clip {n}: what happened when I came home",
                ("A benchmark story", "Told by Mary", "Shared for: training"), words,
            ))  # fmt: skip

        def ours_session() -> None:
            compile_session(session, root / "session.mp4", card_seconds=CARD_SECONDS,
                            burn_captions=True, size=SIZE, fps=FPS)  # fmt: skip

        ours_compile = [timed(ours_session) for _ in range(args.repeat)]
        print(f"compile_session: {', '.join(f'{t:.1f}' for t in ours_compile)} s", flush=True)
        compile_module.PARALLEL_JOBS = 1  # type: ignore[misc]
        one_at_a_time = timed(ours_session)
        compile_module.PARALLEL_JOBS = 2  # type: ignore[misc]
        print(f"compile_session, one piece at a time: {one_at_a_time:.1f} s", flush=True)
        theirs_compile = timed(lambda: moviepy_session(session, root / "session-moviepy.mp4", root))
        print(f"moviepy session: {theirs_compile:.1f} s", flush=True)

        cut_length = b - a
        session_length = sum(c.end - c.start for c in session) + len(session) * CARD_SECONDS
        outputs = [
            ("cut_clip", root / "cut.mp4", cut_length),
            ("cut_clip, full encode", root / "cut-full.mp4", cut_length),
            ("moviepy cut", root / "cut-moviepy.mp4", cut_length),
            ("compile_session", root / "session.mp4", session_length),
            ("moviepy session", root / "session-moviepy.mp4", session_length),
        ]
        checked = [(name, path, want, *lengths(path), path.stat().st_size / MB)
                   for name, path, want in outputs]  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)

    load_end = os.getloadavg()
    cut_median, compile_median = statistics.median(ours_cut), statistics.median(ours_compile)
    full_median = statistics.median(full_cut)
    cut_ratio, session_ratio = theirs_cut / cut_median, theirs_compile / compile_median
    print()
    print(f"{dt.date.today().isoformat()}  {platform.node()}  {os.cpu_count()} CPUs  "
          f"Python {platform.python_version()}  moviepy {version('moviepy')}  "
          f"PyAV {av.__version__}  ffmpeg {ffmpeg_version()}")  # fmt: skip
    print("Load average (1, 5, 15 min): "
          f"{' '.join(f'{x:.2f}' for x in load_start)} at the start, "
          f"{' '.join(f'{x:.2f}' for x in load_end)} at the end; "
          f"whole run {time.perf_counter() - started:.0f} s.\n")  # fmt: skip
    print(f"make_rendition of the {seconds:.0f} s upload: {rendition_time:.1f} s "
          f"({seconds / rendition_time:.1f}x real time)\n")  # fmt: skip
    print(f"cut_clip, web copy: {way_smart}")
    print(f"cut_clip, upload: {way_full}\n")
    print(f"| job | storyhub (median of {args.repeat}) | moviepy, defaults | ratio | goal |")
    print("|---|---|---|---|---|")
    for job, ours, theirs, ratio, goal in (
        (f"{cut_length:.1f} s exact cut", cut_median, theirs_cut, cut_ratio, CUT_GOAL),
        ("session: 3 clips + 3 s cards, burned captions", compile_median, theirs_compile,
         session_ratio, SESSION_GOAL),
    ):  # fmt: skip
        verdict = "met" if ratio >= goal else "**MISSED**"
        print(f"| {job} | {ours:.2f} s | {theirs:.1f} s | {ratio:.1f}x | {goal:g}x: {verdict} |")
    print(f"| the same cut, full encode (from the upload) | {full_median:.2f} s "
          f"| {theirs_cut:.1f} s | {theirs_cut / full_median:.1f}x | |")  # fmt: skip
    print(f"\ncompile_session making one piece at a time: {one_at_a_time:.1f} s "
          f"(two at a time: {compile_median:.1f} s)\n")  # fmt: skip
    print(f"| x264 preset (the cut above, plain ffmpeg) | median of {args.repeat} | size |")
    print("|---|---|---|")
    for preset, times in presets.items():
        print(f"| {preset} | {statistics.median(times):.2f} s | {preset_sizes[preset]:.1f} MB |")
    print("\n| output | expected | container | video | audio | size |")
    print("|---|---|---|---|---|---|")
    for name, _path, want, whole, video, audio, size in checked:
        print(f"| {name} | {want:.3f} s | {whole:.3f} s | {video:.3f} s | {audio:.3f} s "
              f"| {size:.1f} MB |")  # fmt: skip
        if name.startswith(("cut_clip", "compile_session")) and abs(whole - want) > 2 / FPS:
            problems.append(f"{name} lasts {whole:.3f} s, expected {want:.3f} s")
    print()
    if cut_ratio < CUT_GOAL:
        problems.append(f"cut goal missed: {cut_ratio:.1f}x, goal {CUT_GOAL:g}x")
    if session_ratio < SESSION_GOAL:
        problems.append(f"session goal missed: {session_ratio:.1f}x, goal {SESSION_GOAL:g}x")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
