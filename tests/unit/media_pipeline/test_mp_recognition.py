"""The recognition judgement on real Whisper outputs (kept by bench/welsh_speech.py, base model,
int8): Welsh that base could not follow is "poor", English it followed is "good"; and the loop
the demo's Welsh story once came out as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from media_pipeline.recognition import GOOD, POOR, judge, repeated_share
from media_pipeline.transcribe import Segment, Transcript, Word

KEPT = Path(__file__).resolve().parents[2] / "data" / "recognition"


def kept(name: str) -> Transcript:
    return Transcript.from_dict(json.loads((KEPT / name).read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        # The demo's Welsh story (storyhub/demo.py, espeak-ng cy): WER 1.26.
        ("welsh-demo-base.json", POOR),
        # Eight sentences about care and support (espeak-ng cy): WER 0.94.
        ("welsh-care-base.json", POOR),
        # The same sentences in English (espeak-ng en-gb): WER 0.02.
        ("english-care-base.json", GOOD),
        # JFK, recorded speech: WER 0.
        ("english-jfk-base.json", GOOD),
    ],
)
def test_real_outputs_are_judged(name: str, verdict: str) -> None:
    got = judge(kept(name))
    assert got.verdict == verdict, got
    assert got.poor == (verdict == POOR)
    assert bool(got.reasons) == got.poor


def test_a_phrase_on_a_loop_is_poor_even_when_the_decoder_was_sure() -> None:
    text = " ".join(["i 'n gweld"] * 12)
    words = [Word(i * 0.3, i * 0.3 + 0.2, f" {w}", 0.9) for i, w in enumerate(text.split())]
    loop = Transcript(
        language="cy",
        duration=12.0,
        words=words,
        segments=[Segment(0.0, 12.0, text, avg_logprob=-0.3, compression_ratio=2.0)],
        model="base",
    )
    got = judge(loop)
    assert got.poor and got.reasons == ("repeating",)
    assert repeated_share(text) > 0.8
    assert repeated_share("Mae'r gofalwr yn dod bob bore i fy helpu i godi ac i wisgo.") == 0


def test_silence_with_no_words_is_poor_but_a_short_quiet_clip_is_not_judged_by_it() -> None:
    assert judge(Transcript(language="cy", duration=30.0)).reasons == ("no words",)
    assert not judge(Transcript(language="cy", duration=2.0)).poor


@pytest.mark.slow
def test_base_on_the_demos_welsh_story_is_judged_poor_end_to_end(tmp_path: Path) -> None:
    from media_pipeline.audio import extract_audio
    from media_pipeline.synth import speak
    from media_pipeline.transcribe import transcribe

    said = (
        "Fy enw i yw Dafydd. Dw i'n byw yn Abertawe gyda fy ngwraig. "
        "Ar ôl y strôc, roedd hi'n unig iawn. Roedd hi'n aros yn y tŷ bob dydd."
    )
    wav = extract_audio(speak(said, tmp_path / "cy.wav", voice="cy"), tmp_path / "cy16.wav")
    heard = transcribe(wav, language="cy", model="base")  # as the worker asks for Welsh
    assert judge(heard).poor, (heard.text, judge(heard))
