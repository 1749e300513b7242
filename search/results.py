"""What an engine answers: matching passages grouped by story, totals and facet counts.

Engines return ids and scores only. Words and times are read again from the database (the
truth) when a page is shown, so a lagging index can never show words that were since redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PassageHit:
    passage_id: int
    score: float
    by_words: bool = True  # the passage holds the query's words
    by_meaning: bool = False  # the passage was among those nearest the query in meaning
    similarity: float = 0.0  # cosine similarity to the query's vector, when by_meaning


@dataclass(frozen=True)
class StoryGroup:
    """One story and its best-matching passages, best first."""

    story_id: int
    hits: tuple[PassageHit, ...]


@dataclass(frozen=True)
class EngineResult:
    total_passages: int
    total_stories: int
    groups: tuple[StoryGroup, ...]
    # facet name -> {value: number of matching passages}
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexStats:
    """What the admin page shows about an index."""

    engine: str
    healthy: bool
    documents: int
    size_bytes: int
    detail: str = ""
