"""The one interface every search engine implements, and the pieces both share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence

from search.documents import PassageDocument
from search.query import SearchRequest
from search.results import EngineResult, IndexStats, PassageHit, StoryGroup

Progress = Callable[[int], None]  # called with the number of documents written so far


class SearchUnavailable(Exception):
    """The engine could not answer; the page says so in plain words instead of failing."""


class SearchBackend(abc.ABC):
    """An index of passages: one document per passage, replaced a whole story at a time."""

    name: str

    @abc.abstractmethod
    def ensure(self) -> None:
        """Create the index if there is none yet."""

    @abc.abstractmethod
    def replace_stories(self, stories: Mapping[int, Sequence[PassageDocument]]) -> None:
        """Make each story's documents exactly those given (none: the story leaves the index).

        Idempotent: applying the same change twice leaves the same index.
        """

    @abc.abstractmethod
    def rebuild(self, documents: Iterable[PassageDocument], progress: Progress) -> int:
        """Build a new index from ``documents`` and switch searches to it when it is complete.

        Searches keep using the old index until the switch, so search never goes dark.
        Returns the number of documents written.
        """

    @abc.abstractmethod
    def search(self, request: SearchRequest) -> EngineResult:
        """Passages matching ``request`` within its scope, grouped by story, with facets."""

    @abc.abstractmethod
    def stats(self) -> IndexStats:
        """Health, document count and size, for the admin page."""

    def needs_rebuild(self) -> bool:
        """Whether the index was made in a way this version can't read (then ``rebuild`` it)."""
        return False

    def close(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release files or connections."""


def page_of_stories(
    ranked_story_ids: Iterable[int], request: SearchRequest
) -> tuple[list[int], bool]:
    """The stories on the requested page, from story ids in the order of their passages' rank.

    A story's place is that of its best passage. Also says whether the ids ran out before the
    page was full (an engine that fetched only the top rows may then fetch more and ask again).
    """
    wanted = request.first_story + request.stories_per_page
    order: list[int] = []
    seen: set[int] = set()
    for story_id in ranked_story_ids:
        if story_id not in seen:
            seen.add(story_id)
            order.append(story_id)
            if len(order) == wanted:
                return order[request.first_story :], False
    return order[request.first_story :], True


def best_passages(
    ranked: Iterable[tuple[int, int, float]], stories: Sequence[int], per_story: int
) -> tuple[StoryGroup, ...]:
    """Each of ``stories`` with its best (story id, passage id, score) rows, in page order."""
    hits: dict[int, list[PassageHit]] = {story_id: [] for story_id in stories}
    for story_id, passage_id, score in ranked:
        chosen = hits.get(story_id)
        if chosen is not None and len(chosen) < per_story:
            chosen.append(PassageHit(passage_id, score))
    return tuple(StoryGroup(story_id, tuple(hits[story_id])) for story_id in stories)
