"""The meaning side of search, for the app: the query's embedding, and the sentence of a passage
that is nearest a query in meaning (to mark it, as words are marked when words matched).

Passages' vectors come from the embeddings cache (``storyhub.themes.services.vectors_for``, the
tagger's model), so the query must be embedded by the same model: the choice is made here, once
(``MODEL_NAME``, ``LANGUAGES``, ``_embed``), and measurement may change it.

The model loads once per process (a couple of seconds); ``warm_in_background`` starts loading it
in a thread when a web process serves its first request, so the first search need not wait.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import SQLAlchemyError

from media_pipeline.errors import MediaError
from media_pipeline.tagger import MODEL_NAME as TAGGER_MODEL
from media_pipeline.tagger import embed
from media_pipeline.tagger.embed import LANGUAGES as TAGGER_LANGUAGES
from search.query import words_of
from storyhub.extensions import db
from storyhub.themes.services import vectors_for

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]

# The search model: the tagger's, whose passage embeddings are cached in the database.
MODEL_NAME = TAGGER_MODEL
# Languages (story language codes) the model understands: passages in others have no vector in
# the index (storyhub.finder.indexing), and "more like this" is not offered for them (an
# English-only model would rank a Welsh passage as if it understood it).
LANGUAGES = TAGGER_LANGUAGES
# A passage's sentences embedded to find the closest one, at most (a very long passage's later
# sentences are not marked, but the passage is still found).
MAX_SENTENCES = 24
# Query syntax (quote marks, a prefix's *) says how to match words, not what they mean.
QUERY_SYNTAX = re.compile(r"[\"*]")
# A sentence ends at . ! ? or a line break (transcripts are punctuated).
SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)|[^.!?\n]+")


def understands(language: str) -> bool:
    """Whether the search model understands passages in ``language`` (a story's language code)."""
    return language in LANGUAGES


def _embed(texts: Sequence[str]) -> Vector:
    """Texts as unit vectors, by the search model."""
    return embed(texts)


@lru_cache(maxsize=256)
def _cached_query_vector(cleaned: str) -> Vector:
    vector = _embed([cleaned])[0]
    vector.flags.writeable = False  # shared by every request that asks the same words
    return vector


def query_vector(text: str) -> Vector | None:
    """The query's embedding (unit length), or None when it has no words or the model can't run
    (search then finds by words alone)."""
    cleaned = " ".join(QUERY_SYNTAX.sub(" ", text).split())
    if not words_of(cleaned):
        return None
    try:
        return _cached_query_vector(cleaned)
    except MediaError:  # the model isn't installed: said once per search in the log
        log.warning("The search model could not be loaded; searching by words only.")
        return None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The char spans of ``text``'s sentences (split simply: at . ! ? and line breaks), trimmed
    of spaces; pieces with no word are left out."""
    spans = []
    for match in SENTENCE.finditer(text):
        start, end = match.span()
        piece = text[start:end]
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        if end > start and words_of(text[start:end]):
            spans.append((start, end))
    return _join_unfinished(text, spans)


def _join_unfinished(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a piece cut at a full stop inside a word ("3.5", "e.g.") to the piece after it."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and joined[-1][1] < len(text) and not text[joined[-1][1]].isspace():
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def sentences_to_mark(texts: Sequence[str]) -> list[str]:
    """The sentences ``closest_sentences`` would embed for ``texts`` (those of texts with more
    than one), so the worker can put them in the embeddings cache ahead of any search."""
    return _sentences(texts, [sentence_spans(t)[:MAX_SENTENCES] for t in texts])


def _sentences(texts: Sequence[str], per_text: list[list[tuple[int, int]]]) -> list[str]:
    return [
        t[a:b] for t, spans in zip(texts, per_text, strict=True) if len(spans) > 1 for a, b in spans
    ]


def closest_sentences(
    texts: Sequence[str], vector: npt.NDArray[np.float32]
) -> list[tuple[int, int] | None]:
    """For each text, the char span of its sentence nearest ``vector`` in meaning (None for a
    text with no words). All the texts' sentences are embedded at once, through the cache."""
    per_text = [sentence_spans(t)[:MAX_SENTENCES] for t in texts]
    sentence_vectors = _cached_vectors(_sentences(texts, per_text))
    found: list[tuple[int, int] | None] = []
    row = 0
    for spans in per_text:
        if len(spans) <= 1:  # nothing to choose between: no embedding needed
            found.append(spans[0] if spans else None)
            continue
        scores = sentence_vectors[row : row + len(spans)] @ np.asarray(vector, dtype=np.float32)
        found.append(spans[int(np.argmax(scores))])
        row += len(spans)
    return found


def closest_sentence(text: str, vector: npt.NDArray[np.float32]) -> tuple[int, int] | None:
    """The char span of ``text``'s sentence nearest ``vector``; None if it has no words."""
    return closest_sentences([text], vector)[0]


def _cached_vectors(texts: Sequence[str]) -> Vector:
    """Embeddings of ``texts`` through the database's cache, kept for next time.

    The cache's new rows are committed here, though a search only reads: each sentence is then
    embedded once, whoever searches next. What was loaded stays loaded (the page shows it next);
    if the database is busy the cache waits for another search, and the page is shown anyway.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = vectors_for(texts)
    session = db.session()
    keep_loaded, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    except SQLAlchemyError:
        log.warning("Could not keep the sentences' embeddings; they will be made again.")
        session.rollback()
    finally:
        session.expire_on_commit = keep_loaded
    return vectors


# -- loading the model early ----------------------------------------------------------------

_warming_lock = threading.Lock()
_warming: threading.Thread | None = None


def warm_in_background() -> None:
    """Start loading the model in a thread, once per process (later calls do nothing)."""
    global _warming
    if _warming is not None:
        return
    with _warming_lock:
        if _warming is None:
            _warming = threading.Thread(target=_warm, name="search-model-warm", daemon=True)
            _warming.start()


def _warm() -> None:
    try:
        _embed(["warm"])
    except Exception:  # a search will say so, and find by words; never stop the process here
        log.warning("The search model could not be loaded in advance.", exc_info=True)
