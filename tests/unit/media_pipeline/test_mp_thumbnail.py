"""make_thumbnail(): a JPEG frame for video (upright), a waveform poster for audio."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from media_pipeline import MediaError, MediaInfo, probe
from media_pipeline.thumbnail import make_thumbnail
from tests import media_factory as mf


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("thumb_media")


@pytest.fixture(scope="module")
def plain_video(media_dir: Path) -> Path:
    return mf.make_mp4(media_dir, "plain.mp4")


@pytest.fixture(scope="module")
def rotated_video(media_dir: Path) -> Path:
    return mf.make_rotated_video(media_dir, "portrait.mp4", rotation=90)


@pytest.fixture(scope="module")
def audio(media_dir: Path) -> Path:
    return mf.make_mp3(media_dir)


def _open(path: Path) -> Image.Image:
    with Image.open(path) as img:
        assert img.format == "JPEG"
        return img.convert("RGB")


def test_video_thumbnail_is_a_jpeg_frame(plain_video: Path, tmp_path: Path) -> None:
    out = make_thumbnail(plain_video, tmp_path / "t.jpg", probe(plain_video))
    assert out == tmp_path / "t.jpg"
    assert _open(out).size == (160, 120)  # small video: never upscaled


def test_video_thumbnail_width(plain_video: Path, tmp_path: Path) -> None:
    out = make_thumbnail(plain_video, tmp_path / "t.jpg", probe(plain_video), width=80)
    assert _open(out).size == (80, 60)


def test_rotated_video_thumbnail_is_upright_portrait(
    plain_video: Path, rotated_video: Path, tmp_path: Path
) -> None:
    upright = _open(make_thumbnail(rotated_video, tmp_path / "r.jpg", probe(rotated_video)))
    assert upright.size == (120, 160)
    # The same frame from the unrotated source, turned clockwise by hand, must match it,
    # and turning it the other way must not.
    plain = _open(make_thumbnail(plain_video, tmp_path / "p.jpg", probe(plain_video)))
    clockwise = plain.transpose(Image.Transpose.ROTATE_270)
    anticlockwise = plain.transpose(Image.Transpose.ROTATE_90)

    def diff(a: Image.Image) -> float:
        return sum(ImageStat.Stat(ImageChops.difference(a, upright)).mean) / 3

    assert diff(clockwise) < 10
    assert diff(anticlockwise) > 2 * diff(clockwise)


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_audio_gets_a_waveform_poster_with_good_contrast(audio: Path, tmp_path: Path) -> None:
    poster = _open(make_thumbnail(audio, tmp_path / "a.jpg", probe(audio)))
    assert poster.size == (640, 360)
    background = poster.getpixel((5, 5))
    assert isinstance(background, tuple)
    darkest = min(
        (poster.getpixel((x, 180)) for x in range(0, 640, 4)),
        key=lambda p: _luminance(p) if isinstance(p, tuple) else 1.0,
    )
    assert isinstance(darkest, tuple)
    lighter, darker = _luminance(background), _luminance(darkest)
    assert (lighter + 0.05) / (darker + 0.05) > 4.5  # WCAG AA contrast for the waveform


def test_thumbnail_is_idempotent_and_atomic(audio: Path, plain_video: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "thumb.jpg"
    seen: list[tuple[float, str]] = []
    make_thumbnail(audio, dest, probe(audio), progress=lambda f, s: seen.append((f, s)))
    first = dest.read_bytes()
    make_thumbnail(plain_video, dest, probe(plain_video))
    assert dest.read_bytes() != first
    make_thumbnail(plain_video, dest, probe(plain_video))
    assert [p.name for p in dest.parent.iterdir()] == ["thumb.jpg"]  # no temp files left
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert all(stage for _, stage in seen)


def test_failure_raises_media_error_and_leaves_nothing(media_dir: Path, tmp_path: Path) -> None:
    broken = mf.make_truncated_mp4_index_at_end(media_dir)
    fake = MediaInfo("mp4", 3.0, True, True, "h264", "aac", 320, 240)
    dest = tmp_path / "never.jpg"
    with pytest.raises(MediaError) as exc:
        make_thumbnail(broken, dest, fake)
    assert exc.value.code == "failed" and str(exc.value)
    assert list(tmp_path.iterdir()) == []
