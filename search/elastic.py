"""Elasticsearch, for organisations that outgrow one machine.

Request bodies use only APIs that are stable from Elasticsearch 7.10 to 9 (typeless mappings,
``match``, ``match_phrase``, ``prefix``, ``bool`` filters, ``terms`` and ``cardinality``
aggregations, ``collapse`` with ``inner_hits``, ``_bulk``, ``_delete_by_query``, ``_aliases``),
and go through the client's low-level ``perform_request``, so the same code serves any cluster
version; which ``elasticsearch`` client to install is the deployment's choice (7.13 for a 7.x
cluster, 8 or 9 for theirs).

Searches and writes go to an alias. A rebuild fills a new, randomly named index and then moves
the alias in one atomic ``_aliases`` call, so search never goes dark.

Search by meaning: the 7.x OSS servers have no vector field, so the passages' vectors live in a
vector index on the application's side (search.vectors, in ``vectors_root/<index name>``, named
after the Elasticsearch index it belongs to), and Elasticsearch filters its candidates with a
``terms`` query on ``vector_key`` plus the person's scope and filters (search.hybrid). On a
cluster with native vectors (8.x: a ``dense_vector`` field with ``index: true`` and
``similarity: cosine``), the same filter would go into a ``knn`` search's ``filter``; the
results contract is the same.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.analysis import fold, is_welsh
from search.backend import Progress, SearchBackend, SearchUnavailable
from search.documents import PassageDocument
from search.hybrid import PER_STORY_FETCH, Row, hybrid_search
from search.query import FACET_FIELDS, SearchMode, SearchRequest, day_number
from search.results import EngineResult, IndexStats, PassageHit, StoryGroup
from search.vectors import VectorIndex

BULK_CHUNK = 2000
KEYWORDS = ("language", "teller_kind", "setting", "year", "kinds", "subthemes", "audiences")

# Letters and digits, lower-cased, Snowball English ("porter2") stems: the same words and stems
# as the embedded engine's "en_stem" analyzer, so a query finds the same passages on both.
# Welsh passages go in "text_cy": the same words, lower-cased and accents folded, never stemmed
# (the embedded engine's "cy_words"; see search.analysis).
ANALYSIS = {
    "tokenizer": {"words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
    "filter": {
        "not_too_long": {"type": "length", "max": 39},
        "english_snowball": {"type": "stemmer", "language": "porter2"},
    },
    "analyzer": {
        "passage_text": {
            "type": "custom",
            "tokenizer": "words",
            "filter": ["lowercase", "not_too_long", "english_snowball"],
        },
        "exact_words": {
            "type": "custom",
            "tokenizer": "words",
            "filter": ["lowercase", "not_too_long"],
        },
        "welsh_words": {
            "type": "custom",
            "tokenizer": "words",
            "filter": ["lowercase", "not_too_long", "asciifolding"],
        },
    },
}

MAPPING = {
    "dynamic": "strict",
    # Words are read back from the database, never from the index.
    "_source": {"excludes": ["text", "text_cy"]},
    "properties": {
        "passage_id": {"type": "long"},
        "story_id": {"type": "long"},
        "vector_key": {"type": "long"},
        "position": {"type": "integer", "index": False},
        "start": {"type": "float", "index": False},
        "end": {"type": "float", "index": False},
        "text": {
            "type": "text",
            "analyzer": "passage_text",
            "fields": {
                "exact": {"type": "text", "analyzer": "exact_words", "index_options": "docs"}
            },
        },
        "text_cy": {"type": "text", "analyzer": "welsh_words"},
        "story_date": {"type": "integer"},
        "teller_id": {"type": "long"},
        "review_by": {"type": "integer"},
        **{name: {"type": "keyword"} for name in KEYWORDS},
    },
}


def index_settings(shards: int, replicas: int, refresh: str) -> dict[str, Any]:
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "refresh_interval": refresh,
        "analysis": ANALYSIS,
    }


def filter_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    """The consent scope and the chosen filters, as non-scoring clauses."""
    clauses: list[dict[str, Any]] = []
    scope = request.scope
    if not scope.everything:
        allowed: list[dict[str, Any]] = []
        if scope.teller_id is not None:
            allowed.append({"term": {"teller_id": scope.teller_id}})
        if scope.audience is not None:
            allowed.append(
                {
                    "bool": {
                        "filter": [
                            {"term": {"audiences": scope.audience}},
                            {"range": {"review_by": {"gte": scope.today}}},
                        ]
                    }
                }
            )
        clauses.append({"bool": {"should": allowed, "minimum_should_match": 1}})
    for facet, values in request.filters.items():
        if values:
            clauses.append({"terms": {FACET_FIELDS[facet]: list(values)}})
    if request.story_id is not None:
        clauses.append({"term": {"story_id": request.story_id}})
    low, high = day_number(request.date_from), day_number(request.date_to)
    if low is not None or high is not None:
        bounds = {k: v for k, v in (("gte", low), ("lte", high)) if v is not None}
        clauses.append({"range": {"story_date": bounds}})
    return clauses


def document_source(doc: PassageDocument) -> dict[str, object]:
    """The document as indexed: a Welsh passage's words in "text_cy", an English one's in "text"."""
    source = doc.as_source()
    if is_welsh(doc.language):
        source["text_cy"] = source.pop("text")
    return source


def _either(english: dict[str, Any], welsh: dict[str, Any]) -> dict[str, Any]:
    """Matches an English passage by ``english`` or a Welsh one by ``welsh``.

    A passage has words in one of the two fields only, so an English passage scores as before.
    """
    return {"bool": {"should": [english, welsh], "minimum_should_match": 1}}


def term_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    """One clause per word, stemmed (English) or folded (Welsh) by the mapping."""
    return [
        _either({"match": {"text": {"query": t}}}, {"match": {"text_cy": {"query": t}}})
        for t in request.text.terms
    ]


def strict_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    """Quoted phrases and prefixes: these must match in every mode."""
    parsed = request.text
    clauses: list[dict[str, Any]] = []
    for phrase in parsed.phrases:
        words = " ".join(phrase)
        clauses.append(
            _either({"match_phrase": {"text": words}}, {"match_phrase": {"text_cy": words}})
        )
    # A prefix query is not analysed: fold it as the Welsh words were.
    clauses += [
        _either({"prefix": {"text.exact": p}}, {"prefix": {"text_cy": fold(p)}})
        for p in parsed.prefixes
    ]
    return clauses


def text_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    """Every word, phrase and prefix must match; words and phrases are stemmed by the mapping."""
    return term_clauses(request) + strict_clauses(request)


def any_words_query(request: SearchRequest) -> dict[str, Any] | None:
    """Any word may match, scored by BM25; phrases and prefixes must (HYBRID's words)."""
    if request.text.empty:
        return None
    return {"bool": {"should": term_clauses(request), "must": strict_clauses(request)}}


def search_body(request: SearchRequest) -> dict[str, Any]:
    """The request body of one search: a page of stories, each with its best passages."""
    must = text_clauses(request)
    body: dict[str, Any] = {
        "from": request.first_story,
        "size": request.stories_per_page,
        "track_total_hits": True,
        "_source": ["passage_id", "story_id"],
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filter_clauses(request)}},
        "collapse": {
            "field": "story_id",
            "inner_hits": {
                "name": "best",
                "size": request.passages_per_story,
                "_source": ["passage_id"],
            },
        },
        "aggs": {
            **{
                facet: {"terms": {"field": field, "size": request.facet_size}}
                for facet, field in FACET_FIELDS.items()
            },
            "stories": {"cardinality": {"field": "story_id", "precision_threshold": 40000}},
        },
    }
    if not must:
        body["sort"] = [{"story_date": "desc"}, {"story_id": "desc"}]
        body["collapse"]["inner_hits"]["sort"] = [{"passage_id": "asc"}]
    return body


