"""Searching for a person: their words and filters in, consented passages with highlights out.

The same functions serve the search page and ``GET /api/v1/search`` (``run_search``), and "more
like this" on the page and ``GET /api/v1/passages/<id>/similar`` (``run_similar``). Consent
decides twice: the engine is asked only for passages in the person's scope
(``consent.search_scope``), and each story in the answer is checked again with ``can_view``
against the database, so a lagging index never shows a withdrawn, expired or redacted story.
Words and times come from the database.

Each passage says why it matched: its words (marked), or its meaning (the sentence nearest the
query marked, see ``storyhub.finder.meaning``), or both.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from consent import can_view, listed_in_search, purpose_for, search_scope
from search import ParsedText, PassageHit, SearchMode, SearchRequest, SearchUnavailable, parse_text
from search.highlight import SNIPPET_WORDS, TOKEN, Snippet, snippet
from search.query import MAX_QUERY_CHARS
from storyhub import MAX_ID
from storyhub.extensions import db
from storyhub.finder import meaning
from storyhub.finder.forms import FACET_LABELS, SearchForm
from storyhub.finder.forms import MAX_FILTER_VALUES as MAX_FILTER_VALUES  # the API's document
from storyhub.finder.indexing import get_backend
from storyhub.forms import first_error
from storyhub.models import Language, Passage, ServiceSetting, Story, TellerKind
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind
from storyhub.themes.services import vectors_for


class BadSearch(ValueError):
    """A search value that can't be used; the message says which, in plain words."""


class MatchedBy(StrEnum):
    """Why a passage is in the results (the API's ``matched_by``)."""

    WORDS = "words"  # it holds the query's words (marked)
    MEANING = "meaning"  # it is near the query in meaning (its closest sentence marked)
    WORDS_AND_MEANING = "words_and_meaning"  # both (its words marked)
    FILTERS = "filters"  # no words were asked for: listed by the filters alone


@dataclass
class ResultPassage:
    passage: Passage
    snippet: Snippet
    themes: list[Subtheme]
    matched_by: MatchedBy = MatchedBy.WORDS
    similarity: float | None = None  # cosine similarity to the query, when found by meaning

    @property
    def by_meaning_only(self) -> bool:
        """Found by meaning, not by words: the page says "Similar in meaning"."""
        return self.matched_by == MatchedBy.MEANING


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
    # Said above the results when finding by meaning was asked for but could not be done.
    notice: str | None = None
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
        "subtheme": {s.key: s.shown_label for s in subthemes},
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
    mode = form.mode.data or SearchMode.HYBRID
    text = parse_text(form.q.data or "")
    # The query's meaning, only when it is used and there are words to mean something.
    vector = None if mode == SearchMode.WORDS or text.empty else meaning.query_vector(form.q.data)
    return SearchRequest(
        text=text,
        scope=search_scope(user),
        mode=mode,
        vector=vector,
        filters=form.filters(),
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        story_id=form.story.data,
        page=form.page.data or 1,
    )


MEANING_UNAVAILABLE = lazy_gettext(
    "Finding by meaning isn't working just now, so these passages are found by their words."
)


def run_search(user: Any, args: MultiDict[str, str]) -> SearchPage:
    """Search for ``user``; raises BadSearch for values that can't be used."""
    labels = _labels()
    request = build_request(user, args, labels)
    page = SearchPage(query=(args.get("q") or "")[:MAX_QUERY_CHARS], request=request)
    if request.mode != SearchMode.WORDS and not request.text.empty and request.vector is None:
        page.notice = str(MEANING_UNAVAILABLE)
    return _run(user, page, labels)


# --- "more like this" ------------------------------------------------------------------------


class NotUnderstood(ValueError):
    """A passage in a language the search model does not understand: nothing is like it yet."""


NOT_UNDERSTOOD = lazy_gettext("We can find passages like this one only in English stories for now.")


def similar_offered(story: Story) -> bool:
    """Whether pages offer "more like this" on ``story``'s passages (to someone who may see it):
    it is in search, in a language the model understands."""
    return listed_in_search(story) and meaning.understands(story.language.value)


def passage_for_similar(user: Any, passage_id: int) -> Passage | None:
    """The passage, if ``user`` may find passages like it: its story is one search may show them
    (consent's ``listed_in_search`` and ``can_view``, as for results); otherwise None."""
    passage = db.session.get(Passage, passage_id) if 0 < passage_id <= MAX_ID else None
    if passage is None:
        return None
    story = passage.story
    if not listed_in_search(story) or not can_view(user, story, purpose_for(user)):
        return None
    return passage


