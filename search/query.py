"""What a person asked for, as plain data both engines understand; building it is pure.

A query is words, "quoted phrases" and prefixes ending in ``*``. Every word must appear in a
passage (in any form: "listen" finds "listened"), except very common words such as "the", which
are ignored outside quotes so "lonely after the stroke" finds "lonely after my stroke". The same
tokenizing rule (letters and digits, lower case) is used by both engines' analyzers, so a phrase
means the same words everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

# Lucene's English stop words: ignored outside quotes, kept inside them.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
WORD = re.compile(r"[^\W_]+")
# A quoted phrase, a word ending in * (a prefix), or anything else (split into words).
PIECE = re.compile(r'"([^"]*)"?|(\S+)')
MIN_PREFIX = 2
MAX_QUERY_CHARS = 500
MAX_PIECES = 16

# Facet name -> the index field counted (and filtered) for it.
FACET_FIELDS = {
    "kind": "kinds",
    "subtheme": "subthemes",
    "language": "language",
    "teller": "teller_kind",
    "setting": "setting",
    "year": "year",
}


def words_of(text: str) -> list[str]:
    """The lower-case words of ``text``, split as the index splits them."""
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class ParsedText:
    """A query's words (every one must match, by stem), phrases and prefixes."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    prefixes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefixes)


def parse_text(text: str) -> ParsedText:
    """Split what was typed into words, phrases and prefixes; never fails on odd input."""
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    prefixes: list[str] = []
    stops: list[str] = []
    for match in list(PIECE.finditer(text[:MAX_QUERY_CHARS]))[:MAX_PIECES]:
        quoted, bare = match.group(1), match.group(2)
        if quoted is not None:
            words = words_of(quoted)
            if len(words) > 1:
                phrases.append(tuple(words))
            elif words:
                terms.append(words[0])
            continue
        words = words_of(bare)
        if bare.endswith("*") and len(words) == 1 and len(words[0]) >= MIN_PREFIX:
            prefixes.append(words[0])
            continue
        for word in words:
            (stops if word in STOP_WORDS else terms).append(word)
    if not (terms or phrases or prefixes):
        terms = stops  # a query of nothing but common words still means something
    return ParsedText(
        tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(phrases)), tuple(dict.fromkeys(prefixes))
    )


def day_number(day: date | None) -> int | None:
    """A date as the integer yyyymmdd both engines store and compare."""
    return None if day is None else day.year * 10000 + day.month * 100 + day.day


FOREVER = 99991231  # "no review date": the index stores this so one range test covers both


@dataclass(frozen=True)
class Scope:
    """Which indexed passages a person may find, from consent's rules (see consent.search_scope).

    ``everything`` is for staff who look after every story. Anyone else finds their own stories
    (``teller_id``) and stories shared with ``audience`` whose review date is not past ``today``.
    """

    everything: bool = False
    teller_id: int | None = None
    audience: str | None = None
    today: int = 0

    @property
    def nothing(self) -> bool:
        return not self.everything and self.teller_id is None and self.audience is None


class SearchMode(StrEnum):
    """How the text is matched: by meaning and words together (the default), or one of them."""

    HYBRID = "hybrid"
    WORDS = "words"  # every word must appear (by stem): the exact behaviour
    MEANING = "meaning"  # only the similarity of the passage's embedding to the query's


@dataclass(frozen=True)
class SearchRequest:
    """One search: the text, the filters (OR within a facet, AND across), a scope and a page.

    ``vector`` is the query's embedding (unit length), made by the application; without one the
    meaning side is skipped. "More like this" is a MEANING search with a passage's own vector and
    ``exclude_passage_id`` set to that passage.
    """

    text: ParsedText
    scope: Scope
    mode: SearchMode = SearchMode.HYBRID
    vector: npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)
    exclude_passage_id: int | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_from: date | None = None
    date_to: date | None = None
    story_id: int | None = None  # only this story's passages ("more from this story")
    page: int = 1
    stories_per_page: int = 10
    passages_per_story: int = 3
    facet_size: int = 50

    @property
    def first_story(self) -> int:
        return (self.page - 1) * self.stories_per_page