def parse_response(answer: Mapping[str, Any]) -> EngineResult:
    """An EngineResult from a search_body response."""
    groups = []
    for hit in answer["hits"]["hits"]:
        inner = hit["inner_hits"]["best"]["hits"]["hits"]
        passages = tuple(
            PassageHit(int(h["_source"]["passage_id"]), float(h.get("_score") or 0.0))
            for h in inner
        )
        groups.append(StoryGroup(int(hit["_source"]["story_id"]), passages))
    aggs = answer.get("aggregations", {})
    facets = {
        facet: {str(b["key"]): int(b["doc_count"]) for b in aggs[facet]["buckets"]}
        for facet in FACET_FIELDS
    }
    total = answer["hits"]["total"]
    total_passages = int(total["value"] if isinstance(total, dict) else total)
    stories = int(aggs["stories"]["value"]) if total_passages else 0
    return EngineResult(total_passages, stories, tuple(groups), facets)


def _let_old_clients_import() -> None:
    """The 7.x clients (the only ones that talk to a 7.x OSS server) name ``numpy.float_``,
    which NumPy 2 removed; it was always an alias of ``float64``, so give it back."""
    try:
        import numpy
    except ImportError:  # the client imports numpy only if it is there
        return
    if "float_" not in numpy.__dict__:
        numpy.float_ = numpy.float64  # type: ignore[attr-defined]


