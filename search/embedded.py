"""The embedded engine: a tantivy index in a folder, no server to run.

Chosen by the figures in platform.md: on 400,000 passages tantivy answers a single-term query in
about 1 ms (p95 about 2 ms), where SQLite FTS5 takes about 19 ms (p95 about 70 ms) and
Elasticsearch about 13 ms (p95 about 80 ms). It stems (English Snowball), matches phrases by
position and counts facets with aggregations over its column store ("fast fields").

Layout: ``<root>/CURRENT`` names the live index folder. A rebuild writes a new folder and then
replaces CURRENT in one rename, so searches never see a half-built index; each process notices
the switch at its next search. Each index folder holds its passages' vectors in ``vectors/``
(search.vectors), so a rebuild switches words and meanings together; tantivy has no vector
search, so it filters the vector index's candidates by their ``vector_key`` (search.hybrid).
One writer at a time: tantivy locks the folder, so writers in
this process take turns and a writer in another process is waited for.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import tantivy
from tantivy import FieldType, Occur, Query

from search.analysis import (
    WELSH_ANALYZER,
    fold,
    folded,
    is_welsh,
    pairs,
    stems,
    welsh_analyzer,
)
from search.backend import (
    Progress,
    SearchBackend,
    SearchUnavailable,
    best_passages,
    page_of_stories,
)
from search.documents import PassageDocument
from search.hybrid import PER_STORY_FETCH as STORY_WORD_ROWS
from search.hybrid import Row, hybrid_search
from search.query import FACET_FIELDS, SearchMode, SearchRequest, day_number
from search.results import EngineResult, IndexStats
from search.vectors import VectorIndex

# Part of each index folder's name; a folder made with another schema is rebuilt, not read.
# 4: Welsh passages in their own unstemmed field ("text_cy").
SCHEMA_VERSION = 4
# Welsh pairs are kept apart from English ones: a Welsh pair is never an English stem pair.
WELSH_PAIR = "cy:"
KEYWORD_FIELDS = ("language", "teller_kind", "setting", "year", "kinds", "subthemes", "audiences")
WRITER_HEAP = 64 * 1024 * 1024
# A rebuild writes everything at once: a bigger budget leaves fewer segments to search.
REBUILD_HEAP = 256 * 1024 * 1024
LOCK_WAIT_SECONDS = 60.0
# Rows fetched to find a page of stories; more are fetched when passages crowd into few stories.
FIRST_FETCH = 200
# Rows read to pick each page story's best passages.
PER_STORY_FETCH = 50


# Threads that count while the ranking runs; a few requests at once can share them.
_COUNTERS = ThreadPoolExecutor(max_workers=6, thread_name_prefix="search-facets")


def build_schema() -> tantivy.Schema:
    """One document per passage. Only ids are stored: words are read from the database."""
    builder = tantivy.SchemaBuilder()
    for name in ("passage_id", "story_id", "vector_key"):
        builder.add_integer_field(name, stored=True, indexed=True, fast=True)
    for name in ("story_date", "teller_id", "review_by"):
        builder.add_integer_field(name, indexed=True, fast=True)
    # Stemmed words for matching and phrases; lower-cased unstemmed words for prefixes.
    # English passages' words go in "text"; Welsh passages' in "text_cy", folded, not stemmed.
    builder.add_text_field("text", tokenizer_name="en_stem", index_option="position")
    builder.add_text_field("text_cy", tokenizer_name=WELSH_ANALYZER, index_option="position")
    builder.add_text_field("text_exact", tokenizer_name="default", index_option="basic")
    # Neighbouring stems as single terms ("listen_to"): a phrase becomes term lookups.
    builder.add_text_field("pairs", tokenizer_name="raw", index_option="freq")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    return builder.build()


def _document(doc: PassageDocument) -> tantivy.Document:
    out = tantivy.Document()
    out.add_integer("passage_id", doc.passage_id)
    out.add_integer("story_id", doc.story_id)
    out.add_integer("vector_key", doc.vector_key)
    out.add_integer("story_date", doc.story_date)
    out.add_integer("teller_id", doc.teller_id)
    out.add_integer("review_by", doc.review_by)
    out.add_text("text_exact", doc.text)
    if is_welsh(doc.language):
        out.add_text("text_cy", doc.text)
        for pair in pairs(folded(doc.text)):
            out.add_text("pairs", WELSH_PAIR + pair)
    else:
        out.add_text("text", doc.text)
        for pair in pairs(stems(doc.text)):
            out.add_text("pairs", pair)
    out.add_text("language", doc.language)
    out.add_text("teller_kind", doc.teller_kind)
    out.add_text("setting", doc.setting)
    out.add_text("year", doc.year)
    for name in ("kinds", "subthemes", "audiences"):
        for value in getattr(doc, name):
            out.add_text(name, value)
    return out


def _with_analyzers(index: tantivy.Index) -> tantivy.Index:
    """``index`` able to read and write Welsh words (custom analyzers live in the process)."""
    index.register_tokenizer(WELSH_ANALYZER, welsh_analyzer())
    return index


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*") if f.is_file())


class EmbeddedBackend(SearchBackend):
    """Search with tantivy in ``root`` (a folder this process may write)."""

    name = "embedded"

    def __init__(self, root: str | os.PathLike[str], dimensions: int = 384) -> None:
        self.root = Path(root)
        self.dimensions = dimensions
        self.schema = build_schema()
        self._write_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._index: tantivy.Index | None = None
        self._opened: str | None = None
        self._vectors: VectorIndex | None = None

    # --- the live folder -------------------------------------------------------------------

    @property
    def _pointer(self) -> Path:
        return self.root / "CURRENT"

    def _current_name(self) -> str | None:
        try:
            return self._pointer.read_text().strip() or None
        except FileNotFoundError:
            return None

    def _switch_to(self, name: str) -> None:
        temporary = self.root / f".CURRENT.{uuid.uuid4().hex}"
        temporary.write_text(name)
        os.replace(temporary, self._pointer)

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._open_lock:
            if self._current_name() is None:
                name = self._new_folder()
                tantivy.Index(self.schema, path=str(self.root / name))
                self._switch_to(name)

    def _new_folder(self) -> str:
        name = f"index-v{SCHEMA_VERSION}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        (self.root / name).mkdir(parents=True)
        return name

    def needs_rebuild(self) -> bool:
        name = self._current_name()
        return name is not None and not name.startswith(f"index-v{SCHEMA_VERSION}-")

    def _live(self) -> tantivy.Index:
        """The live index, reopened when another process switched CURRENT."""
        name = self._current_name()
        if name is None:
            self.ensure()
            name = self._current_name()
        if self.needs_rebuild():
            raise SearchUnavailable("the search index was made by an older storyhub: rebuild it")
        with self._open_lock:
            if self._index is None or self._opened != name:
                try:
                    self._index = _with_analyzers(tantivy.Index.open(str(self.root / str(name))))
                except (OSError, ValueError) as err:
                    raise SearchUnavailable(f"the search index could not be opened: {err}") from err
                self._opened = name
                self._vectors = VectorIndex(self.root / str(name) / "vectors", self.dimensions)
            return self._index

    def _live_vectors(self) -> VectorIndex:
        """The vectors of the index ``_live`` opened last."""
        self._live()
        assert self._vectors is not None
        return self._vectors

    def _writer(self, index: tantivy.Index) -> Any:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return index.writer(WRITER_HEAP, 1)
            except ValueError as err:  # LockBusy: another process is writing
                if "lock" not in str(err).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # --- writing ---------------------------------------------------------------------------

    def replace_stories(self, stories: Mapping[int, Sequence[PassageDocument]]) -> None:
        if not stories:
            return
        with self._write_lock:
            index = self._live()
            writer = self._writer(index)
            try:
                for story_id, documents in stories.items():
                    writer.delete_documents_by_term("story_id", story_id)
                    for doc in documents:
                        writer.add_document(_document(doc))
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            index.reload()
            # After the words: an old vector is already out of reach (its key left the text
            # index); this removes it from the disk.
            self._live_vectors().replace_stories(_story_vectors(stories))

    def rebuild(self, documents: Iterable[PassageDocument], progress: Progress) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        name = self._new_folder()
        index = _with_analyzers(tantivy.Index(self.schema, path=str(self.root / name)))
        writer = index.writer(REBUILD_HEAP, 1)
        count = 0
        # Vectors are kept as float16 while the words are written (half the memory), then built
        # into the new folder's vector index before the switch.
        keys: list[tuple[int, int]] = []
        vectors: list[np.ndarray] = []
        for doc in documents:
            writer.add_document(_document(doc))
            if doc.vector is not None:
                keys.append((doc.story_id, doc.vector_key))
                vectors.append(np.asarray(doc.vector, dtype=np.float16))
            count += 1
            if count % 5000 == 0:
                progress(count)
        writer.commit()
        writer.wait_merging_threads()
        VectorIndex(self.root / name / "vectors", self.dimensions).build(
            (story_id, key, vector.astype(np.float32))
            for (story_id, key), vector in zip(keys, vectors, strict=True)
        )
        progress(count)
        with self._write_lock:
            previous = self._current_name()
            self._switch_to(name)
        self._remove_old_folders(keep={name, previous})
        return count

    def _remove_old_folders(self, keep: set[str | None]) -> None:
        """Delete folders older than the last two (a process may still be reading the previous)."""
        for folder in self.root.glob("index-*"):
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    # --- reading ---------------------------------------------------------------------------

    def _filters(self, request: SearchRequest) -> list[Query]:
        schema = self.schema
        clauses: list[Query] = []
        scope = request.scope
        if not scope.everything:
            allowed: list[tuple[Occur, Query]] = []
            if scope.teller_id is not None:
                allowed.append(
                    (Occur.Should, Query.term_query(schema, "teller_id", scope.teller_id))
                )
            if scope.audience is not None:
                shared = Query.boolean_query(
                    [
                        (Occur.Must, Query.term_query(schema, "audiences", scope.audience)),
                        (
                            Occur.Must,
                            Query.range_query(
                                schema, "review_by", FieldType.Integer, scope.today, None
                            ),
                        ),
                    ]
                )
                allowed.append((Occur.Should, shared))
            clauses.append(Query.boolean_query(allowed) if allowed else Query.empty_query())
        for facet, values in request.filters.items():
            if values:
                clauses.append(Query.term_set_query(schema, FACET_FIELDS[facet], list(values)))
        if request.story_id is not None:
            clauses.append(Query.term_query(schema, "story_id", request.story_id))
        low, high = day_number(request.date_from), day_number(request.date_to)
        if low is not None or high is not None:
            clauses.append(Query.range_query(schema, "story_date", FieldType.Integer, low, high))
        return clauses

    def _strict_parts(self, request: SearchRequest, index: tantivy.Index) -> list[Query]:
        """Quoted phrases and prefixes: these must match in every mode."""
        parts: list[Query] = []
        for phrase in request.text.phrases:
            # In English passages (stems) or in Welsh ones (folded words).
            english = self._phrase_parts(phrase, index, "text", "", pairs(stems(" ".join(phrase))))
            welsh_pairs = pairs(folded(" ".join(phrase)))
            welsh = self._phrase_parts(phrase, index, "text_cy", WELSH_PAIR, welsh_pairs)
            parts.append(Query.boolean_query([(Occur.Should, english), (Occur.Should, welsh)]))
        for prefix in request.text.prefixes:
            either = [
                (Occur.Should, Query.regex_query(self.schema, field, _regex_escape(start) + ".*"))
                for field, start in (("text_exact", prefix), ("text_cy", fold(prefix)))
            ]
            parts.append(Query.boolean_query(either))
        return parts

    def _phrase_parts(
        self, phrase: Sequence[str], index: tantivy.Index, field: str, tag: str, wanted: list[str]
    ) -> Query:
        """A phrase in one field: its neighbouring words as pair terms, and its positions."""
        # The pairs of neighbouring words find the few passages that can hold the phrase;
        # for two words they are the phrase. Longer ones also check every position.
        parts = [Query.term_query(self.schema, "pairs", tag + pair) for pair in wanted]
        if len(wanted) != 1:
            parts.append(index.parse_query('"' + " ".join(phrase) + '"', [field]))
        return Query.boolean_query([(Occur.Must, part) for part in parts])

    def _term_parts(self, request: SearchRequest, index: tantivy.Index) -> list[Query]:
        # Each word goes through each field's own analyzer (English stems, Welsh folded words),
        # one at a time: the pieces are letters and digits only, so nothing typed can change the
        # query's shape. A passage is in one field only, so an English passage scores as before.
        return [index.parse_query(term, ["text", "text_cy"]) for term in request.text.terms]

    def _text_query(self, request: SearchRequest, index: tantivy.Index) -> Query | None:
        """Every word, phrase and prefix must match (WORDS)."""
        if request.text.empty:
            return None
        parts = self._term_parts(request, index) + self._strict_parts(request, index)
        return Query.boolean_query([(Occur.Must, part) for part in parts])

    def _any_words_query(self, request: SearchRequest, index: tantivy.Index) -> Query | None:
        """Any word may match, scored by BM25; phrases and prefixes must (HYBRID's words)."""
        if request.text.empty:
            return None
        clauses = [(Occur.Should, part) for part in self._term_parts(request, index)]
        clauses += [(Occur.Must, part) for part in self._strict_parts(request, index)]
        return Query.boolean_query(clauses)

    def search(self, request: SearchRequest) -> EngineResult:
        if request.scope.nothing:
            return EngineResult(0, 0, ())
        if request.mode != SearchMode.WORDS and (
            request.vector is not None or not request.text.empty
        ):
            return hybrid_search(_TantivyView(self, request), request)
        return self._word_search(request)

    def _word_search(self, request: SearchRequest) -> EngineResult:
        """Every word must match (WORDS), or no text at all (browsing, newest first)."""
        index = self._live()
        searcher = index.searcher()
        text = self._text_query(request, index)
        filters = self._filters(request)
        # Filters must not change scores: they are wrapped to score zero.
        clauses: list[tuple[Occur, Query]] = [
            (Occur.Must, Query.const_score_query(f, 0.0)) for f in filters
        ]
        if text is not None:
            clauses.append((Occur.Must, text))
        query = Query.boolean_query(clauses) if clauses else Query.all_query()
        order_by = None if text is not None else "story_date"  # browsing: newest stories first

        # Facet counts and the number of stories are counted in two other threads while this one
        # ranks: tantivy lets go of Python's lock as it works, and each pass reads every match.
        aggs: dict[str, Any] = {
            facet: {"terms": {"field": field, "size": request.facet_size}}
            for facet, field in FACET_FIELDS.items()
        }
        counting = _COUNTERS.submit(searcher.aggregate, query, aggs)
        stories_agg = {"stories": {"cardinality": {"field": "story_id"}}}
        counting_stories = _COUNTERS.submit(searcher.aggregate, query, stories_agg)
        fetch = FIRST_FETCH
        while True:
            found = searcher.search(query, fetch, count=True, order_by_field=order_by)
            addresses = [address for _, address in found.hits]
            story_ids = _ints(searcher.fast_field_values("story_id", addresses))
            page, ran_out = page_of_stories(story_ids, request)
            total = _count(found)
            if not ran_out or len(addresses) >= total:
                break
            fetch *= 4
        scores = [float(score) if text is not None else 0.0 for score, _ in found.hits]
        passage_ids = _ints(searcher.fast_field_values("passage_id", addresses))
        per_story = request.passages_per_story
        groups = best_passages(zip(story_ids, passage_ids, scores, strict=True), page, per_story)
        # A story with fewer than its share of passages among the rows read so far may have more
        # further down: read all of those stories' matching passages.
        lacking = [g.story_id for g in groups if len(g.hits) < per_story]
        if lacking and len(addresses) < total:
            only = Query.term_set_query(self.schema, "story_id", lacking)
            within = Query.boolean_query(
                [(Occur.Must, query), (Occur.Must, Query.const_score_query(only, 0.0))]
            )
            rows = searcher.search(within, PER_STORY_FETCH * len(lacking), order_by_field=order_by)
            more = [address for _, address in rows.hits]
            fuller = best_passages(
                zip(
                    _ints(searcher.fast_field_values("story_id", more)),
                    _ints(searcher.fast_field_values("passage_id", more)),
                    [float(score) if text is not None else 0.0 for score, _ in rows.hits],
                    strict=True,
                ),
                lacking,
                per_story,
            )
            refilled = {g.story_id: g for g in fuller}
            groups = tuple(refilled.get(g.story_id, g) for g in groups)
        answer = counting.result()
        stories_total = round(counting_stories.result()["stories"]["value"])
        if not total:
            return EngineResult(0, 0, groups, {facet: {} for facet in FACET_FIELDS})
        facets = {
            facet: {b["key"]: int(b["doc_count"]) for b in answer[facet]["buckets"]}
            for facet in FACET_FIELDS
        }
        return EngineResult(total, stories_total, groups, facets)

    def stats(self) -> IndexStats:
        try:
            index = self._live()
            searcher = index.searcher()
            folder = self.root / str(self._opened)
            vectors = self._live_vectors()
            detail = f"folder {folder}; {len(vectors):,} passages findable by meaning"
            size = _folder_size(folder) + vectors.size_bytes()
            return IndexStats(self.name, True, searcher.num_docs, size, detail)
        except (SearchUnavailable, OSError, ValueError) as err:
            return IndexStats(self.name, False, 0, 0, str(err))


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values]


