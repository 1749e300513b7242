"""Searching for a person: their words and filters in, consented passages with highlights out.

The same function serves the search page and ``GET /api/v1/search``. Consent decides twice:
the engine is asked only for passages in the person's scope (``consent.search_scope``), and each
story in the answer is checked again with ``can_view`` against the database, so a lagging index
never shows a withdrawn, expired or redacted story. Words and times come from the database.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from consent import can_view, listed_in_search, purpose_for, search_scope
from search import SearchRequest, SearchUnavailable, parse_text
from search.highlight import Snippet, snippet
from search.query import MAX_QUERY_CHARS
from storyhub.extensions import db
from storyhub.finder.forms import FACET_LABELS, SearchForm
from storyhub.finder.forms import MAX_FILTER_VALUES as MAX_FILTER_VALUES  # the API's document
from storyhub.finder.indexing import get_backend
from storyhub.forms import first_error
from storyhub.models import Language, Passage, ServiceSetting, Story, TellerKind
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind


class BadSearch(ValueError):
    """A search value that can't be used; the message says which, in plain words."""


@dataclass
class ResultPassage:
    passage: Passage
    snippet: Snippet
    themes: list[Subtheme]


@dataclass
class ResultStory:
    story: Story
    passages: list[ResultPassage]


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    name: str
    label: str
    options: list[FacetOption]


@dataclass
class SearchPage:
    query: str
    request: SearchRequest
    total_passages: int = 0
    total_stories: int = 0
    stories: list[ResultStory] = field(default_factory=list)
    facets: list[Facet] = field(default_factory=list)
    unavailable: str | None = None
    engine_seconds: float = 0.0

    @property
    def chosen_labels(self) -> list[str]:
        """The names of the filter values chosen, to say what the results are limited to."""
        return [o.label for f in self.facets for o in f.options if o.selected]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total_stories / self.request.stories_per_page))


def _labels() -> dict[str, dict[str, str]]:
    subthemes = db.session.scalars(select(Subtheme).order_by(Subtheme.position)).all()
    return {
        "kind": {k.value: k.label for k in ThemeKind},
        "subtheme": {s.key: s.label for s in subthemes},
        "language": {lang.value: lang.label for lang in Language},
        "teller": {t.value: t.label for t in TellerKind},
        "setting": {s.value: s.label for s in ServiceSetting},
    }


def build_request(
    user: Any, args: MultiDict[str, str], labels: dict[str, dict[str, str]]
) -> SearchRequest:
    """A SearchRequest from query-string arguments, read by the search form; ``BadSearch``
    (with the form's first message) for values that can't be used."""
    form = SearchForm(args, labels)
    if not form.validate():
        raise BadSearch(first_error(form))
    return SearchRequest(
        text=parse_text(form.q.data or ""),
        scope=search_scope(user),
        filters=form.filters(),
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        story_id=form.story.data,
        page=form.page.data or 1,
    )


def run_search(user: Any, args: MultiDict[str, str]) -> SearchPage:
    """Search for ``user``; raises BadSearch for values that can't be used."""
    labels = _labels()
    request = build_request(user, args, labels)
    page = SearchPage(query=(args.get("q") or "")[:MAX_QUERY_CHARS], request=request)
    started = time.perf_counter()
    try:
        found = get_backend().search(request)
    except SearchUnavailable:
        page.unavailable = "Search is not available just now. Please try again in a minute."
        return page
    finally:
        page.engine_seconds = time.perf_counter() - started
    page.total_passages, page.total_stories = found.total_passages, found.total_stories
    page.stories = _read_back(user, request, found.groups)
    page.facets = _facets(request, found.facets, labels)
    return page


def _read_back(user: Any, request: SearchRequest, groups: Any) -> list[ResultStory]:
    """The engine's groups as stories and passages from the database, checked again."""
    story_ids = [g.story_id for g in groups]
    passage_ids = [h.passage_id for g in groups for h in g.hits]
    if not story_ids:
        return []
    stories = {
        s.id: s
        for s in db.session.scalars(
            select(Story).where(Story.id.in_(story_ids)).options(selectinload(Story.consent))
        )
    }
    passages = {
        p.id: p
        for p in db.session.scalars(
            select(Passage)
            .where(Passage.id.in_(passage_ids))
            .options(selectinload(Passage.themes).joinedload(PassageTheme.subtheme))
        )
    }
    purpose = purpose_for(user)
    results = []
    for group in groups:
        story = stories.get(group.story_id)
        if story is None or not listed_in_search(story) or not can_view(user, story, purpose):
            continue  # the index lags behind a withdrawal, an expiry or an erasure
        shown = []
        for hit in group.hits:
            passage = passages.get(hit.passage_id)
            if passage is None or passage.story_id != story.id:
                continue  # merged or removed since it was indexed
            confirmed = [t.subtheme for t in passage.themes if t.status == TagStatus.CONFIRMED]
            shown.append(ResultPassage(passage, snippet(passage.text, request.text), confirmed))
        if request.text.empty:
            shown.sort(key=lambda r: r.passage.position)
        if shown:
            results.append(ResultStory(story, shown))
    return results


def _facets(
    request: SearchRequest, counts: dict[str, dict[str, int]], labels: dict[str, dict[str, str]]
) -> list[Facet]:
    facets = []
    for name in FACET_LABELS:
        chosen = set(request.filters.get(name, ()))
        known = labels.get(name)
        found = counts.get(name, {})
        values = list(known) if known is not None else sorted(found, reverse=True)
        options = [
            FacetOption(v, (known or {}).get(v, v), found.get(v, 0), v in chosen)
            for v in values
            if found.get(v) or v in chosen
        ]
        if options:
            facets.append(Facet(name, FACET_LABELS[name], options))
    return facets
