"""transcribe() on real recorded speech: the JFK clip (tests/data/jfk.wav, public domain).

The file comes from `scripts/fetch_test_speech.py` (pywhispercpp's sdist); without it the test
is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from media_pipeline.audio import extract_audio
from media_pipeline.transcribe import transcribe
from tests.unit.media_pipeline.test_mp_transcribe import wer

JFK = Path(__file__).resolve().parents[2] / "data" / "jfk.wav"
JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


@pytest.mark.slow
@pytest.mark.skipif(not JFK.is_file(), reason="run scripts/fetch_test_speech.py first")
def test_jfk_with_base(tmp_path: Path) -> None:
    wav = extract_audio(JFK, tmp_path / "jfk16.wav", timeout=60)
    t = transcribe(wav, language="en", model="base")
    # Measured: WER 0.0 (base, int8, beam 5). A little room for other CPUs.
    assert wer(JFK_TEXT, t.text) <= 0.1, t.text
    assert 10.5 < t.duration < 11.5
    assert all(0 <= w.start <= w.end <= t.duration + 0.05 for w in t.words)
