"""Covering the picture: a rendition made with ``cover`` spans is black in each span, widened by
COVER_MARGIN each side (every frame, read back from the real file), and untouched outside."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from media_pipeline.probe import probe
from media_pipeline.rendition import COVER_MARGIN, make_rendition
from tests import media_factory


def test_covered_spans_are_black_in_the_web_copy_and_nothing_else_is(tmp_path: Path) -> None:
    source = media_factory.make_mp4(tmp_path)  # 2 s of a moving test picture, 10 fps
    info = probe(source)
    dest = make_rendition(source, tmp_path / "web.mp4", info, cover=[(0.45, 1.05), (1.45, 1.75)])
    assert probe(dest).duration == pytest.approx(info.duration, abs=0.3)
    with av.open(str(dest), format="mp4") as container:
        shown = [
            (float(frame.time or 0.0), frame.to_ndarray(format="gray"))
            for frame in container.decode(video=0)
        ]
    assert len(shown) >= 15

    def covered(t: float) -> bool:
        # Frames are at tenths of a second; no span edge (widened) falls on one.
        m = COVER_MARGIN
        return 0.45 - m <= t <= 1.05 + m or 1.45 - m <= t <= 1.75 + m

    blank = [t for t, picture in shown if picture.max() <= 24]  # black: 16 in limited range
    assert blank and all(covered(t) for t in blank)
    for t, picture in shown:
        if covered(t):
            assert picture.max() <= 24, f"the picture at {t:.2f} s shows through"
        else:
            assert picture.std() > 20, f"the picture at {t:.2f} s is blanked"
