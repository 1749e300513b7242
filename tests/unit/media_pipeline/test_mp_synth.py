"""synth: espeak-ng speech and rendered "digital stories" that validate() accepts."""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path

import pytest
from PIL import Image

from media_pipeline import validate
from media_pipeline.synth import draw_slide, render_story, speak

PARAGRAPHS = [
    "My name is Alice. This is the story of my mother's care at home.",
    "A district nurse sat at our kitchen table and simply listened to what mattered to Mum.",
    "Ask what matters, write it down, and keep to it.",
]


def _seconds(wav_path: Path) -> float:
    with wave.open(str(wav_path), "rb") as w:
        return w.getnframes() / w.getframerate()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="module")
def spoken_seconds(work: Path) -> float:
    return sum(_seconds(speak(p, work / f"p{i}.wav")) for i, p in enumerate(PARAGRAPHS))


@pytest.fixture(scope="module")
def story_mp4(work: Path) -> Path:
    return render_story(work / "story.mp4", title="What mattered to Mum", paragraphs=PARAGRAPHS,
                        size=(640, 360))  # fmt: skip


def test_speak_english(work: Path) -> None:
    out = speak("Hello, this is a story about care and kindness.", work / "en.wav")
    assert 1.5 < _seconds(out) < 6
    info = validate(out)
    assert info.container == "wav" and info.kind == "audio"


def test_speak_welsh_and_speed(work: Path) -> None:
    text = "Croeso i'r archif straeon. Dyma fy stori i am ofal yn y cartref."
    slow = _seconds(speak(text, work / "cy_slow.wav", voice="cy", words_per_minute=120))
    fast = _seconds(speak(text, work / "cy_fast.wav", voice="cy", words_per_minute=220))
    assert fast < slow


def test_speak_rejects_empty_text(work: Path) -> None:
    with pytest.raises(ValueError):
        speak("   ", work / "nothing.wav")


def test_render_story_video(story_mp4: Path, spoken_seconds: float) -> None:
    info = validate(story_mp4)
    assert (info.container, info.kind, info.video_codec, info.audio_codec) == (
        "mp4", "video", "h264", "aac",
    )  # fmt: skip
    assert (info.width, info.height) == (640, 360)
    # Speech plus a short pause after each paragraph.
    assert spoken_seconds < info.duration < spoken_seconds + 0.7 * len(PARAGRAPHS) + 0.5
    head = story_mp4.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_render_story_audio_only(work: Path, spoken_seconds: float) -> None:
    out = render_story(work / "story.m4a", title="Audio", paragraphs=PARAGRAPHS, audio_only=True)
    info = validate(out)
    assert (info.container, info.kind, info.mime_type) == ("m4a", "audio", "audio/mp4")
    assert spoken_seconds < info.duration < spoken_seconds + 0.7 * len(PARAGRAPHS) + 0.5


def test_render_story_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[float] = []
    out = render_story(
        tmp_path / "dest" / "s.mp4",
        title="Short",
        paragraphs=["Just one line."],
        size=(320, 180),
        progress=lambda f, _s: seen.append(f),
    )
    assert list(scratch.iterdir()) == []
    assert [p.name for p in out.parent.iterdir()] == ["s.mp4"]
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_render_story_needs_words(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_story(tmp_path / "x.mp4", title="Empty", paragraphs=["", "  "])


def test_slide_is_readable(tmp_path: Path) -> None:
    out = draw_slide(tmp_path / "s.png", title="Title", text="word " * 400,
                     palette=("#000000", "#ffffff"), size=(640, 360))  # fmt: skip
    with Image.open(out) as img:
        assert img.size == (640, 360)
        colours = img.convert("L").getcolors(maxcolors=256 * 256)
        assert colours is not None
        # Mostly background, with a fair amount of text drawn on it.
        dark = sum(n for n, v in colours if isinstance(v, int) and v < 128)
        assert 0.5 < dark / (640 * 360) < 0.97
