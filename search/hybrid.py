"""Hybrid search: what a person's words say and what they mean, fused into one ranking.

One algorithm serves both engines; each engine answers a few plain questions about its index
(``HybridView``): which passages match the words, which of some vector keys are in the person's
scope and filters, and how many passages and stories a set of matches holds.

1. **Meaning.** The passages nearest the query's vector, among those the person may find (their
   scope and filters, and any quoted phrase or prefix, which stay strict in every mode). When few
   passages are allowed (a teller searching their own stories), each allowed passage is scored
   exactly; otherwise the vector index proposes its nearest neighbours and the text engine keeps
   the allowed ones, asking for more neighbours when too many were filtered out. Only passages
   at least ``SIMILARITY_FLOOR`` similar are kept, at most ``MEANING_DEPTH``.
2. **Words.** BM25 over the words, where any word may match (so a question finds the passages
   with most of its words first), and phrases and prefixes must.
3. **Fusion.** Weighted reciprocal rank fusion (``fuse``): each list gives a passage
   ``weight / (k + rank)``. It needs no calibration between BM25 scores and cosines; ``RRF_K``
   and ``MEANING_WEIGHT`` were chosen by measuring (bench/README.md, "Search by meaning").
4. Stories are ranked by their best passage, as for words alone. The results counted (totals and
   facets) are the passages ranked (the meaning list and the best word matches) together with
   every passage that holds all the words: a six-word question counts the passages it is about,
   not the tens of thousands that share one common word with it (and counting stays cheap).

The vector index may lag the text index for a moment, never the other way round in a way that
matters: a vector is reached only through its ``vector_key``, which the text engine holds for
the passage's current words, so a withdrawn, expired or redacted passage's old vector cannot be
found even before the vector index has dropped it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from search.backend import page_of_stories
from search.query import SearchMode, SearchRequest
from search.results import EngineResult, PassageHit, StoryGroup
from search.vectors import VectorIndex

# A passage less similar than this to the query is not "similar in meaning". On the relevance set
# (all-MiniLM-L6-v2; bench/README.md, "Search by meaning"), 0.3 keeps a judged-relevant passage
# for 53 of 59 queries with about 14 passages a query above it; 0.25 keeps 57 with 26 (mostly
# noise), 0.35 only 50.
SIMILARITY_FLOOR = 0.3
# Passages the meaning side contributes at most (the rest of a long tail adds noise, not recall).
MEANING_DEPTH = 100
# Up to this many allowed passages are scored exactly instead of through the approximate index.
EXACT_LIMIT = 5000
# Neighbours asked of the vector index first; more (x4) when too few were in the person's scope
# and the last was still above the floor.
FIRST_NEIGHBOURS = 200
MAX_NEIGHBOURS = 10000  # Elasticsearch's default result window caps one filtering request
RRF_K = 10
# Meaning counts twice as much as words in the fusion: on the relevance set, meaning alone ranks
# better than words alone (bench/README.md), and a weight of 2 with k = 10 beat plain RRF (k = 60).
MEANING_WEIGHT = 2.0
FIRST_FETCH = 200  # word matches read to fill a page; more are read when stories run out
PER_STORY_FETCH = 50

Row = tuple[int, int, float]  # story id, passage id, score


class HybridView(Protocol):
    """One engine's answers to the questions hybrid search asks, on one snapshot of its index."""

    def vectors(self) -> VectorIndex | None:
        """The vector index beside the text index (None: nothing findable by meaning)."""

    def word_rows(self, request: SearchRequest, limit: int) -> list[Row]:
        """Passages matching any word (phrases and prefixes: all), BM25 best first."""

    def story_word_rows(self, request: SearchRequest, story_ids: Sequence[int]) -> list[Row]:
        """Like ``word_rows``, within ``story_ids`` only (up to PER_STORY_FETCH each)."""

    def count_allowed(self, request: SearchRequest) -> int:
        """How many passages the person may find with these filters, phrases and prefixes."""

    def allowed(
        self, request: SearchRequest, keys: Sequence[int] | None, limit: int
    ) -> list[tuple[int, int, int]]:
        """(story id, passage id, vector key) of the allowed passages among ``keys`` (None:
        any allowed passage), at most ``limit``."""

    def totals(
        self, request: SearchRequest, with_words: bool, passage_ids: Sequence[int]
    ) -> tuple[int, int, dict[str, dict[str, int]]]:
        """Passages, stories and facet counts of the passages holding all the words (if
        ``with_words``) together with ``passage_ids``."""


@dataclass(frozen=True)
class Near:
    story_id: int
    passage_id: int
    similarity: float


