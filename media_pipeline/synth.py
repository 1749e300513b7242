"""Make real spoken media from text (espeak-ng + Pillow + ffmpeg) for demo data and tests."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from .errors import MediaError
from .ffmpeg import file_url, run_ffmpeg, run_process
from .thumbnail import ProgressCallback

FONT_REGULAR: Final = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD: Final = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# Deep blue-grey with warm cream text: calm, and a contrast ratio above 10:1.
DEFAULT_PALETTE: Final = ("#1d3b4a", "#f6f1e7")
# Stills only change between paragraphs, so a low frame rate costs nothing in quality and
# keeps encoding quick; a keyframe every 5 s keeps seeking in the browser responsive.
_FPS: Final = 5
_GOP: Final = 5 * _FPS
_PAUSE_SECONDS: Final = 0.6  # Silence after each paragraph, so slides don't feel rushed.


def espeak_exe() -> str:
    """Return the espeak-ng program: $STORYHUB_ESPEAK if set, else the one on PATH."""
    exe = os.environ.get("STORYHUB_ESPEAK") or shutil.which("espeak-ng")
    if not exe:
        raise MediaError("failed", detail="espeak-ng is not installed")
    return exe


def speak(
    text: str,
    dest_wav: Path,
    *,
    voice: str = "en-gb",
    words_per_minute: int = 150,
    timeout: float = 60,
) -> Path:
    """Speak `text` with espeak-ng into a mono WAV at `dest_wav` (voice "cy" for Welsh)."""
    if not text.strip():
        raise ValueError("text to speak is empty")
    dest_wav = Path(dest_wav)
    dest_wav.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest_wav.with_name(f".{dest_wav.name}.{uuid.uuid4().hex}.tmp.wav")
    try:
        # Text goes in on stdin: no argv length limit, and a leading "-" can't become an option.
        result = run_process(
            [
                espeak_exe(),
                "-v",
                voice,
                "-s",
                str(int(words_per_minute)),
                "-b",
                "1",
                "-w",
                str(tmp),
                "--stdin",
            ],
            timeout=timeout,
            stdin_data=text.encode("utf-8"),
        )
        if not result.ok or not tmp.exists() or tmp.stat().st_size <= 44:
            raise MediaError("failed", detail=f"espeak-ng failed: {result.stderr.strip()}")
        os.replace(tmp, dest_wav)
    finally:
        tmp.unlink(missing_ok=True)
    return dest_wav


def render_story(
    dest: Path,
    *,
    title: str,
    paragraphs: Sequence[str],
    voice: str = "en-gb",
    palette: tuple[str, str] = DEFAULT_PALETTE,
    size: tuple[int, int] = (1280, 720),
    audio_only: bool = False,
    words_per_minute: int = 150,
    timeout: float = 300,
    progress: ProgressCallback | None = None,
) -> Path:
    """Render a spoken "digital story" (H.264/AAC MP4 of captioned slides, or M4A) to `dest`."""
    texts = [p.strip() for p in paragraphs if p.strip()]
    if not texts:
        raise ValueError("a story needs at least one non-empty paragraph")
    width, height = size[0] // 2 * 2, size[1] // 2 * 2  # yuv420p needs even sizes
    if width < 64 or height < 64:
        raise ValueError("size is too small")
    deadline = time.monotonic() + timeout
    report = progress or (lambda _fraction, _stage: None)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise MediaError("timeout", detail="render_story ran out of time")
        return left

    try:
        with tempfile.TemporaryDirectory(prefix="storyhub-render-") as workdir:
            work = Path(workdir)
            segments: list[Path] = []
            for i, text in enumerate(texts):
                report(0.4 * i / len(texts), f"speaking paragraph {i + 1}")
                segments.append(
                    speak(
                        text,
                        work / f"say_{i:03d}.wav",
                        voice=voice,
                        words_per_minute=words_per_minute,
                        timeout=remaining(),
                    )
                )
            narration = work / "narration.wav"
            durations = _join_wavs(segments, narration, pause=_PAUSE_SECONDS)
            total = sum(durations)

            audio_args = ["-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-ac", "1"]
            if audio_only:
                report(0.6, "encoding audio")
                args = ["-i", file_url(narration), *audio_args, "-f", "ipod"]
            else:
                report(0.45, "drawing slides")
                listing = work / "slides.ffconcat"
                _draw_slides(work, title, texts, durations, palette, (width, height), listing)
                report(0.6, "encoding video")
                args = [
                    "-f", "concat", "-i", file_url(listing),
                    "-i", file_url(narration),
                    "-map", "0:v", "-map", "1:a",
                    "-vf", f"fps={_FPS},format=yuv420p",
                    "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
                    "-crf", "23", "-g", str(_GOP), "-pix_fmt", "yuv420p",
                    *audio_args, "-t", f"{total:.3f}", "-f", "mp4",
                ]  # fmt: skip
            run_ffmpeg(
                [*args, "-movflags", "+faststart", "-y", file_url(tmp_out)],
                timeout=remaining(),
            )
        os.replace(tmp_out, dest)
    finally:
        tmp_out.unlink(missing_ok=True)
    report(1.0, "done")
    return dest


def _join_wavs(parts: Sequence[Path], dest: Path, *, pause: float) -> list[float]:
    """Concatenate same-format WAVs with a pause after each; return each part's seconds."""
    durations: list[float] = []
    with wave.open(str(parts[0]), "rb") as first:
        params = first.getparams()
    silence = b"\x00" * (int(params.framerate * pause) * params.sampwidth * params.nchannels)
    with wave.open(str(dest), "wb") as out:
        out.setparams(params)
        for part in parts:
            with wave.open(str(part), "rb") as src:
                if (src.getframerate(), src.getnchannels(), src.getsampwidth()) != (
                    params.framerate,
                    params.nchannels,
                    params.sampwidth,
                ):
                    raise MediaError("failed", detail=f"{part.name} has a different format")
                frames = src.readframes(src.getnframes())
            out.writeframes(frames + silence)
            n = len(frames) // (params.sampwidth * params.nchannels)
            durations.append(n / params.framerate + pause)
    return durations


