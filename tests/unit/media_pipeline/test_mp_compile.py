"""Session compilation: title cards (moviepy) and exact clips (ffmpeg) joined into one MP4 of
the right length, with sound throughout and in sync, captions that stay inside their clips
(soft track, WebVTT, and burned in on request), and progress in plain words."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import av
import numpy as np
import pytest

from media_pipeline.compile import Compilation, SessionClip, compile_session
from media_pipeline.errors import MediaError
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from media_pipeline.synth import DEFAULT_PALETTE
from media_pipeline.transcribe import Word

FPS = 25
FRAME = 1 / FPS
SIZE = (320, 180)
CARD = 1.0
SECONDS = 12
# One word every 0.4 s, a sentence every 8 words: cues all through every clip.
WORDS = tuple(
    Word(i * 0.4, i * 0.4 + 0.3, f" word{i}{'.' if i % 8 == 7 else ''}")
    for i in range(int(SECONDS / 0.4))
)


def _make_sources(folder: Path) -> tuple[Path, Path]:
    video, sound = folder / "story.mp4", folder / "story.m4a"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d={SECONDS}",
         "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(4 * FPS),
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-f", "mp4", "-y", file_url(video)],
        timeout=60,
    )  # fmt: skip
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=f=660:r=44100:d={SECONDS}",
         "-c:a", "aac", "-b:a", "96k", "-f", "ipod", "-y", file_url(sound)],
        timeout=60,
    )  # fmt: skip
    return video, sound


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _make_sources(tmp_path_factory.mktemp("compile-sources"))


def _clips(sources: tuple[Path, Path]) -> list[SessionClip]:
    video, sound = sources
    return [
        SessionClip(video, "video", 1.2, 4.0, "Coming home", ("A story", "Told by Mary"), WORDS),
        SessionClip(sound, "audio", 2.0, 4.6, "The night carers", ("Told by Bob",), WORDS),
        SessionClip(video, "video", 6.4, 9.2, "Being listened to", ("Shared for: training",),
                    WORDS),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def compiled(
    sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Compilation, list[tuple[float, str]]]:
    progress: list[tuple[float, str]] = []
    dest = tmp_path_factory.mktemp("compiled") / "session" / "session.mp4"
    result = compile_session(
        _clips(sources), dest, card_seconds=CARD, size=SIZE, fps=FPS,
        progress=lambda f, s: progress.append((f, s)),
    )  # fmt: skip
    return result, progress


def _frame_at(path: Path, t: float) -> np.ndarray:
    """The decoded RGB picture shown at `t` seconds."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if float(frame.time) >= t - 1e-6:
                return frame.to_ndarray(format="rgb24").astype(np.int16)
    raise AssertionError(f"no frame at {t}")


def _loudness(path: Path, start: float, end: float) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [
            np.abs(frame.to_ndarray()).mean()
            for frame in container.decode(stream)
            if start <= float(frame.time) < end
        ]
    return float(np.mean(chunks)) if chunks else 0.0


