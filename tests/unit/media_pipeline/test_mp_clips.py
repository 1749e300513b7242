"""Clip cutting: exact to the frame (not the keyframe before it), with sound, fast-start MP4 or
M4A out, and plain errors for bad times. A rendition's clips are smart-cut (only the ends
encoded again), exactly as well; anything else, or any doubt, gets a full encode."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import av
import numpy as np
import pytest

from media_pipeline.clips import cut_clip, plan_cut, plan_source_cut
from media_pipeline.errors import MediaError
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from media_pipeline.probe import probe
from media_pipeline.rendition import make_rendition

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


# --- smart cuts: encode the head and tail, copy the whole GOPs between --------------------

RENDITION_SECONDS = 20
GOP = 2.0  # seconds between a rendition's keyframes


@pytest.fixture(scope="module")
def rendition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A story's web copy as the product makes it: make_rendition of testsrc2 and a tone."""
    folder = tmp_path_factory.mktemp("clips-rendition")
    upload = folder / "upload.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d={RENDITION_SECONDS}",
         "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={RENDITION_SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-f", "mp4", "-y", file_url(upload)],
        timeout=60,
    )  # fmt: skip
    return make_rendition(upload, folder / "web.mp4", probe(upload))


@pytest.fixture(scope="module")
def lookalike(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Not a rendition, though x264 says stitchable=1 and has 2 s GOPs: other settings."""
    out = tmp_path_factory.mktemp("clips-lookalike") / "story.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d={SECONDS}",
         "-f", "lavfi", "-i", f"sine=f=440:r=44100:d={SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-g", str(2 * FPS), "-sc_threshold", "0", "-x264-params", "stitchable=1",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-f", "mp4", "-y", file_url(out)],
        timeout=60,
    )  # fmt: skip
    return out


def all_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """Every picture of `path` with its time, decoded by PyAV (which raises on a broken one)."""
    with av.open(str(path)) as container:
        return [
            (float(frame.time), frame.to_ndarray(format="rgb24").astype(np.int16))
            for frame in container.decode(video=0)
        ]


def video_packets(path: Path) -> dict[float, bytes]:
    """The compressed pictures of `path` by presentation time (ms)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return {
            round(float(p.pts * stream.time_base), 3): bytes(p)
            for p in container.demux(stream)
            if p.size
        }


def assert_exact(
    clip: Path, source: list[tuple[float, np.ndarray]], start: float, end: float
) -> None:
    """The clip holds exactly the source's pictures in [start, end), each where it belongs, and
    sound lasting end - start; ffmpeg decodes it all without a single error."""
    wanted = [(t, pic) for t, pic in source if start - 1e-4 <= t < end - 1e-4]
    got = all_frames(clip)
    assert len(got) == len(wanted)
    # Each picture is shown as long after the start as in the story (to the millisecond)...
    assert (
        max(abs((t - start) - clip_t) for (t, _), (clip_t, _) in zip(wanted, got, strict=True))
        < 1e-3
    )
    # ...and is that picture: copied ones exactly, encoded ones to within encoding noise, and
    # in every case much closer to it than to its neighbours (testsrc2 moves every frame).
    times = [t for t, _ in source]
    for n, (t, pic) in enumerate(wanted):
        diff = float(np.abs(got[n][1] - pic).mean())
        assert diff < 3.0, (t, diff)
        i = times.index(t)
        for j in (i - 1, i + 1):
            if 0 <= j < len(source):
                assert diff < float(np.abs(got[n][1] - source[j][1]).mean()) / 2, (t, j)
    with av.open(str(clip)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - (end - start)) <= 1 / FPS + 1e-3
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    # Within one AAC frame (1024 samples at 44.1 kHz).
    assert abs(stream_seconds(clip, "audio") - (end - start)) <= 1024 / 44100
    assert loudness(clip) > 0.05
    result = run_ffmpeg(
        ["-xerror", "-i", file_url(clip), "-f", "null", "-"], timeout=60, loglevel="warning"
    )
    assert result.stderr.strip() == ""
    data = clip.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # fast start


@pytest.fixture(scope="module")
def rendition_frames(rendition: Path) -> list[tuple[float, np.ndarray]]:
    return all_frames(rendition)


@pytest.mark.parametrize(
    ("start", "end", "head", "tail"),
    [
        (5.213, 13.7, 19, 43),  # mid-GOP at both ends, off the frame grid
        (6.0, 12.0, 0, 0),  # on keyframes at both ends: all copied
        (5.95, 14.01, 51, 1),  # one picture before K1: the first whole GOP is encoded too
    ],
)
def test_a_rendition_is_smart_cut_and_exact(
    rendition: Path,
    rendition_frames: list[tuple[float, np.ndarray]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start: float,
    end: float,
    head: int,
    tail: int,
) -> None:
    plan = plan_source_cut(rendition, start, end)
    assert plan.smart, plan.reason
    encoded = [p.frames for p in plan.pieces if not p.copy]
    assert encoded == [n for n in (head, tail) if n]
    caplog.set_level(logging.INFO, logger="media_pipeline.clips")
    dest = cut_clip(rendition, tmp_path / "clip.mp4", start, end, kind="video")
    assert "smart cut (" in caplog.text and "failed" not in caplog.text
    assert_exact(dest, rendition_frames, start, end)

    # The whole GOPs between K1 and K2 are the story's own compressed pictures, byte for byte.
    (copy,) = [p for p in plan.pieces if p.copy]
    assert copy.start % GOP == 0 and copy.frames % (GOP * FPS) == 0
    source, clip = video_packets(rendition), video_packets(dest)
    offset = plan.first - start
    copied_times = [t for t in sorted(source) if copy.start <= t < copy.start + copy.frames / FPS]
    assert len(copied_times) == copy.frames
    for t in copied_times:
        assert clip[round(t - start, 3)] == source[t], t
    # The encoded pictures are not: they were made again.
    if head:
        assert clip[round(offset, 3)] != source[round(plan.first, 3)]


def test_a_copy_that_is_not_a_rendition_is_cut_in_full_and_exact(
    story: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    start, end = 1.3, 10.7  # two whole 4 s GOPs inside: only the source's settings stop it
    caplog.set_level(logging.INFO, logger="media_pipeline.clips")
    dest = cut_clip(story, tmp_path / "clip.mp4", start, end, kind="video")
    assert "full encode (the story's rendition was not encoded to be stitched)" in caplog.text
    assert_exact(dest, all_frames(story), start, end)


def test_pieces_whose_headers_differ_from_the_story_s_make_it_fall_back(
    lookalike: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    start, end = 1.3, 9.1
    assert plan_source_cut(lookalike, start, end).smart  # it looks right from its packets...
    caplog.set_level(logging.INFO, logger="media_pipeline.clips")
    dest = cut_clip(lookalike, tmp_path / "clip.mp4", start, end, kind="video")
    # ...but the head encoded with a rendition's settings has other SPS/PPS.
    assert "smart cut failed" in caplog.text and "other headers" in caplog.text
    assert_exact(dest, all_frames(lookalike), start, end)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no pieces left behind


def test_a_short_clip_of_a_rendition_is_cut_in_full(rendition: Path, tmp_path: Path) -> None:
    plan = plan_source_cut(rendition, 5.2, 8.4)
    assert not plan.smart and "shorter than 2 GOPs" in plan.reason
    dest = cut_clip(rendition, tmp_path / "clip.mp4", 5.2, 8.4, kind="video")
    assert abs(stream_seconds(dest, "video") - 3.2) <= 1 / FPS


# --- plan_cut on its own -------------------------------------------------------------------


def closed_gops(seconds: float, gop: int = 50, fps: int = FPS) -> list[tuple[float, bool]]:
    """Packets in decoding order as x264 writes them: each GOP an IDR, then P and B pictures
    (a P three pictures on, then the two B pictures it skipped)."""
    packets: list[tuple[float, bool]] = []
    for first in range(0, round(seconds * fps), gop):
        order = [0]
        for j in range(1, gop, 3):
            group = list(range(j, min(j + 3, gop)))
            order += [group[-1], *group[:-1]]
        packets += [((first + i) / fps, i == 0) for i in order]
    return packets


def test_closed_gops_helper_makes_each_picture_once() -> None:
    packets = closed_gops(6)
    assert sorted(t for t, _ in packets) == [n / FPS for n in range(6 * FPS)]
    assert packets[:4] == [(0.0, True), (0.12, False), (0.04, False), (0.08, False)]


def test_plan_splits_a_clip_into_head_copy_and_tail() -> None:
    plan = plan_cut(closed_gops(20), 5.213, 13.7)
    assert plan.smart and plan.frames == 212 and plan.first == 5.24
    assert [(p.copy, p.start, p.frames) for p in plan.pieces] == [
        (False, 5.24, 19),
        (True, 6.0, 150),
        (False, 12.0, 43),
    ]
    assert plan.pieces[0].after == pytest.approx(5.22)  # between 5.20 and 5.24
    assert plan.pieces[2].after == pytest.approx(11.98)


def test_plan_on_keyframes_copies_everything() -> None:
    plan = plan_cut(closed_gops(20), 4.0, 10.0)
    assert [(p.copy, p.start, p.frames) for p in plan.pieces] == [(True, 4.0, 150)]


def test_plan_past_the_end_copies_to_the_last_picture() -> None:
    plan = plan_cut(closed_gops(20), 13.0, 25.0)
    assert [(p.copy, p.start, p.frames) for p in plan.pieces] == [
        (False, 13.0, 25),
        (True, 14.0, 150),
    ]


def test_plan_never_puts_two_idr_pictures_together() -> None:
    plan = plan_cut(closed_gops(20), 5.95, 14.0)
    assert [(p.copy, p.start, p.frames) for p in plan.pieces] == [
        (False, 5.96, 51),
        (True, 8.0, 150),
    ]


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (5.0, 8.9, "shorter than 2 GOPs"),
        (30.0, 40.0, "no picture"),
    ],
)
def test_plan_refuses_what_would_not_pay_or_is_empty(start: float, end: float, reason: str) -> None:
    plan = plan_cut(closed_gops(20), start, end)
    assert not plan.smart and reason in plan.reason


def test_plan_refuses_a_whole_gop_missing() -> None:
    # 1 s GOPs but one of 3 s: the clip is longer than that one, yet holds no whole GOP.
    packets = [(t, key and (t <= 2 or t >= 5)) for t, key in closed_gops(10, gop=25)]
    plan = plan_cut(packets, 2.1, 5.2, min_gops=1)
    assert not plan.smart and plan.reason == "no whole GOP inside the clip"


def test_plan_refuses_an_open_gop() -> None:
    packets = closed_gops(20)
    # Move the B picture shown just before the keyframe at 8 s into that keyframe's GOP (in
    # decoding order, right after it): the GOP is open, its IDR no clean place to cut.
    moved = next(p for p in packets if p[0] == 7.96)
    packets.remove(moved)
    packets.insert(packets.index((8.0, True)) + 1, moved)
    plan = plan_cut(packets, 5.213, 13.7)
    assert not plan.smart and plan.reason == "a GOP in the clip is not closed"


def test_plan_refuses_pictures_sharing_a_time() -> None:
    plan = plan_cut([*closed_gops(20), (3.0, False)], 5.0, 15.0)
    assert not plan.smart and "share" in plan.reason