class ElasticBackend(SearchBackend):
    """Search with an Elasticsearch cluster at ``url``, through the alias ``alias``."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        alias: str = "storyhub-passages",
        *,
        shards: int = 1,
        replicas: int = 1,
        refresh: str = "1s",
        timeout: float = 30.0,
        vectors_root: str | os.PathLike[str] | None = None,
        dimensions: int = 384,
    ) -> None:
        _let_old_clients_import()
        try:
            from elasticsearch import Elasticsearch
        except ImportError as err:  # pragma: no cover - depends on the deployment
            raise SearchUnavailable(
                "the elasticsearch client is not installed: pip install 'storyhub[elasticsearch]'"
            ) from err
        self.client = Elasticsearch([url], timeout=timeout)
        self.alias = alias
        self.shards, self.replicas, self.refresh = shards, replicas, refresh
        self.vectors_root = Path(vectors_root) if vectors_root is not None else None
        self.dimensions = dimensions
        self._vectors: VectorIndex | None = None

    # --- the one way requests are sent ------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        ndjson: bool = False,
    ) -> Any:
        """Send a request with any client version from 7.13 to 9 and return the JSON answer."""
        headers = {"content-type": "application/x-ndjson" if ndjson else "application/json"}
        try:
            from elasticsearch import ApiError as ClientError  # type: ignore[attr-defined,unused-ignore]
        except ImportError:  # 7.x clients
            from elasticsearch import TransportError as ClientError
        try:
            if hasattr(self.client, "perform_request"):  # 8.x and 9.x clients
                headers["accept"] = "application/json"
                answer = self.client.perform_request(
                    method, path, params=dict(params or {}), headers=headers, body=body
                )
                return answer.body
            return self.client.transport.perform_request(
                method, path, params=dict(params or {}), headers=headers, body=body
            )
        except ClientError as err:
            raise SearchUnavailable(f"Elasticsearch refused {method} {path}: {err}") from err
        except Exception as err:  # connection refused, timeouts: the cluster is not answering
            if type(err).__module__.startswith(("elasticsearch", "elastic_transport", "urllib3")):
                raise SearchUnavailable(f"Elasticsearch did not answer: {err}") from err
            raise

    def _exists(self, path: str) -> bool:
        try:
            self._call("HEAD", path)
        except SearchUnavailable as err:
            if "404" in str(err) or "NotFound" in repr(err.__cause__):
                return False
            raise
        return True

    def _targets(self) -> list[str]:
        """The concrete indices behind the alias."""
        try:
            answer = self._call("GET", f"/_alias/{self.alias}")
        except SearchUnavailable as err:
            if "404" in str(err) or "NotFound" in repr(err.__cause__):
                return []
            raise
        return sorted(answer)

    def _create_index(self, refresh: str) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        body = {
            "settings": index_settings(self.shards, self.replicas, refresh),
            "mappings": MAPPING,
        }
        self._call("PUT", f"/{name}", body)
        return name

    # --- writing ---------------------------------------------------------------------------

    def ensure(self) -> None:
        targets = self._targets()
        if not targets:
            name = self._create_index(self.refresh)
            self._call(
                "POST", "/_aliases", {"actions": [{"add": {"index": name, "alias": self.alias}}]}
            )
            self._point_vectors_at(name)
        elif self._vectors_name() is None:
            self._point_vectors_at(targets[0])

    # --- the vectors beside the index ----------------------------------------------------

    def _vectors_name(self) -> str | None:
        if self.vectors_root is None:
            return None
        try:
            return (self.vectors_root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def _point_vectors_at(self, name: str) -> None:
        """Make ``name``'s vector folder the live one (after the alias moved to ``name``)."""
        if self.vectors_root is None:
            return
        self.vectors_root.mkdir(parents=True, exist_ok=True)
        temporary = self.vectors_root / f".CURRENT.{uuid.uuid4().hex}"
        temporary.write_text(name)
        os.replace(temporary, self.vectors_root / "CURRENT")

    def live_vectors(self) -> VectorIndex | None:
        """The vector index of the index behind the alias (reopened after a rebuild)."""
        name = self._vectors_name()
        if name is None or self.vectors_root is None:
            return None
        folder = self.vectors_root / name
        if self._vectors is None or self._vectors.folder != folder:
            self._vectors = VectorIndex(folder, self.dimensions)
        return self._vectors

    def _remove_old_vectors(self, keep: set[str]) -> None:
        if self.vectors_root is None:
            return
        for folder in self.vectors_root.glob(f"{self.alias}-*"):
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    def needs_rebuild(self) -> bool:
        """An index made before vector keys were indexed can't be searched by meaning; one made
        before Welsh passages had their own field would stem them as English."""
        targets = self._targets()
        if not targets:
            return False
        mapping = self._call("GET", f"/{targets[0]}/_mapping")
        properties = mapping[targets[0]]["mappings"].get("properties", {})
        return "vector_key" not in properties or "text_cy" not in properties

    def _bulk(self, index: str, documents: Iterable[PassageDocument], refresh: bool) -> int:
        lines: list[str] = []
        count = 0
        for doc in documents:
            lines.append(json.dumps({"index": {"_index": index, "_id": str(doc.passage_id)}}))
            lines.append(json.dumps(document_source(doc)))
            count += 1
        if not lines:
            return 0
        params = {"refresh": "wait_for"} if refresh else {}
        answer = self._call("POST", "/_bulk", "\n".join(lines) + "\n", params, ndjson=True)
        if answer.get("errors"):
            failed = [i for i in answer["items"] if i["index"].get("error")]
            raise SearchUnavailable(f"Elasticsearch refused {len(failed)} documents: {failed[:1]}")
        return count

    def replace_stories(self, stories: Mapping[int, Sequence[PassageDocument]]) -> None:
        if not stories:
            return
        self.ensure()
        documents = [doc for docs in stories.values() for doc in docs]
        # Add the new documents first, then remove the story's others, so a search in between
        # finds the story rather than nothing.
        self._bulk(self.alias, documents, refresh=True)
        keep = [str(doc.passage_id) for doc in documents]
        stale = {
            "query": {
                "bool": {
                    "filter": [{"terms": {"story_id": list(stories)}}],
                    "must_not": [{"ids": {"values": keep}}],
                }
            }
        }
        self._call(
            "POST",
            f"/{self.alias}/_delete_by_query",
            stale,
            {"refresh": "true", "conflicts": "proceed"},
        )
        # After the words: an old vector is already out of reach (its key left the index);
        # this removes it from the disk.
        vectors = self.live_vectors()
        if vectors is not None:
            vectors.replace_stories(
                {
                    story_id: [(d.vector_key, d.vector) for d in docs if d.vector is not None]
                    for story_id, docs in stories.items()
                }
            )

    def rebuild(self, documents: Iterable[PassageDocument], progress: Progress) -> int:
        # Bulk loading is fastest with refreshes off; normal settings come back before the switch.
        name = self._create_index("-1")
        count = 0
        chunk: list[PassageDocument] = []
        keys: list[tuple[int, int]] = []
        vectors: list[np.ndarray] = []  # float16 while the words are sent: half the memory
        for doc in documents:
            chunk.append(doc)
            if doc.vector is not None:
                keys.append((doc.story_id, doc.vector_key))
                vectors.append(np.asarray(doc.vector, dtype=np.float16))
            if len(chunk) == BULK_CHUNK:
                count += self._bulk(name, chunk, refresh=False)
                chunk = []
                progress(count)
        count += self._bulk(name, chunk, refresh=False)
        if self.vectors_root is not None:
            VectorIndex(self.vectors_root / name, self.dimensions).build(
                (story_id, key, vector.astype(np.float32))
                for (story_id, key), vector in zip(keys, vectors, strict=True)
            )
        self._call("PUT", f"/{name}/_settings", {"index": {"refresh_interval": self.refresh}})
        self._call("POST", f"/{name}/_refresh")
        progress(count)
        old = self._targets()
        actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self._call("POST", "/_aliases", {"actions": actions})
        self._point_vectors_at(name)
        for index in old:
            self._call("DELETE", f"/{index}")
        self._remove_old_vectors(keep={name})
        return count

    def delete_everything(self) -> None:
        """Remove the alias and every index behind it (tests and benchmarks only)."""
        for index in self._targets():
            self._call("DELETE", f"/{index}")
        self._remove_old_vectors(keep=set())
        if self.vectors_root is not None:
            (self.vectors_root / "CURRENT").unlink(missing_ok=True)

    # --- reading ---------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> EngineResult:
        if request.scope.nothing:
            return EngineResult(0, 0, ())
        if request.mode != SearchMode.WORDS and (
            request.vector is not None or not request.text.empty
        ):
            return hybrid_search(_ElasticView(self, request), request)
        answer = self._call("POST", f"/{self.alias}/_search", search_body(request))
        return parse_response(answer)

    def stats(self) -> IndexStats:
        try:
            health = self._call("GET", "/_cluster/health")
            targets = self._targets()
            if not targets:
                return IndexStats(self.name, False, 0, 0, f"no index behind alias {self.alias}")
            count = self._call("GET", f"/{self.alias}/_count")["count"]
            store = self._call("GET", f"/{self.alias}/_stats/store")
            size = store["_all"]["primaries"]["store"]["size_in_bytes"]
            status = health.get("status", "unknown")
            detail = f"cluster {health.get('cluster_name')} is {status}; index {', '.join(targets)}"
            vectors = self.live_vectors()
            if vectors is not None:
                detail += (
                    f"; {len(vectors):,} passages findable by meaning "
                    f"({vectors.size_bytes() / 1e6:.1f} MB in {vectors.folder})"
                )
            return IndexStats(
                self.name, status in ("green", "yellow"), int(count), int(size), detail
            )
        except SearchUnavailable as err:
            return IndexStats(self.name, False, 0, 0, str(err))

    def close(self) -> None:
        self.client.close()


