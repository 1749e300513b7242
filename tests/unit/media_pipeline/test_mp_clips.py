"""Clip cutting: exact to the frame (not the keyframe before it), with sound, fast-start MP4 or
M4A out, and plain errors for bad times."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from media_pipeline.clips import cut_clip
from media_pipeline.errors import MediaError
from media_pipeline.ffmpeg import file_url, run_ffmpeg

FPS = 25
SECONDS = 12


def make_story(folder: Path) -> Path:
    """A 12 s 320x180 25 fps H.264/AAC MP4: testsrc2 (every frame differs) and a 440 Hz tone.

    A keyframe only every 4 s, so a cut that merely started on a keyframe would be seconds out.
    """
    out = folder / "story.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d={SECONDS}",
         "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-g", str(4 * FPS), "-keyint_min", str(4 * FPS), "-sc_threshold", "0",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-f", "mp4", "-y", file_url(out)],
        timeout=60,
    )  # fmt: skip
    return out


def make_sound_story(folder: Path) -> Path:
    """A 12 s AAC M4A: a 660 Hz tone."""
    out = folder / "story.m4a"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=f=660:r=44100:d={SECONDS}",
         "-c:a", "aac", "-b:a", "96k", "-f", "ipod", "-y", file_url(out)],
        timeout=60,
    )  # fmt: skip
    return out


def frames_at(path: Path, times: list[float]) -> dict[float, np.ndarray]:
    """Decoded RGB pictures of `path` whose timestamps are `times` (to the nearest ms)."""
    wanted = {round(t, 3) for t in times}
    found: dict[float, np.ndarray] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = round(float(frame.time), 3)
            if t in wanted:
                found[t] = frame.to_ndarray(format="rgb24").astype(np.int16)
    return found


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.int16)


def loudness(path: Path, start: float = 0.0, end: float = math.inf) -> float:
    """Mean absolute sample value of the sound between `start` and `end` seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [
            np.abs(frame.to_ndarray()).mean()
            for frame in container.decode(stream)
            if start <= float(frame.pts * stream.time_base) < end
        ]
    return float(np.mean(chunks)) if chunks else 0.0


def stream_seconds(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        return float(stream.duration * stream.time_base)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_story(tmp_path_factory.mktemp("clips-story"))


@pytest.fixture(scope="module")
def sound_story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sound_story(tmp_path_factory.mktemp("clips-sound"))


def test_a_cut_starts_on_the_exact_frame_and_lasts_to_within_a_frame(
    story: Path, tmp_path: Path
) -> None:
    start, end = 5.2, 8.4  # mid-GOP: the keyframe before it is at 4.0
    progress: list[tuple[float, str]] = []
    dest = cut_clip(
        story, tmp_path / "out" / "clip.mp4", start, end, kind="video",
        progress=lambda f, s: progress.append((f, s)),
    )  # fmt: skip
    assert dest == tmp_path / "out" / "clip.mp4"

    source = frames_at(story, [start - 1 / FPS, start, start + 1 / FPS, 4.0])
    got = first_frame(dest)
    diffs = {t: float(np.abs(got - pic).mean()) for t, pic in source.items()}
    # Encoding noise only against the frame at `start`; neighbours and the keyframe are further.
    assert diffs[start] < 2.0, diffs
    assert diffs[start] < min(d for t, d in diffs.items() if t != start) / 2, diffs

    with av.open(str(dest)) as container:
        # Every stored picture is shown: a stream copy would also hold the pictures from the
        # keyframe at 4.0, hidden by an edit list that many players ignore.
        packets = sum(1 for p in container.demux(video=0) if p.size)
        assert abs(packets - (end - start) * FPS) <= 1
    with av.open(str(dest)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert abs(video.frames - (end - start) * FPS) <= 1
        assert container.duration is not None
        assert abs(container.duration / 1e6 - (end - start)) <= 1 / FPS
        assert container.streams.audio[0].codec_context.name == "aac"
    assert abs(stream_seconds(dest, "audio") - (end - start)) <= 1 / FPS
    assert loudness(dest) > 0.05  # the tone is there
    data = dest.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # fast start
    assert progress[0][0] == 0.0 and progress[-1][0] == 1.0


def test_a_sound_only_cut_is_an_m4a_of_the_right_length(sound_story: Path, tmp_path: Path) -> None:
    dest = cut_clip(sound_story, tmp_path / "clip.m4a", 2.0, 5.5, kind="audio")
    data = dest.read_bytes()
    assert data[8:12] == b"M4A "
    with av.open(str(dest)) as container:
        assert [s.type for s in container.streams] == ["audio"]
        assert container.streams.audio[0].codec_context.name == "aac"
    assert abs(stream_seconds(dest, "audio") - 3.5) <= 1 / FPS
    assert loudness(dest) > 0.05


def test_a_video_can_be_cut_as_sound_only(story: Path, tmp_path: Path) -> None:
    dest = cut_clip(story, tmp_path / "clip.m4a", 1.0, 2.0, kind="audio")
    with av.open(str(dest)) as container:
        assert [s.type for s in container.streams] == ["audio"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-0.5, 2.0, "before the beginning"),
        (3.0, 3.0, "end after it starts"),
        (3.0, 2.0, "end after it starts"),
        (math.nan, 2.0, "numbers"),
        (1.0, math.inf, "numbers"),
    ],
)
def test_bad_times_are_refused_plainly(
    story: Path, tmp_path: Path, start: float, end: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cut_clip(story, tmp_path / "clip.mp4", start, end, kind="video")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_kind_is_refused(story: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        cut_clip(story, tmp_path / "clip.mp4", 1.0, 2.0, kind="picture")


def test_a_missing_source_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        cut_clip(tmp_path / "gone.mp4", tmp_path / "clip.mp4", 1.0, 2.0, kind="video")
    assert caught.value.code == "missing"


def test_a_start_past_the_end_fails_and_leaves_nothing(story: Path, tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    with pytest.raises(MediaError) as caught:
        cut_clip(story, dest, SECONDS + 5.0, SECONDS + 8.0, kind="video")
    assert caught.value.code == "failed"
    assert list(tmp_path.iterdir()) == []  # no clip, and no temporary file left behind


def test_an_existing_clip_is_replaced_whole(story: Path, tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"old")
    cut_clip(story, dest, 0.0, 1.0, kind="video")
    assert abs(stream_seconds(dest, "video") - 1.0) <= 1 / FPS
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
