"""The words and stems of a text, exactly as the embedded index's "en_stem" analyzer makes them.

tantivy's own analyzer (letters and digits, words over 40 letters dropped, lower case, Snowball
English stems) run from Python: the highlighter compares words by these stems, and the embedded
engine indexes neighbouring stems as pairs, so a phrase is found by a lookup instead of checking
every position of two common words. Elasticsearch's mapping (search/elastic.py) makes the same
stems with its "porter2" stemmer.

Welsh passages are not stemmed: an English stemmer would cut Welsh words into false stems
("plant", children, would match "planting"). They go through the "cy_words" analyzer instead:
the same words, lower case, accents folded to plain letters, so "caniatâd" and "caniatad" are
one word (people often type Welsh without its to bach). Elasticsearch's "welsh_words" analyzer
(lowercase and asciifolding) makes the same words.
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


WELSH = "cy"
WELSH_ANALYZER = "cy_words"


@lru_cache(maxsize=1)
def welsh_analyzer() -> tantivy.TextAnalyzer:
    """Words, lower case, accents folded ("Caniatâd" -> "caniatad"); never stemmed."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def is_welsh(language: str) -> bool:
    """Whether a passage in ``language`` (a story's language code) is analysed as Welsh."""
    return language == WELSH


def folded(text: str) -> list[str]:
    """The folded words of Welsh ``text``, in order ("Fy nghaniatâd" -> ["fy", "nghaniatad"])."""
    return list(welsh_analyzer().analyze(text))


@lru_cache(maxsize=20_000)
def fold(word: str) -> str:
    """One Welsh word as the index holds it ("Caniatâd" -> "caniatad")."""
    found = folded(word)
    return found[0] if found else word.lower()


def words_as_indexed(text: str, language: str) -> list[str]:
    """``text``'s words as the index holds them for a passage in ``language``."""
    return folded(text) if is_welsh(language) else stems(text)


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