class _ElasticView:
    """Hybrid search's questions (search.hybrid.HybridView), answered by Elasticsearch."""

    def __init__(self, backend: ElasticBackend, request: SearchRequest) -> None:
        self.backend = backend
        self.path = f"/{backend.alias}/_search"
        # Scope and filters, and any phrase or prefix: conditions that never change a score.
        self.conditions = filter_clauses(request) + [
            {"bool": {"filter": [c]}} for c in strict_clauses(request)
        ]
        self.words = any_words_query(request)
        every = text_clauses(request)
        self.all_words = {"bool": {"must": every}} if every else None

    def vectors(self) -> VectorIndex | None:
        return self.backend.live_vectors()

    def _query(self, *more: dict[str, Any], must: dict[str, Any] | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"filter": [*self.conditions, *more]}
        if must is not None:
            query["must"] = [must]
        return {"bool": query}

    def _rows(self, query: dict[str, Any], limit: int) -> list[Row]:
        body = {
            "size": limit,
            "track_total_hits": False,
            "_source": ["passage_id", "story_id"],
            "query": query,
            "sort": ["_score", {"passage_id": "asc"}],
        }
        answer = self.backend._call("POST", self.path, body)
        rows = [
            (int(h["_source"]["story_id"]), int(h["_source"]["passage_id"]), float(h["_score"]))
            for h in answer["hits"]["hits"]
        ]
        return rows

    def word_rows(self, request: SearchRequest, limit: int) -> list[Row]:
        if self.words is None:
            return []
        return self._rows(self._query(must=self.words), limit)

    def story_word_rows(self, request: SearchRequest, story_ids: Sequence[int]) -> list[Row]:
        if self.words is None:
            return []
        only = {"terms": {"story_id": list(story_ids)}}
        return self._rows(self._query(only, must=self.words), PER_STORY_FETCH * len(story_ids))

    def count_allowed(self, request: SearchRequest) -> int:
        path = f"/{self.backend.alias}/_count"
        return int(self.backend._call("POST", path, {"query": self._query()})["count"])

    def allowed(
        self, request: SearchRequest, keys: Sequence[int] | None, limit: int
    ) -> list[tuple[int, int, int]]:
        if keys is not None and not keys:
            return []
        more = [{"terms": {"vector_key": list(keys)}}] if keys is not None else []
        body = {
            "size": limit,
            "_source": ["passage_id", "story_id", "vector_key"],
            "query": self._query(*more),
        }
        answer = self.backend._call("POST", self.path, body)
        return [
            (
                int(h["_source"]["story_id"]),
                int(h["_source"]["passage_id"]),
                int(h["_source"]["vector_key"]),
            )
            for h in answer["hits"]["hits"]
        ]

    def totals(
        self, request: SearchRequest, with_words: bool, passage_ids: Sequence[int]
    ) -> tuple[int, int, dict[str, dict[str, int]]]:
        either: list[dict[str, Any]] = []
        if with_words and self.all_words is not None:
            either.append(self.all_words)
        if passage_ids:
            either.append({"terms": {"passage_id": list(passage_ids)}})
        if not either:
            return 0, 0, {facet: {} for facet in FACET_FIELDS}
        body = {
            "size": 0,
            "track_total_hits": True,
            "query": self._query({"bool": {"should": either, "minimum_should_match": 1}}),
            "aggs": {
                **{
                    facet: {"terms": {"field": field, "size": request.facet_size}}
                    for facet, field in FACET_FIELDS.items()
                },
                "stories": {"cardinality": {"field": "story_id", "precision_threshold": 40000}},
            },
        }
        answer = self.backend._call("POST", self.path, body)
        aggs = answer["aggregations"]
        total = _total(answer)
        facets = {
            facet: {str(b["key"]): int(b["doc_count"]) for b in aggs[facet]["buckets"]}
            for facet in FACET_FIELDS
        }
        return total, int(aggs["stories"]["value"]) if total else 0, facets


def _total(answer: Mapping[str, Any]) -> int:
    total = answer["hits"]["total"]
    return int(total["value"] if isinstance(total, dict) else total)
