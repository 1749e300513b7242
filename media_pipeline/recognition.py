"""Judge whether the machine followed the words of a recording, from what it produced.

Whisper gives no error when it can't follow a language: it writes something anyway, often a
phrase on a loop ("i 'n gweld i 'n gweld ...") or words it guessed. Three measures tell that
apart from a usable transcript (thresholds from bench/welsh_speech.py, on real outputs; any one
of them over its line makes the transcript "poor"):

* how sure the decoder was: the mean of its per-segment `avg_logprob`, weighted by duration;
* how many words it was unsure of: the share of words with a probability under 0.5;
* how much of the text repeats itself: the share of word 3-grams already seen earlier;
* Whisper's own per-segment `compression_ratio` (a looping segment compresses very well).

Only the text and the numbers are used, so the judgement also works on a stored transcript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .transcribe import Transcript

POOR: Final = "poor"
GOOD: Final = "good"
# Stored once a person has approved words judged poor (storyhub.transcripts.approve).
CHECKED: Final = "checked"

# Below this the decoder was mostly guessing. Clear speech it follows scores about -0.2 to -0.5.
MIN_MEAN_LOGPROB: Final = -0.8
# A word Whisper gives less than this probability is a guess. Base on Welsh: 55-87% of words;
# on English it follows: 0-3%.
UNSURE_WORD: Final = 0.5
MAX_UNSURE_SHARE: Final = 0.35
# More than this share of repeated 3-grams is a loop (ordinary speech: under 0.1).
MAX_REPEATED_SHARE: Final = 0.3
# Whisper's own fallback threshold for "this segment is looping".
MAX_COMPRESSION_RATIO: Final = 2.4
# Fewer words than this say too little to judge by repetition.
_MIN_WORDS_FOR_REPEATS: Final = 12


@dataclass(frozen=True)
class Recognition:
    """The measures and the judgement: `verdict` is "good" or "poor"; `reasons` say why."""

    verdict: str
    mean_logprob: float
    unsure_share: float
    repeated_share: float
    max_compression: float
    reasons: tuple[str, ...] = ()

    @property
    def poor(self) -> bool:
        """Whether people should check the words before anyone else sees them."""
        return self.verdict == POOR


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def repeated_share(text: str, n: int = 3) -> float:
    """The share of word n-grams in `text` that already appeared earlier in it."""
    words = _words(text)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        if gram in seen:
            repeats += 1
        seen.add(gram)
    return repeats / len(grams)


def judge(transcript: Transcript) -> Recognition:
    """Judge a machine transcript: "poor" when any measure says the machine could not follow."""
    segments = [s for s in transcript.segments if s.text.strip()]
    text = transcript.text or " ".join(s.text for s in segments)
    weights = [max(0.01, s.end - s.start) for s in segments]
    mean_logprob = (
        sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True)) / sum(weights)
        if segments
        else 0.0
    )
    words = [w for w in transcript.words if w.text.strip()]
    unsure = sum(w.probability < UNSURE_WORD for w in words) / len(words) if words else 0.0
    repeats = repeated_share(text) if len(_words(text)) >= _MIN_WORDS_FOR_REPEATS else 0.0
    max_compression = max((s.compression_ratio for s in segments), default=1.0)
    reasons = []
    if mean_logprob < MIN_MEAN_LOGPROB:
        reasons.append("low confidence")
    if unsure > MAX_UNSURE_SHARE:
        reasons.append("unsure words")
    if repeats > MAX_REPEATED_SHARE:
        reasons.append("repeating")
    if max_compression > MAX_COMPRESSION_RATIO:
        reasons.append("looping")
    if transcript.duration > 5 and not _words(text):
        reasons.append("no words")
    return Recognition(
        verdict=POOR if reasons else GOOD,
        mean_logprob=round(mean_logprob, 3),
        unsure_share=round(unsure, 3),
        repeated_share=round(repeats, 3),
        max_compression=round(max_compression, 2),
        reasons=tuple(reasons),
    )
