"""The shipped tagger: fitted to the seed set and the taxonomy's descriptions, nothing else.

Training takes a few seconds (mostly embedding the seed passages), so the result is cached in
``$STORYHUB_MODEL_CACHE/themes`` under a name that changes whenever the seed set, the taxonomy or
the model format does. Writing is atomic (a temporary file renamed into place), so several
processes may race to build it safely.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import numpy as np

from ..whisper_models import cache_root
from .embed import MODEL_NAME, Vectors, embed
from .model import FORMAT, Example, ThemeModel, fit
from .seed import description_examples, seed_examples, seed_fingerprint
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
    """The tagger as shipped: fitted to this project's seed set only."""
    taxonomy_digest = hashlib.sha256(SHIPPED_TAXONOMY.read_bytes()).hexdigest()[:8]
    name = f"shipped-f{FORMAT}-{seed_fingerprint()}-{taxonomy_digest}.npz"
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
            taxonomy = shipped_taxonomy()
            examples, vectors = fitting_set(taxonomy)
            model = fit(
                examples,
                vectors,
                {s.key: s.kind for s in taxonomy.subthemes},
                meta={"source": "shipped", "seed": seed_fingerprint()},
            )
            _write_atomically(path, model.to_bytes())
        _cached[name] = model
        return model
