"""validate(): every accepted format passes; every bad file is refused with the right code."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_pipeline import MediaError, validate
from tests import media_factory as mf


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validate_media")


@pytest.fixture(scope="module")
def valid(media_dir: Path) -> dict[str, Path]:
    return mf.make_all_valid(media_dir)


@pytest.fixture(scope="module")
def bad(media_dir: Path) -> dict[str, Path]:
    return {key: make(media_dir) for key, (make, _code) in mf.BAD_SAMPLES.items()}


@pytest.mark.parametrize("key", sorted(mf.VALID_SAMPLES))
def test_accepted_formats_validate(valid: dict[str, Path], key: str) -> None:
    sample = mf.VALID_SAMPLES[key]
    info = validate(valid[key])
    assert (info.container, info.kind, info.mime_type) == (
        sample.container, sample.kind, sample.mime_type,
    )  # fmt: skip


@pytest.mark.parametrize("key", sorted(mf.BAD_SAMPLES))
def test_bad_files_are_refused_with_the_right_code(bad: dict[str, Path], key: str) -> None:
    expected = mf.BAD_SAMPLES[key][1]
    with pytest.raises(MediaError) as exc:
        validate(bad[key])
    assert exc.value.code == expected, exc.value.detail
    assert len(str(exc.value)) > 20
    assert str(exc.value) == exc.value.message


def test_special_but_valid_files(media_dir: Path) -> None:
    assert validate(mf.make_rotated_video(media_dir)).rotation == 90
    assert validate(mf.make_live_webm(media_dir)).container == "webm"
    assert validate(mf.make_mp3_with_cover(media_dir)).kind == "audio"


def test_duration_limits_are_configurable_and_explained(valid: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as exc:
        validate(valid["wav"], max_duration=1.0)
    assert exc.value.code == "too_long"
    assert "1 second" in str(exc.value)
    with pytest.raises(MediaError) as exc:
        validate(valid["wav"], min_duration=120)
    assert exc.value.code == "too_short"
    assert "2 minutes" in str(exc.value)
    assert validate(mf.make_short_clip(valid["wav"].parent, "s2.mp4"), min_duration=0.1)


def test_default_limit_message_mentions_hours(valid: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as exc:
        validate(valid["wav"], max_duration=2 * 3600, min_duration=3 * 3600)
    assert exc.value.code == "too_short"
    assert "3 hours" in str(exc.value)


def test_large_wav_is_valid(tmp_path: Path) -> None:
    # make_large_wav is for a 1 GB upload benchmark; 20 MB keeps this test quick.
    path = mf.make_large_wav(tmp_path / "big.wav", 20_000_000)
    assert abs(path.stat().st_size - 20_000_000) < 8
    info = validate(path)
    assert info.container == "wav"
    assert info.duration == pytest.approx(20_000_000 / (48000 * 4), abs=0.05)