def _vtt_cues(webvtt: str) -> list[tuple[float, float]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [
        (seconds(a), seconds(b))
        for a, b in re.findall(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", webvtt,
                               flags=re.M)
    ]  # fmt: skip


def test_the_session_lasts_clips_plus_cards_with_sound_throughout(
    compiled: tuple[Compilation, list[tuple[float, str]]], sources: tuple[Path, Path]
) -> None:
    result, _ = compiled
    expected = sum(c.end - c.start for c in _clips(sources)) + 3 * CARD
    assert result.path.exists() and result.path.name == "session.mp4"
    assert abs(result.duration - expected) <= 2 * FRAME
    with av.open(str(result.path)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - expected) <= 2 * FRAME
        kinds = {s.type: s for s in container.streams}
        video, audio = kinds["video"], kinds["audio"]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert (video.codec_context.width, video.codec_context.height) == SIZE
        assert abs(video.frames - expected * FPS) <= 2
        assert abs(float(audio.duration * audio.time_base) - expected) <= 2 * FRAME
        subtitles = kinds["subtitle"]
        assert subtitles.codec_context.name == "mov_text"
        assert subtitles.language == "eng"
    data = result.path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # fast start
    assert not [p for p in result.path.parent.iterdir() if p.name != "session.mp4"]


def test_spans_follow_each_other_and_sound_is_where_the_clips_are(
    compiled: tuple[Compilation, list[tuple[float, str]]], sources: tuple[Path, Path]
) -> None:
    result, _ = compiled
    spans = result.spans
    assert len(spans) == 3 and spans[0].card_start == 0.0
    for clip, span in zip(_clips(sources), spans, strict=True):
        assert abs(span.clip_start - span.card_start - CARD) <= FRAME
        assert abs(span.clip_end - span.clip_start - (clip.end - clip.start)) <= FRAME
        # Silent title card, then the clip's tone: the sound is in step with the pictures.
        assert _loudness(result.path, span.card_start + 0.1, span.clip_start - 0.1) < 0.001
        assert _loudness(result.path, span.clip_start + 0.1, span.clip_end - 0.1) > 0.05
    for before, after in itertools.pairwise(spans):
        assert after.card_start == before.clip_end
    assert abs(spans[-1].clip_end - result.duration) < 1e-9


def test_clips_start_on_the_exact_source_frame_and_cards_are_cards(
    compiled: tuple[Compilation, list[tuple[float, str]]], sources: tuple[Path, Path]
) -> None:
    result, _ = compiled
    clips = _clips(sources)
    background = np.array([int(DEFAULT_PALETTE[0][i : i + 2], 16) for i in (1, 3, 5)])
    for clip, span in zip(clips, result.spans, strict=True):
        card = _frame_at(result.path, span.card_start + 0.5)
        assert np.abs(card[2, 2] - background).max() < 12  # the card's background colour
        if clip.kind == "video":
            got = _frame_at(result.path, span.clip_start)
            diffs = {
                t: float(np.abs(got - _frame_at(clip.source, t)).mean())
                for t in (clip.start - FRAME, clip.start, clip.start + FRAME)
            }
            assert diffs[clip.start] < 3.0, diffs
            assert diffs[clip.start] < min(d for t, d in diffs.items() if t != clip.start) / 2, (
                diffs
            )
        else:
            # Sound only: a still picture on the card's background.
            still = _frame_at(result.path, span.clip_start + 0.5)
            assert np.abs(still[2, 2] - background).max() < 12


def test_every_caption_lies_inside_its_clip(
    compiled: tuple[Compilation, list[tuple[float, str]]],
) -> None:
    result, _ = compiled
    cues = _vtt_cues(result.webvtt)
    assert result.webvtt.startswith("WEBVTT")
    assert len(cues) >= 5
    for start, end in cues:
        assert start < end
        assert any(s.clip_start <= start and end <= s.clip_end for s in result.spans), (start, end)
    # Each clip has captions, and the first starts with its clip (the words run throughout).
    for span in result.spans:
        starts = [s for s, _ in cues if span.clip_start <= s < span.clip_end]
        assert starts and min(starts) - span.clip_start < 0.4
    # The soft track carries the same cues.
    with av.open(str(result.path)) as container:
        stream = container.streams.subtitles[0]
        packets = [p for p in container.demux(stream) if p.size]
        soft = [float(p.pts * stream.time_base) for p in packets]
    for start, _ in cues:
        assert any(abs(start - t) < 0.002 for t in soft), start


def test_progress_is_in_plain_words_and_rises_to_one(
    compiled: tuple[Compilation, list[tuple[float, str]]],
) -> None:
    _, progress = compiled
    fractions = [f for f, _ in progress]
    stages = [s for _, s in progress]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert 0.0 < fractions[-2] < 1.0
    for stage in ("Making title card 1 of 3", "Cutting clip 2 of 3", "Joining the clips"):
        assert stage in stages


def test_burned_captions_change_the_bottom_of_the_picture(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    clip = _clips(sources)[0]
    plain = compile_session([clip], tmp_path / "plain.mp4", card_seconds=CARD, size=SIZE, fps=FPS)
    burned = compile_session(
        [clip], tmp_path / "burned.mp4", card_seconds=CARD, size=SIZE, fps=FPS, burn_captions=True
    )
    assert burned.webvtt == plain.webvtt
    cue_start, cue_end = _vtt_cues(burned.webvtt)[0]
    t = (cue_start + cue_end) / 2
    a, b = _frame_at(plain.path, t), _frame_at(burned.path, t)
    height = SIZE[1]
    bottom = float(np.abs(a[height * 3 // 4 :] - b[height * 3 // 4 :]).mean())
    top = float(np.abs(a[: height // 3] - b[: height // 3]).mean())
    assert bottom > 20, bottom  # white text on a black box over the test picture
    assert top < 3, top  # the rest of the picture is untouched
    # The title card has no captions.
    card_a, card_b = _frame_at(plain.path, 0.5), _frame_at(burned.path, 0.5)
    assert float(np.abs(card_a - card_b).mean()) < 1


def test_an_empty_session_or_bad_times_are_refused(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    good = _clips(sources)[0]
    dest = tmp_path / "session.mp4"
    with pytest.raises(ValueError, match="at least one clip"):
        compile_session([], dest)
    bad = SessionClip(good.source, "video", 3.0, 2.0, "x", (), ())
    with pytest.raises(ValueError, match="end after it starts"):
        compile_session([good, bad], dest)
    negative = SessionClip(good.source, "video", -1.0, 2.0, "x", (), ())
    with pytest.raises(ValueError, match="before the beginning"):
        compile_session([negative], dest)
    with pytest.raises(ValueError, match="kind"):
        compile_session([SessionClip(good.source, "text", 1.0, 2.0, "x", (), ())], dest)
    with pytest.raises(ValueError, match="size"):
        compile_session([good], dest, size=(321, 180))
    with pytest.raises(ValueError, match="one frame"):
        compile_session([good], dest, card_seconds=0.0)
    assert list(tmp_path.iterdir()) == []


def test_failures_leave_no_file_behind(sources: tuple[Path, Path], tmp_path: Path) -> None:
    video, _ = sources
    dest = tmp_path / "session.mp4"
    gone = SessionClip(tmp_path / "gone.mp4", "video", 1.0, 2.0, "x", (), ())
    with pytest.raises(MediaError) as caught:
        compile_session([gone], dest, size=SIZE, fps=FPS)
    assert caught.value.code == "missing"
    past_the_end = SessionClip(video, "video", SECONDS + 3.0, SECONDS + 4.0, "x", (), ())
    with pytest.raises(MediaError) as caught:
        compile_session([past_the_end], dest, card_seconds=CARD, size=SIZE, fps=FPS)
    assert caught.value.code == "failed"
    assert list(tmp_path.iterdir()) == []


def test_a_colour_tagged_source_joins_untagged_title_cards(tmp_path: Path) -> None:
    """Old web copies kept an upload's colour tags; every piece gets the same tags, so a clip of
    such a copy still joins moviepy's title cards by stream copy."""
    tagged = tmp_path / "tagged.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=3", "-f", "lavfi", "-i", "sine=d=3",
         "-vf", "setparams=color_primaries=smpte170m:color_trc=smpte170m:colorspace=smpte170m",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-f", "mp4", "-y", file_url(tagged)],
        timeout=60,
    )  # fmt: skip
    clip = SessionClip(tagged, "video", 0.4, 2.0, "A clip", ("Told by Mary",), WORDS)
    made = compile_session(
        [clip, clip], tmp_path / "session.mp4", card_seconds=0.5, size=(320, 180)
    )
    with av.open(str(made.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == round(2 * (0.5 + 1.6) * 25)
