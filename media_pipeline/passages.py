"""Group a transcript's words into passages: whole sentences, roughly 15-60 seconds each.

Passages are what people search, cite and clip, so they start and end at sentence boundaries,
preferring the longer pauses between sentences (a change of thought). Only a single sentence
longer than the maximum is cut inside, at its longest pauses. Pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .transcribe import Transcript, Word, join_words

# Sentence-final punctuation, optionally followed by closing quotes or brackets.
# (Written as escapes: U+2026 ellipsis, U+3002 ideographic full stop, U+FF1F/U+FF01 full-width
# ? and !, U+201D/U+2019 closing quotes, U+00BB closing guillemet.)
_SENTENCE_END: Final = re.compile("[.!?\u2026\u3002\uff1f\uff01]+[\"')\\]\u201d\u2019\u00bb]*$")
# "Dr. Jones" is not two sentences.
_ABBREVIATIONS: Final = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "e.g.", "i.e.", "etc.", "vs.", "no."}
)
# A pause this long counts fully; longer pauses earn no extra preference.
_FULL_PAUSE: Final = 2.0
# In-range passages cost at most about 2 each, so this outweighs them for any real story.
_SHORT_PENALTY: Final = 1e6


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences, with the words that make it up."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (plain floats)."""
        return {
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        """Rebuild a Passage from to_dict() output."""
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            words=[Word.from_dict(w) for w in data.get("words", [])],
        )


def ends_sentence(word: Word) -> bool:
    """True if `word` ends a sentence (ends in . ! ? …, not a known abbreviation)."""
    text = word.text.strip()
    return bool(_SENTENCE_END.search(text)) and text.lower() not in _ABBREVIATIONS


def split_sentences(words: Sequence[Word]) -> list[list[Word]]:
    """Split words into sentences at sentence-final punctuation (the rest is one last sentence)."""
    sentences: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if ends_sentence(word):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _span(words: Sequence[Word]) -> float:
    return words[-1].end - words[0].start


def _gap(before: Sequence[Word], after: Sequence[Word]) -> float:
    return max(0.0, after[0].start - before[-1].end)


def _split_long(sentence: list[Word], max_seconds: float) -> list[list[Word]]:
    """Cut a too-long sentence at its longest internal pause, repeatedly, until pieces fit."""
    if _span(sentence) <= max_seconds or len(sentence) < 2:
        return [sentence]
    middle = (sentence[0].start + sentence[-1].end) / 2
    # Longest pause wins; ties go to the cut nearest the middle, then the earliest.
    cut = max(
        range(1, len(sentence)),
        key=lambda i: (
            round(_gap(sentence[:i], sentence[i:]), 6),
            -abs(sentence[i].start - middle),
            -i,
        ),
    )
    return _split_long(sentence[:cut], max_seconds) + _split_long(sentence[cut:], max_seconds)


def make_passages(
    transcript: Transcript | Sequence[Word],
    *,
    min_seconds: float = 15,
    max_seconds: float = 60,
) -> list[Passage]:
    """Group words into passages of whole sentences, about `min_seconds`-`max_seconds` long.

    Every word lands in exactly one passage, in order. A story no longer than `max_seconds`
    is one passage. Otherwise breaks fall between sentences, chosen (by dynamic programming)
    to keep every passage within the bounds, favouring long pauses and lengths near the middle
    of the range. A passage is shorter than `min_seconds` only when the sentences leave no
    other way, and longer than `max_seconds` only when one sentence is (after cutting it at
    its longest pauses) a single word longer than that.
    """
    if not 0 <= min_seconds <= max_seconds or max_seconds <= 0:
        raise ValueError("need 0 <= min_seconds <= max_seconds and max_seconds > 0")
    words = list(transcript.words if isinstance(transcript, Transcript) else transcript)
    if not words:
        return []
    if _span(words) <= max_seconds:
        return [_passage(words)]
    units = [
        piece for sentence in split_sentences(words) for piece in _split_long(sentence, max_seconds)
    ]
    groups = _best_grouping(units, min_seconds, max_seconds)
    return [_passage([w for unit in group for w in unit]) for group in groups]


def _best_grouping(
    units: Sequence[Sequence[Word]], min_seconds: float, max_seconds: float
) -> list[list[Sequence[Word]]]:
    """Choose where to break between units (minimum total cost, ties to earlier breaks)."""
    n = len(units)
    target = (min_seconds + max_seconds) / 2
    inf = float("inf")
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for end in range(1, n + 1):
        for begin in range(end - 1, -1, -1):
            duration = units[end - 1][-1].end - units[begin][0].start
            if duration > max_seconds and end - begin > 1:
                break  # adding earlier units only makes it longer
            if best[begin] == inf:
                continue
            cost = best[begin] + _passage_cost(duration, min_seconds, max_seconds, target)
            if end < n:  # a break after this passage: cheaper at a longer pause
                pause = _gap(units[end - 1], units[end])
                cost += 1.0 - min(pause, _FULL_PAUSE) / _FULL_PAUSE
            if cost < best[end] - 1e-12:
                best[end], back[end] = cost, begin
    groups: list[list[Sequence[Word]]] = []
    end = n
    while end > 0:
        begin = back[end]
        groups.append(list(units[begin:end]))
        end = begin
    groups.reverse()
    return groups


def _passage_cost(duration: float, min_seconds: float, max_seconds: float, target: float) -> float:
    cost = abs(duration - target) / max(target, 1e-9)  # 0..1 inside the range
    if duration < min_seconds:
        # Worse than any number of in-range choices, but allowed when nothing else fits; among
        # forced short passages, fewer and less short is better.
        cost += _SHORT_PENALTY * (1 + (min_seconds - duration) / max(min_seconds, 1e-9))
    if duration > max_seconds:  # only a single unit (one very long word) can be this long
        cost += _SHORT_PENALTY * 1000
    return cost


def _passage(words: list[Word]) -> Passage:
    return Passage(start=words[0].start, end=words[-1].end, text=join_words(words), words=words)