def run_similar(user: Any, passage: Passage, args: MultiDict[str, str]) -> SearchPage:
    """The passages nearest ``passage`` in meaning, in the stories ``user`` may see (the query
    string's filters and page apply; its words and mode don't). Check the passage first with
    ``passage_for_similar``. Raises BadSearch for values that can't be used, NotUnderstood for a
    passage in a language the model does not understand."""
    if not meaning.understands(passage.story.language.value):
        raise NotUnderstood(str(NOT_UNDERSTOOD))
    labels = _labels()
    # Its filters and page, read as the search page reads them; words and mode are this search's.
    filters_only = MultiDict([(k, v) for k, v in args.items(multi=True) if k not in ("q", "mode")])
    asked = build_request(user, filters_only, labels)
    request = SearchRequest(
        text=ParsedText(),
        scope=asked.scope,
        mode=SearchMode.MEANING,
        vector=vectors_for([passage.text])[0],  # as the index has it: from the same cache
        exclude_passage_id=passage.id,
        filters=asked.filters,
        date_from=asked.date_from,
        date_to=asked.date_to,
        page=asked.page,
    )
    return _run(user, SearchPage(query="", request=request), labels)


def _run(user: Any, page: SearchPage, labels: dict[str, dict[str, str]]) -> SearchPage:
    """Ask the engine for ``page.request``, then read the answer back from the database."""
    request = page.request
    started = time.perf_counter()
    try:
        found = get_backend().search(request)
    except SearchUnavailable:
        page.unavailable = _("Search is not available just now. Please try again in a minute.")
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
            shown.append(_result_passage(request, hit, passage, confirmed))
        if request.text.empty and request.vector is None:
            shown.sort(key=lambda r: r.passage.position)
        if shown:
            results.append(ResultStory(story, shown))
    _mark_closest_sentences(request, results)
    return results


def _result_passage(
    request: SearchRequest, hit: PassageHit, passage: Passage, themes: list[Subtheme]
) -> ResultPassage:
    """One passage as shown, with why it matched; its words marked when they matched (a passage
    found by meaning alone has its closest sentence marked later, all at once)."""
    by_meaning = hit.by_meaning and request.vector is not None
    similarity = round(float(hit.similarity), 4) if by_meaning else None
    if request.text.empty:
        matched_by = MatchedBy.MEANING if by_meaning else MatchedBy.FILTERS
        return ResultPassage(passage, snippet(passage.text, request.text), themes, matched_by,
                             similarity)  # fmt: skip
    # Welsh words are marked as the index matched them: folded, not stemmed.
    marked = snippet(passage.text, request.text, language=passage.story.language.value)
    if hit.by_words and marked.matched:
        matched_by = MatchedBy.WORDS_AND_MEANING if by_meaning else MatchedBy.WORDS
    elif by_meaning:
        # Found by meaning (its words, if the engine said so, are no longer in it since an edit):
        # its closest sentence is marked instead.
        matched_by = MatchedBy.MEANING
    else:
        matched_by = MatchedBy.WORDS  # words the index still has, edited away a moment ago
    return ResultPassage(passage, marked, themes, matched_by, similarity)


def _mark_closest_sentences(request: SearchRequest, results: list[ResultStory]) -> None:
    """Mark, in each passage found by meaning alone, its sentence nearest the query in meaning."""
    if request.vector is None:
        return
    wanted = [r for story in results for r in story.passages if r.by_meaning_only]
    if not wanted:
        return
    spans = meaning.closest_sentences([r.passage.text for r in wanted], request.vector)
    for result, span in zip(wanted, spans, strict=True):
        if span is not None:
            result.snippet = sentence_snippet(result.passage.text, span)


def sentence_snippet(text: str, span: tuple[int, int], max_words: int = SNIPPET_WORDS) -> Snippet:
    """The part of ``text`` around ``span`` (at most ``max_words`` words), the span marked."""
    tokens = [m.span() for m in TOKEN.finditer(text)]
    first_in = next((i for i, (a, _b) in enumerate(tokens) if a >= span[0]), None)
    if first_in is None:
        return Snippet(((text, False),), False, False)
    # Start a few words before the sentence, so it reads in context, and show as much of it as
    # fits; a sentence longer than the snippet is cut at the end.
    first = max(0, min(first_in - 5, len(tokens) - max_words))
    last = min(len(tokens), first + max_words) - 1
    start = 0 if first == 0 else tokens[first][0]
    end = len(text) if last == len(tokens) - 1 else tokens[last][1]
    mark_start, mark_end = max(start, span[0]), min(end, span[1])
    pieces = [
        (text[start:mark_start], False),
        (text[mark_start:mark_end], True),
        (text[mark_end:end], False),
    ]
    return Snippet(tuple(p for p in pieces if p[0]), first > 0, last < len(tokens) - 1)


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
