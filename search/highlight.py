"""Highlighted snippets, made from the words as the database has them now.

Both engines return ids only and this one highlighter marks the words, so results look the same
on either engine, and a passage redacted a moment ago shows its "[removed]" words even if the
index has not caught up yet. Words are compared by the same Snowball English stems the indexes
use (search.analysis), or for a Welsh passage by its folded words, as the index holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.analysis import fold, is_welsh, stem
from search.query import ParsedText

TOKEN = re.compile(r"[^\W_]+")
SNIPPET_WORDS = 40


@dataclass(frozen=True)
class Snippet:
    """Pieces of text, each marked or not; ``cut_before``/``cut_after`` say words were left out."""

    pieces: tuple[tuple[str, bool], ...]
    cut_before: bool
    cut_after: bool

    @property
    def matched(self) -> bool:
        return any(marked for _, marked in self.pieces)


def _marks(words: list[str], parsed: ParsedText, language: str) -> list[bool]:
    as_indexed = fold if is_welsh(language) else stem
    stems = [as_indexed(w) for w in words]
    # Prefixes match words as typed; in Welsh, also with accents folded ("caniat*", "caniatâ*").
    lowered = [fold(w) if is_welsh(language) else w.lower() for w in words]
    starts = [fold(p) if is_welsh(language) else p for p in parsed.prefixes]
    wanted = {as_indexed(t) for t in parsed.terms}
    marks = [s in wanted or any(w.startswith(p) for p in starts)
             for s, w in zip(stems, lowered, strict=True)]  # fmt: skip
    for phrase in parsed.phrases:
        target = [as_indexed(w) for w in phrase]
        size = len(target)
        for i in range(len(stems) - size + 1):
            if stems[i : i + size] == target:
                marks[i : i + size] = [True] * size
    return marks


def snippet(
    text: str, parsed: ParsedText, max_words: int = SNIPPET_WORDS, language: str = "en"
) -> Snippet:
    """The part of ``text`` (at most ``max_words`` words) with the most matches, marked.

    ``language`` is the passage's (a story's language code): Welsh words are compared unstemmed.
    """
    spans = [m.span() for m in TOKEN.finditer(text)]
    if not spans:
        return Snippet(((text, False),), False, False)
    marks = _marks([text[a:b] for a, b in spans], parsed, language)
    first = 0
    if len(spans) > max_words:
        best = count = sum(marks[:max_words])
        for i in range(1, len(spans) - max_words + 1):
            count += marks[i + max_words - 1] - marks[i - 1]
            if count > best:
                best, first = count, i
        # Start a few words before the first match so it reads in context.
        if best and first:
            lead = next(i for i in range(first, first + max_words) if marks[i])
            first = max(0, min(lead - 5, len(spans) - max_words))
    last = min(len(spans), first + max_words) - 1
    start = 0 if first == 0 else spans[first][0]
    end = len(text) if last == len(spans) - 1 else spans[last][1]
    pieces: list[tuple[str, bool]] = []
    position = start
    for i in range(first, last + 1):
        a, b = spans[i]
        if marks[i]:
            if a > position:
                pieces.append((text[position:a], False))
            pieces.append((text[a:b], True))
            position = b
    if end > position:
        pieces.append((text[position:end], False))
    return Snippet(tuple(pieces), first > 0, last < len(spans) - 1)
