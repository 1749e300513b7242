"""Elasticsearch, for organisations that outgrow one machine.

Request bodies use only APIs that are stable from Elasticsearch 7.10 to 9 (typeless mappings,
``match``, ``match_phrase``, ``prefix``, ``bool`` filters, ``terms`` and ``cardinality``
aggregations, ``collapse`` with ``inner_hits``, ``_bulk``, ``_delete_by_query``, ``_aliases``),
and go through the client's low-level ``perform_request``, so the same code serves any cluster
version; which ``elasticsearch`` client to install is the deployment's choice (7.13 for a 7.x
cluster, 8 or 9 for theirs).

Searches and writes go to an alias. A rebuild fills a new, randomly named index and then moves
the alias in one atomic ``_aliases`` call, so search never goes dark.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from search.backend import Progress, SearchBackend, SearchUnavailable
from search.documents import PassageDocument
from search.query import FACET_FIELDS, SearchRequest, day_number
from search.results import EngineResult, IndexStats, PassageHit, StoryGroup

BULK_CHUNK = 2000
KEYWORDS = ("language", "teller_kind", "setting", "year", "kinds", "subthemes", "audiences")

# Letters and digits, lower-cased, Snowball English ("porter2") stems: the same words and stems
# as the embedded engine's "en_stem" analyzer, so a query finds the same passages on both.
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
    },
}

MAPPING = {
    "dynamic": "strict",
    # Words are read back from the database, never from the index.
    "_source": {"excludes": ["text"]},
    "properties": {
        "passage_id": {"type": "long"},
        "story_id": {"type": "long"},
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


def text_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    """Every word, phrase and prefix must match; words and phrases are stemmed by the mapping."""
    parsed = request.text
    clauses: list[dict[str, Any]] = [{"match": {"text": {"query": t}}} for t in parsed.terms]
    clauses += [{"match_phrase": {"text": " ".join(p)}} for p in parsed.phrases]
    clauses += [{"prefix": {"text.exact": p}} for p in parsed.prefixes]
    return clauses


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
        if not self._targets():
            name = self._create_index(self.refresh)
            self._call(
                "POST", "/_aliases", {"actions": [{"add": {"index": name, "alias": self.alias}}]}
            )

    def _bulk(self, index: str, documents: Iterable[PassageDocument], refresh: bool) -> int:
        lines: list[str] = []
        count = 0
        for doc in documents:
            lines.append(json.dumps({"index": {"_index": index, "_id": str(doc.passage_id)}}))
            lines.append(json.dumps(doc.as_source()))
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

    def rebuild(self, documents: Iterable[PassageDocument], progress: Progress) -> int:
        # Bulk loading is fastest with refreshes off; normal settings come back before the switch.
        name = self._create_index("-1")
        count = 0
        chunk: list[PassageDocument] = []
        for doc in documents:
            chunk.append(doc)
            if len(chunk) == BULK_CHUNK:
                count += self._bulk(name, chunk, refresh=False)
                chunk = []
                progress(count)
        count += self._bulk(name, chunk, refresh=False)
        self._call("PUT", f"/{name}/_settings", {"index": {"refresh_interval": self.refresh}})
        self._call("POST", f"/{name}/_refresh")
        progress(count)
        old = self._targets()
        actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self._call("POST", "/_aliases", {"actions": actions})
        for index in old:
            self._call("DELETE", f"/{index}")
        return count

    def delete_everything(self) -> None:
        """Remove the alias and every index behind it (tests and benchmarks only)."""
        for index in self._targets():
            self._call("DELETE", f"/{index}")

    # --- reading ---------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> EngineResult:
        if request.scope.nothing:
            return EngineResult(0, 0, ())
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
            return IndexStats(
                self.name, status in ("green", "yellow"), int(count), int(size), detail
            )
        except SearchUnavailable as err:
            return IndexStats(self.name, False, 0, 0, str(err))

    def close(self) -> None:
        self.client.close()
