"""Renditions: every accepted format becomes web-playable H.264/AAC (or AAC), always encoded
with 2 s closed GOPs and stitchable headers (the sound copied when it can be), at most 1280
wide, upright when rotated, and silent where a span is redacted."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from media_pipeline.compile import SessionClip, compile_session
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from media_pipeline.probe import probe
from media_pipeline.rendition import make_rendition, rendition_extension
from media_pipeline.transcribe import Word
from tests import media_factory


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rendition-samples")
    made = media_factory.make_all_valid(folder)
    made["portrait"] = media_factory.make_rotated_video(folder)
    return made


@pytest.mark.parametrize("fmt", list(media_factory.VALID_SAMPLES))
def test_every_format_becomes_web_playable(
    fmt: str, samples: dict[str, Path], tmp_path: Path
) -> None:
    info = probe(samples[fmt])
    dest = make_rendition(samples[fmt], tmp_path / f"web{rendition_extension(info)}", info)
    out = probe(dest)
    assert out.audio_codec == "aac"
    assert out.duration == pytest.approx(info.duration, abs=0.3)
    if info.kind == "video":
        assert out.container == "mp4" and out.video_codec == "h264"
    else:
        assert out.container == "m4a" and not out.has_video
    # Fast start: the index ("moov") comes before the media data ("mdat").
    head = dest.read_bytes()
    assert head.find(b"moov") < head.find(b"mdat")


def _x264_settings(path: Path) -> str:
    """The settings x264 writes into the first picture it encodes."""
    with av.open(str(path)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
    data = bytes(first)
    return data[data.index(b"x264 - core") :].split(b"\x00")[0].decode("ascii", "replace")


@pytest.fixture(scope="module")
def phone_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 s of H.264/AAC MP4 at 25 fps with one keyframe only (as some phones record)."""
    out = tmp_path_factory.mktemp("rendition-phone") / "phone.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=7",
         "-f", "lavfi", "-i", "sine=f=440:r=44100:d=7",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-f", "mp4", "-y",
         file_url(out)],
        timeout=60,
    )  # fmt: skip
    return out


def test_an_h264_aac_mp4_is_encoded_again_with_2_s_closed_gops(
    phone_like: Path, tmp_path: Path
) -> None:
    dest = make_rendition(phone_like, tmp_path / "web.mp4", probe(phone_like))
    with av.open(str(phone_like)) as a, av.open(str(dest)) as b:
        pictures_in = [bytes(p) for p in a.demux(video=0) if p.size]
        pictures_out = [bytes(p) for p in b.demux(video=0) if p.size]
    with av.open(str(phone_like)) as a, av.open(str(dest)) as b:
        sound_in = [bytes(p) for p in a.demux(audio=0) if p.size]
        sound_out = [bytes(p) for p in b.demux(audio=0) if p.size]
    assert len(pictures_out) == len(pictures_in) == 175
    assert not set(pictures_in) & set(pictures_out)  # every picture encoded again
    assert sound_out == sound_in  # AAC, nothing silenced: the sound is copied

    with av.open(str(dest)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        assert (context.name, context.pix_fmt, context.width) == ("h264", "yuv420p", 320)
        # BT.709 primaries, transfer and matrix (1 each) and limited range, said in the headers.
        assert (context.colorspace, context.color_range) == (1, 1)
        assert (context.color_primaries, context.color_trc) == (1, 1)
        packets = [p for p in container.demux(stream) if p.size]
        keyframes = sorted(float(p.pts * stream.time_base) for p in packets if p.is_keyframe)
        # Closed GOPs: every picture decoded after a keyframe is shown after it too.
        last_key = None
        for packet in packets:
            if packet.is_keyframe:
                last_key = packet.pts
            assert last_key is not None and packet.pts >= last_key
    assert keyframes == [0.0, 2.0, 4.0, 6.0]  # every 2 s, whatever the source had
    settings = _x264_settings(dest)
    for setting in ("stitchable=1", "open_gop=0", "scenecut=0", "vbv_maxrate=2500"):
        assert setting in settings.split(), setting


def test_a_wide_video_is_scaled_down_to_1280(tmp_path: Path) -> None:
    src = tmp_path / "wide.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=10:d=0.5", "-f", "lavfi",
         "-i", "sine=d=0.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-f", "mp4", "-y", file_url(src)],
        timeout=60,
    )  # fmt: skip
    out = probe(make_rendition(src, tmp_path / "web.mp4", probe(src)))
    assert (out.width, out.height) == (1280, 720)


def test_a_rotated_phone_video_stays_upright(samples: dict[str, Path], tmp_path: Path) -> None:
    src = samples["portrait"]
    info = probe(src)
    assert info.height is not None and info.width is not None and info.height > info.width
    out = probe(make_rendition(src, tmp_path / "web.mp4", info))
    assert out.height is not None and out.width is not None and out.height > out.width
    assert out.rotation == 0  # turned in the pixels, so no player has to honour a rotation


def _loudness(path: Path, start: float, end: float) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = []
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base)
            if start <= t < end:
                chunks.append(np.abs(frame.to_ndarray()).mean())
    return float(np.mean(chunks)) if chunks else 0.0


def test_redacted_spans_are_silenced(samples: dict[str, Path], tmp_path: Path) -> None:
    src = samples["mp4"]  # a steady tone
    info = probe(src)
    dest = make_rendition(src, tmp_path / "web.mp4", info, silence=[(0.5, 1.2)])
    assert _loudness(dest, 0.6, 1.1) < 0.001
    assert _loudness(dest, 1.4, 1.9) > 0.01
    assert probe(dest).video_codec == "h264"


def test_a_rendition_of_a_colour_tagged_upload_can_be_compiled_into_a_session(
    tmp_path: Path,
) -> None:
    """compile.py joins clips of renditions with its title cards by stream copy, which needs
    identical headers, whatever colours the upload was tagged with."""
    src = tmp_path / "tagged.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=3", "-f", "lavfi", "-i", "sine=d=3",
         "-vf", "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-f", "mp4", "-y", file_url(src)],
        timeout=60,
    )  # fmt: skip
    web = make_rendition(src, tmp_path / "web.mp4", probe(src))
    words = (Word(0.5, 0.9, " Hello"), Word(1.0, 1.6, " there."))
    clip = SessionClip(web, "video", 0.4, 2.0, "A clip", ("Told by Mary",), words)
    made = compile_session([clip], tmp_path / "session.mp4", card_seconds=0.5, size=(320, 180))
    assert made.path.exists()
