"""Search: indexing and querying passages behind one backend interface.

``make_backend`` picks the engine from configuration: the embedded tantivy index (the default,
no server) or an Elasticsearch cluster. Query building is pure (``search.query`` and
``search.elastic.search_body``); nothing here imports Flask or the database models: the
application (``storyhub.finder``) turns stories into ``PassageDocument``s and results back into
stories, and asks ``consent`` who may find what.
"""

from __future__ import annotations

from pathlib import Path

from search.backend import SearchBackend, SearchUnavailable
from search.documents import PassageDocument
from search.query import (
    FOREVER,
    ParsedText,
    Scope,
    SearchMode,
    SearchRequest,
    day_number,
    parse_text,
)
from search.results import EngineResult, IndexStats, PassageHit, StoryGroup

__all__ = [
    "FOREVER",
    "EngineResult",
    "IndexStats",
    "ParsedText",
    "PassageDocument",
    "PassageHit",
    "Scope",
    "SearchBackend",
    "SearchMode",
    "SearchRequest",
    "SearchUnavailable",
    "StoryGroup",
    "day_number",
    "make_backend",
    "parse_text",
]


def make_backend(
    url: str,
    embedded_root: str | Path,
    *,
    alias: str = "storyhub-passages",
    shards: int = 1,
    replicas: int = 1,
    refresh: str = "1s",
    dimensions: int = 384,
) -> SearchBackend:
    """``url`` "embedded" (an index in ``embedded_root``) or an Elasticsearch http(s) URL.

    Either way the passages' vectors (search by meaning) are kept under ``embedded_root``;
    ``dimensions`` is the length of the embedding model's vectors.
    """
    if url in ("", "embedded"):
        from search.embedded import EmbeddedBackend

        return EmbeddedBackend(embedded_root, dimensions)
    if url.startswith(("http://", "https://")):
        from search.elastic import ElasticBackend

        return ElasticBackend(
            url,
            alias,
            shards=shards,
            replicas=replicas,
            refresh=refresh,
            vectors_root=Path(embedded_root) / "elastic-vectors",
            dimensions=dimensions,
        )
    raise ValueError(f"unsupported STORYHUB_SEARCH_URL: {url!r} (use 'embedded' or an http URL)")
