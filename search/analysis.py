"""The words and stems of a text, exactly as the embedded index's "en_stem" analyzer makes them.

tantivy's own analyzer (letters and digits, words over 40 letters dropped, lower case, Snowball
English stems) run from Python: the highlighter compares words by these stems, and the embedded
engine indexes neighbouring stems as pairs, so a phrase is found by a lookup instead of checking
every position of two common words. Elasticsearch's mapping (search/elastic.py) makes the same
stems with its "porter2" stemmer.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import tantivy


@lru_cache(maxsize=1)
def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def stems(text: str) -> list[str]:
    """The stems of ``text``'s words, in order ("She listened" -> ["she", "listen"])."""
    return list(_analyzer().analyze(text))


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """The stem of one word ("listened" -> "listen")."""
    found = stems(word)
    return found[0] if found else word.lower()


def pairs(words: list[str]) -> list[str]:
    """Neighbouring stems joined by "_" (["listen", "to", "me"] -> ["listen_to", "to_me"])."""
    return [f"{a}_{b}" for a, b in itertools.pairwise(words)]