def _count(found: tantivy.SearchResult) -> int:
    """The number of matching documents (the type stubs leave ``count`` out)."""
    count: int = found.count  # type: ignore[attr-defined]
    return count


def _regex_escape(text: str) -> str:
    """Escape a word for tantivy's regex syntax (words are letters and digits already)."""
    return "".join(ch if ch.isalnum() else "\\" + ch for ch in text)


def _story_vectors(
    stories: Mapping[int, Sequence[PassageDocument]],
) -> dict[int, list[tuple[int, np.ndarray]]]:
    """Each story's (vector key, vector) pairs, for the vector index."""
    return {
        story_id: [(doc.vector_key, doc.vector) for doc in docs if doc.vector is not None]
        for story_id, docs in stories.items()
    }


class _TantivyView:
    """Hybrid search's questions (search.hybrid.HybridView), answered on one tantivy snapshot."""

    def __init__(self, backend: EmbeddedBackend, request: SearchRequest) -> None:
        self.backend = backend
        self.schema = backend.schema
        self.index = backend._live()
        self._vectors = backend._vectors
        self.searcher = self.index.searcher()
        # Scope and filters, and any phrase or prefix: conditions that never change a score.
        conditions = backend._filters(request) + backend._strict_parts(request, self.index)
        self.conditions = [(Occur.Must, Query.const_score_query(c, 0.0)) for c in conditions]
        self.words = backend._any_words_query(request, self.index)
        self.all_words = backend._text_query(request, self.index)

    def vectors(self) -> VectorIndex | None:
        return self._vectors

    def _query(self, *more: tuple[Occur, Query]) -> Query:
        clauses = [*self.conditions, *more]
        return Query.boolean_query(clauses) if clauses else Query.all_query()

    def _rows(self, query: Query, limit: int) -> list[Row]:
        # No count: the best rows of a disjunction are found without visiting every match.
        found = self.searcher.search(query, max(1, limit), count=False)
        addresses = [address for _, address in found.hits]
        story_ids = _ints(self.searcher.fast_field_values("story_id", addresses))
        passage_ids = _ints(self.searcher.fast_field_values("passage_id", addresses))
        scores = [float(score) for score, _ in found.hits]
        return list(zip(story_ids, passage_ids, scores, strict=True))

    def word_rows(self, request: SearchRequest, limit: int) -> list[Row]:
        if self.words is None:
            return []
        return self._rows(self._query((Occur.Must, self.words)), limit)

    def story_word_rows(self, request: SearchRequest, story_ids: Sequence[int]) -> list[Row]:
        if self.words is None:
            return []
        only = Query.const_score_query(
            Query.term_set_query(self.schema, "story_id", list(story_ids)), 0.0
        )
        query = self._query((Occur.Must, self.words), (Occur.Must, only))
        return self._rows(query, STORY_WORD_ROWS * len(story_ids))

    def count_allowed(self, request: SearchRequest) -> int:
        return _count(self.searcher.search(self._query(), 1, count=True))

    def allowed(
        self, request: SearchRequest, keys: Sequence[int] | None, limit: int
    ) -> list[tuple[int, int, int]]:
        if keys is not None and not keys:
            return []
        more = []
        if keys is not None:
            among = Query.term_set_query(self.schema, "vector_key", list(keys))
            more.append((Occur.Must, Query.const_score_query(among, 0.0)))
        found = self.searcher.search(self._query(*more), max(1, limit))
        addresses = [address for _, address in found.hits]
        return list(
            zip(
                _ints(self.searcher.fast_field_values("story_id", addresses)),
                _ints(self.searcher.fast_field_values("passage_id", addresses)),
                _ints(self.searcher.fast_field_values("vector_key", addresses)),
                strict=True,
            )
        )

    def totals(
        self, request: SearchRequest, with_words: bool, passage_ids: Sequence[int]
    ) -> tuple[int, int, dict[str, dict[str, int]]]:
        either: list[tuple[Occur, Query]] = []
        if with_words and self.all_words is not None:
            either.append((Occur.Should, self.all_words))
        if passage_ids:
            ranked = Query.term_set_query(self.schema, "passage_id", list(passage_ids))
            either.append((Occur.Should, ranked))
        if not either:
            return 0, 0, {facet: {} for facet in FACET_FIELDS}
        query = self._query((Occur.Must, Query.boolean_query(either)))
        # One pass counts the facets and the stories in another thread while this one counts
        # the passages (the matches are few: the ranked passages and those with every word).
        aggs: dict[str, Any] = {
            facet: {"terms": {"field": field, "size": request.facet_size}}
            for facet, field in FACET_FIELDS.items()
        }
        aggs["stories"] = {"cardinality": {"field": "story_id"}}
        counting = _COUNTERS.submit(self.searcher.aggregate, query, aggs)
        total = _count(self.searcher.search(query, 1, count=True))
        answer = counting.result()
        if not total:
            return 0, 0, {facet: {} for facet in FACET_FIELDS}
        facets = {
            facet: {b["key"]: int(b["doc_count"]) for b in answer[facet]["buckets"]}
            for facet in FACET_FIELDS
        }
        return total, round(answer["stories"]["value"]), facets
