"""Ranking a corpus the way live search would, for measuring relevance (`flask search rank`).

The corpus goes into a throwaway index of the configured engine, with the same analysis,
embeddings and fusion as the archive's own index; each corpus passage is a story of its own, so
the ranking of stories is the ranking of passages. Nothing of the archive is read or changed.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from flask import current_app

from media_pipeline.tagger.embed import DIMENSIONS, LANGUAGES, embed
from search import FOREVER, PassageDocument, Scope, SearchMode, SearchRequest, make_backend
from search.query import parse_text
from storyhub.finder import meaning

RANKED = 20  # ids written per query
BATCH = 256


class BadCorpus(ValueError):
    """A line of the corpus or queries file that can't be used; the message says which."""


def read_jsonl(lines: Iterable[str], fields: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file, each with ``fields`` as non-empty strings."""
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise BadCorpus(f"{what} line {number} is not JSON: {err}") from err
        if not isinstance(row, dict) or not all(
            isinstance(row.get(f), str) and row[f].strip() for f in fields
        ):
            raise BadCorpus(f"{what} line {number} needs {' and '.join(fields)} as text")
        rows.append(row)
    return rows


def _documents(corpus: list[dict[str, Any]]) -> Iterator[PassageDocument]:
    for start in range(0, len(corpus), BATCH):
        batch = corpus[start : start + BATCH]
        # As indexing.documents_for: no vector for a language the model does not understand.
        understood = [i for i, row in enumerate(batch) if row.get("language", "en") in LANGUAGES]
        vectors = dict(zip(understood, embed([batch[i]["text"] for i in understood]), strict=True))
        for offset, row in enumerate(batch):
            number = start + offset + 1
            yield PassageDocument(
                passage_id=number,
                story_id=number,
                position=0,
                start=0.0,
                end=0.0,
                text=row["text"],
                language=row.get("language", "en"),
                teller_kind="person",
                setting="other",
                story_date=20260101,
                kinds=(),
                subthemes=(),
                teller_id=0,
                audiences=(),
                review_by=FOREVER,
                vector=vectors.get(offset),
            )


def rank(
    corpus: list[dict[str, Any]], queries: list[dict[str, Any]], mode: SearchMode
) -> Iterator[dict[str, Any]]:
    """For each query, ``{"id", "ranked": [corpus ids, best first, up to 20]}``."""
    config = current_app.config
    ids = [row["id"] for row in corpus]
    with tempfile.TemporaryDirectory(prefix="storyhub-rank-") as folder:
        backend = make_backend(
            config["SEARCH_URL"],
            folder,
            alias=f"storyhub-rank-{uuid.uuid4().hex[:8]}",
            replicas=0,
            refresh="-1",
            dimensions=DIMENSIONS,
        )
        try:
            backend.rebuild(_documents(corpus), lambda count: None)
            for query in queries:
                text = query["query"]
                # The query's vector exactly as live search makes it (query syntax left out).
                vector = meaning.query_vector(text) if mode != SearchMode.WORDS else None
                request = SearchRequest(
                    text=parse_text(text),
                    scope=Scope(everything=True),
                    mode=mode,
                    vector=vector,
                    stories_per_page=RANKED,
                    passages_per_story=1,
                    facet_size=1,
                )
                found = backend.search(request)
                yield {
                    "id": query["id"],
                    "ranked": [ids[g.hits[0].passage_id - 1] for g in found.groups if g.hits],
                }
        finally:
            delete = getattr(backend, "delete_everything", None)
            if delete is not None:
                delete()
            backend.close()
