"""probe(): format detection, normalised names, rotation, the child process and its timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_pipeline import ACCEPTED_CONTAINERS, MediaError, MediaInfo, probe
from media_pipeline.ffmpeg import ffmpeg_exe, run_ffmpeg, run_process
from media_pipeline.probe import _sniff, normalise_isobmff
from tests import media_factory as mf

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe_media")


@pytest.fixture(scope="module")
def valid(media_dir: Path) -> dict[str, Path]:
    return mf.make_all_valid(media_dir)


@pytest.mark.parametrize("key", sorted(mf.VALID_SAMPLES))
def test_probe_reports_normalised_format(valid: dict[str, Path], key: str) -> None:
    sample = mf.VALID_SAMPLES[key]
    info = probe(valid[key])
    assert info.container == sample.container
    assert info.kind == sample.kind
    assert info.mime_type == sample.mime_type
    assert info.extension == sample.extension
    assert info.has_audio and info.audio_codec
    assert 1.5 < info.duration < 4.0
    if sample.kind == "video":
        assert info.video_codec and info.width and info.height
        assert info.rotation == 0
    else:
        assert info.video_codec is None and info.width is None and info.height is None


def test_to_dict_is_json_safe_and_round_trips(valid: dict[str, Path]) -> None:
    info = probe(valid["mp4"])
    data = json.loads(json.dumps(info.to_dict()))
    assert MediaInfo.from_dict(data) == info
    assert data["container"] == "mp4" and isinstance(data["duration"], float)


@pytest.mark.parametrize(
    ("rotation", "size"), [(90, (120, 160)), (180, (160, 120)), (270, (120, 160))]
)
def test_rotated_phone_video_reports_display_size(
    media_dir: Path, rotation: int, size: tuple[int, int]
) -> None:
    info = probe(mf.make_rotated_video(media_dir, f"rot{rotation}.mp4", rotation=rotation))
    assert info.rotation == rotation
    assert (info.width, info.height) == size  # coded 160x120


def test_mp3_with_cover_art_is_audio(media_dir: Path) -> None:
    info = probe(mf.make_mp3_with_cover(media_dir))
    assert info.kind == "audio" and not info.has_video
    assert info.mime_type == "audio/mpeg"


def test_browser_webm_without_duration_gets_one(media_dir: Path) -> None:
    info = probe(mf.make_live_webm(media_dir))
    assert info.container == "webm"
    assert 1.5 < info.duration < 2.5


def test_truncated_faststart_mp4_passes_a_plain_probe(media_dir: Path) -> None:
    # Which is exactly why validate() needs its demux pass.
    info = probe(mf.make_truncated_faststart_mp4(media_dir))
    assert info.container == "mp4"


def test_probe_timeout_kills_the_child(valid: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as exc:
        probe(valid["mp4"], timeout=0.001)
    assert exc.value.code == "timeout"
    assert str(exc.value)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "upload.mp4"
    os.mkfifo(fifo)
    with pytest.raises(MediaError) as exc:
        probe(fifo)
    assert exc.value.code == "not_media"


def test_ffmpeg_that_hangs_is_killed(tmp_path: Path) -> None:
    fifo = tmp_path / "blocks.wav"
    os.mkfifo(fifo)  # Nobody writes, so ffmpeg blocks opening it.
    with pytest.raises(MediaError) as exc:
        run_ffmpeg(["-i", str(fifo), "-f", "null", "-"], timeout=1.0)
    assert exc.value.code == "timeout"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        probe(tmp_path / "nope.mp4")
    assert exc.value.code == "missing"


def test_ffmpeg_override_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = ffmpeg_exe()
    monkeypatch.setenv("STORYHUB_FFMPEG", str(tmp_path / "no-ffmpeg-here"))
    assert ffmpeg_exe() == str(tmp_path / "no-ffmpeg-here")
    with pytest.raises(MediaError) as exc:
        run_ffmpeg(["-version"], timeout=5)
    assert exc.value.code == "failed"
    monkeypatch.delenv("STORYHUB_FFMPEG")
    assert ffmpeg_exe() == real


def test_command_line_prints_json(valid: dict[str, Path], media_dir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    ok = subprocess.run(
        [sys.executable, "-m", "media_pipeline.probe", str(valid["ogg"])],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["container"] == "ogg"
    assert ok.stderr == ""  # no runpy warning noise
    bad = subprocess.run(
        [sys.executable, "-m", "media_pipeline.probe", str(mf.make_text_as_mp4(media_dir))],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["code"] == "not_media"


def test_bundled_ffmpeg_has_the_encoders_the_factory_uses() -> None:
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    for encoder in ("libx264", "aac", "libvpx", "libopus", "libmp3lame", "libvorbis", "flac",
                    "h263", "libopencore_amrnb", "mjpeg"):  # fmt: skip
        assert f" {encoder} " in out


# --- pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand", "has_video", "expected"),
    [
        ("isom", True, "mp4"),
        ("mp42", True, "mp4"),
        ("isom", False, "m4a"),
        ("M4A ", False, "m4a"),
        ("M4A ", True, "mp4"),
        ("qt  ", True, "mov"),
        ("qt  ", False, "mov"),
        ("3gp4", True, "3gp"),
        ("3gp5", False, "3gp"),
        ("heic", False, None),
        (None, True, "mov"),
    ],
)
def test_normalise_isobmff(brand: str | None, has_video: bool, expected: str | None) -> None:
    assert normalise_isobmff(brand, has_video) == expected


@given(brand=st.text(min_size=0, max_size=4), has_video=st.booleans())
def test_normalise_isobmff_always_gives_an_accepted_name(brand: str, has_video: bool) -> None:
    result = normalise_isobmff(brand, has_video)
    assert result is None or result in ACCEPTED_CONTAINERS


@given(head=st.binary(max_size=512))
def test_sniff_never_crashes(head: bytes) -> None:
    assert _sniff(head).family in {
        "isobmff", "ebml", "wav", "ogg", "flac", "mp3", "unsupported", "unknown"
    }  # fmt: skip


@given(
    container=st.sampled_from(sorted(ACCEPTED_CONTAINERS)),
    duration=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    has_video=st.booleans(),
    rotation=st.sampled_from([0, 90, 180, 270]),
    size=st.one_of(st.none(), st.integers(min_value=1, max_value=8192)),
)
def test_media_info_round_trip(
    container: str, duration: float, has_video: bool, rotation: int, size: int | None
) -> None:
    info = MediaInfo(container, duration, has_video, True, "h264" if has_video else None, "aac",
                     size, size, rotation)  # fmt: skip
    assert MediaInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    assert info.mime_type.split("/")[0] in ("audio", "video")
    assert info.extension.startswith(".")


def test_helpers_do_not_inherit_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    result = run_process(["/usr/bin/env"], timeout=10)
    assert result.ok
    assert b"do-not-leak" not in result.stdout
    assert b"PATH=" in result.stdout


def test_from_dict_rejects_unknown_container() -> None:
    with pytest.raises(ValueError):
        MediaInfo.from_dict({"container": "avi", "duration": 1.0, "has_video": True,
                             "has_audio": True})  # fmt: skip
