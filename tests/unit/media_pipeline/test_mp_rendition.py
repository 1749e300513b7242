"""Renditions: every accepted format becomes web-playable H.264/AAC (or AAC), remuxed when it
already is, upright when rotated, and silent where a span is redacted."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from media_pipeline.probe import probe
from media_pipeline.rendition import make_rendition, rendition_extension
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


def test_an_h264_aac_mp4_is_remuxed_not_encoded(samples: dict[str, Path], tmp_path: Path) -> None:
    src = samples["mp4"]
    dest = make_rendition(src, tmp_path / "web.mp4", probe(src))
    with av.open(str(src)) as a, av.open(str(dest)) as b:
        packets_in = [bytes(p) for p in a.demux(video=0) if p.size]
        packets_out = [bytes(p) for p in b.demux(video=0) if p.size]
    assert packets_in == packets_out  # the very same compressed pictures


def test_a_rotated_phone_video_stays_upright(samples: dict[str, Path], tmp_path: Path) -> None:
    src = samples["portrait"]
    info = probe(src)
    assert info.height is not None and info.width is not None and info.height > info.width
    out = probe(make_rendition(src, tmp_path / "web.mp4", info))
    assert out.height is not None and out.width is not None and out.height > out.width


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
