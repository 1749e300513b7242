"""The shipped tagger: fitted to the seed set, the taxonomy's descriptions and the real passages
shipped beside them (weighted higher), and calibrated on the real passages' out-of-fold scores.

Training takes some seconds (embedding the passages, and six fits for calibration), so the result
is cached in ``$STORYHUB_MODEL_CACHE/themes`` under a name that changes whenever the seed set, the
real passages, the taxonomy, the fitting settings or the model format do. Writing is atomic (a
temporary file renamed into place), so several processes may race to build it safely.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..whisper_models import cache_root
from .crossval import (
    CALIBRATION_FOLDS,
    KIND_THRESHOLD,
    REAL_WEIGHT,
    SHIPPED_FIT,
    CachedEmbedder,
    CrossValidation,
    cache_name,
    cross_validate,
    fit_calibrated,
    real_examples,
)
from .embed import MODEL_NAME, Vectors, embed
from .model import FORMAT, Example, ThemeModel
from .seed import description_examples, real_rows, seed_examples, seed_fingerprint
from .taxonomy import SHIPPED_TAXONOMY, Taxonomy, shipped_taxonomy

_lock = threading.Lock()
_cached: dict[str, ThemeModel] = {}


def _cache_dir() -> Path:
    folder = cache_root() / "themes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _texts_key(texts: list[str]) -> str:
    digest = hashlib.sha256(MODEL_NAME.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def fitting_set(taxonomy: Taxonomy | None = None) -> tuple[list[Example], Vectors]:
    """The shipped seed examples and their embeddings (cached on disk)."""
    examples = seed_examples() + description_examples(taxonomy or shipped_taxonomy())
    texts = [e.text for e in examples]
    path = _cache_dir() / f"seed-vectors-{_texts_key(texts)}.npy"
    if path.exists():
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape[0] == len(texts):
            return examples, vectors
    vectors = embed(texts)
    buffer_path = path.with_suffix(".tmp.npy")
    np.save(buffer_path, vectors, allow_pickle=False)
    os.replace(buffer_path, path)
    return examples, vectors


def shipped_model() -> ThemeModel:
    """The tagger as shipped: fitted to this project's seed set and real passages only."""
    taxonomy_digest = hashlib.sha256(SHIPPED_TAXONOMY.read_bytes()).hexdigest()[:8]
    fitted_as = repr((REAL_WEIGHT, sorted(SHIPPED_FIT.items()), CALIBRATION_FOLDS, KIND_THRESHOLD))
    settings = hashlib.sha256(fitted_as.encode()).hexdigest()[:8]
    name = f"shipped-f{FORMAT}-{seed_fingerprint()}-{taxonomy_digest}-{settings}.npz"
    with _lock:
        if name in _cached:
            return _cached[name]
        path = _cache_dir() / name
        model: ThemeModel | None = None
        if path.exists():
            try:
                model = ThemeModel.from_bytes(path.read_bytes())
            except (ValueError, OSError, KeyError):
                model = None  # rebuilt below
        if model is None:
            model = _fit_shipped()
            _write_atomically(path, model.to_bytes())
        _cached[name] = model
        return model


def _fit_shipped() -> ThemeModel:
    return fit_like_shipped(real_rows())


def fit_like_shipped(rows: Sequence[Mapping[str, Any]]) -> ThemeModel:
    """A tagger fitted and calibrated as the shipped one is, with ``rows`` as its real passages
    (the shipped one uses them all; a benchmark leaves out the passages it measures on)."""
    taxonomy = shipped_taxonomy()
    examples, vectors = fitting_set(taxonomy)
    texts = [row["text"] for row in rows]
    # The real passages' windows are embedded for calibration too: keep them all on disk.
    embedder = CachedEmbedder(_cache_dir() / f"real-{cache_name(texts)}")
    return fit_calibrated(
        [*examples, *real_examples(rows, REAL_WEIGHT)],
        np.concatenate([vectors, embedder(texts)]),
        {s.key: s.kind for s in taxonomy.subthemes},
        held=range(len(examples), len(examples) + len(rows)),
        embedder=embedder,
        meta={"source": "shipped", "seed": seed_fingerprint(), "real_passages": len(rows)},
        c=SHIPPED_FIT["c"],
        word_c=SHIPPED_FIT["word_c"],
        mix=SHIPPED_FIT["mix"],
    )


def cross_validate_shipped(
    rows: Sequence[Mapping[str, Any]],
    *,
    repeats: int = 5,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> CrossValidation:
    """Repeated k-fold over labelled real passages ``rows``: each fold is scored by a tagger fitted
    as the shipped one is (seed set, descriptions, the other folds; calibrated on those folds)."""
    examples, vectors = fitting_set()
    texts = [row["text"] for row in rows]
    return cross_validate(
        rows,
        examples,
        vectors,
        {s.key: s.kind for s in shipped_taxonomy().subthemes},
        embedder=CachedEmbedder(_cache_dir() / f"cv-{cache_name(texts)}"),
        weight=REAL_WEIGHT,
        folds=folds,
        repeats=repeats,
        progress=progress,
        c=SHIPPED_FIT["c"],
        word_c=SHIPPED_FIT["word_c"],
        mix=SHIPPED_FIT["mix"],
    )