def nearest_allowed(view: HybridView, request: SearchRequest) -> list[Near]:
    """The passages nearest ``request.vector`` that the person may find, best first."""
    vector = request.vector
    index = view.vectors()
    if vector is None or index is None or len(index) == 0:
        return []
    allowed_count = view.count_allowed(request)
    if allowed_count == 0:
        return []
    found: list[Near] = []
    if allowed_count <= EXACT_LIMIT:
        rows = view.allowed(request, None, allowed_count)
        similarities = index.similarities(vector, [key for _, _, key in rows])
        found = [Near(s, p, similarities[k]) for s, p, k in rows if k in similarities]
    else:
        count = FIRST_NEIGHBOURS
        while True:
            neighbours = index.nearest(vector, count)
            rows = view.allowed(request, [key for key, _ in neighbours], len(neighbours))
            where = {key: (story_id, passage_id) for story_id, passage_id, key in rows}
            found = [Near(*where[k], sim) for k, sim in neighbours if k in where]
            exhausted = len(neighbours) < count or count >= MAX_NEIGHBOURS
            past_floor = bool(neighbours) and neighbours[-1][1] < SIMILARITY_FLOOR
            if len(found) >= MEANING_DEPTH or exhausted or past_floor:
                break
            count = min(MAX_NEIGHBOURS, count * 4)
    kept = [
        n
        for n in found
        if n.similarity >= SIMILARITY_FLOOR and n.passage_id != request.exclude_passage_id
    ]
    kept.sort(key=lambda n: (-n.similarity, n.passage_id))
    return kept[:MEANING_DEPTH]


@dataclass
class Fused:
    story_id: int
    passage_id: int
    score: float = 0.0
    by_words: bool = False
    by_meaning: bool = False
    similarity: float = 0.0

    def hit(self) -> PassageHit:
        return PassageHit(
            self.passage_id, self.score, self.by_words, self.by_meaning, self.similarity
        )


def fuse(
    words: Iterable[Row],
    meaning: Iterable[Near],
    k: int = RRF_K,
    meaning_weight: float = MEANING_WEIGHT,
) -> list[Fused]:
    """Weighted reciprocal rank fusion of the two lists, best first (ties: by passage id)."""
    fused: dict[int, Fused] = {}
    for rank, (story_id, passage_id, _) in enumerate(words, start=1):
        row = fused.setdefault(passage_id, Fused(story_id, passage_id))
        row.score += 1.0 / (k + rank)
        row.by_words = True
    for rank, near in enumerate(meaning, start=1):
        row = fused.setdefault(near.passage_id, Fused(near.story_id, near.passage_id))
        row.score += meaning_weight / (k + rank)
        row.by_meaning = True
        row.similarity = near.similarity
    return sorted(fused.values(), key=lambda r: (-r.score, r.passage_id))


def _groups(
    rows: Sequence[Fused], stories: Sequence[int], per_story: int
) -> dict[int, list[Fused]]:
    chosen: dict[int, list[Fused]] = {story_id: [] for story_id in stories}
    for row in rows:
        hits = chosen.get(row.story_id)
        if hits is not None and len(hits) < per_story:
            hits.append(row)
    return chosen


def hybrid_search(view: HybridView, request: SearchRequest) -> EngineResult:
    """A page of stories for a HYBRID or MEANING request (WORDS requests never come here)."""
    with_words = request.mode == SearchMode.HYBRID and not request.text.empty
    meaning = nearest_allowed(view, request)
    fetch = FIRST_FETCH
    words: list[Row] = []
    while True:
        if with_words:
            words = view.word_rows(request, fetch)
        ranked = fuse(words, meaning)
        page, ran_out = page_of_stories((r.story_id for r in ranked), request)
        if not ran_out or len(words) < fetch:  # the page is full, or every word match is read
            break
        fetch *= 4
    per_story = request.passages_per_story
    chosen = _groups(ranked, page, per_story)
    # A page story with fewer than its share of passages may have more word matches further
    # down the BM25 list: read that story's own.
    lacking = [s for s in page if len(chosen[s]) < per_story]
    if with_words and lacking and len(words) == fetch:
        have = {r.passage_id for rows in chosen.values() for r in rows}
        for story_id, passage_id, score in view.story_word_rows(request, lacking):
            hits = chosen[story_id]
            if passage_id not in have and len(hits) < per_story:
                hits.append(Fused(story_id, passage_id, score * 1e-6, by_words=True))
                have.add(passage_id)
    groups = tuple(StoryGroup(s, tuple(r.hit() for r in chosen[s])) for s in page)
    if not ranked:
        return EngineResult(0, 0, groups, {})
    total, stories, facets = view.totals(request, with_words, [r.passage_id for r in ranked])
    return EngineResult(total, stories, groups, facets)