def _draw_slides(
    work: Path,
    title: str,
    texts: Sequence[str],
    durations: Sequence[float],
    palette: tuple[str, str],
    size: tuple[int, int],
    listing: Path,
) -> None:
    """Draw one PNG per paragraph and write an ffconcat list that shows each for its duration."""
    lines = ["ffconcat version 1.0"]
    name = ""
    for i, (text, seconds) in enumerate(zip(texts, durations, strict=True)):
        name = f"slide_{i:03d}.png"
        draw_slide(work / name, title=title, text=text, palette=palette, size=size)
        lines += [f"file '{name}'", f"duration {seconds:.3f}"]
    # The concat demuxer only honours the last duration if the last file is listed again.
    lines.append(f"file '{name}'")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")


def draw_slide(
    dest: Path,
    *,
    title: str,
    text: str,
    palette: tuple[str, str] = DEFAULT_PALETTE,
    size: tuple[int, int] = (1280, 720),
) -> Path:
    """Draw a calm, high-contrast slide: small title at the top, large paragraph text below."""
    width, height = size
    background, foreground = palette
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    margin = width // 14
    title_font = ImageFont.truetype(str(FONT_BOLD), max(12, height // 22))
    title_line = _fit_lines(draw, title, title_font, width - 2 * margin, 1)[0]
    draw.text((margin, margin * 0.7), title_line, font=title_font, fill=foreground)
    rule_y = int(margin * 0.7 + height // 22 * 1.6)
    draw.rectangle(
        (margin, rule_y, margin + width // 10, rule_y + max(2, height // 180)), fill=foreground
    )

    # Largest size (down to a readable minimum) at which the text fits the space below.
    top, bottom = rule_y + height // 12, height - margin
    for px in range(height // 12, height // 24 - 1, -max(1, height // 180)):
        font = ImageFont.truetype(str(FONT_REGULAR), px)
        line_h = int(px * 1.35)
        max_lines = max(1, (bottom - top) // line_h)
        lines = _fit_lines(draw, text, font, width - 2 * margin, max_lines)
        if not lines[-1].endswith("…"):
            break
    y = top + max(0, (bottom - top - line_h * len(lines)) // 2)
    for line in lines:
        draw.text((margin, y), line, font=font, fill=foreground)
        y += line_h
    img.save(dest, "PNG", optimize=False)
    return dest


def _fit_lines(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont,
    max_width: int,
    max_lines: int,
) -> list[str]:
    """Word-wrap `text` to `max_width`; if it needs more than `max_lines`, end with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > max_width:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = last + "…"
    return lines or [""]
