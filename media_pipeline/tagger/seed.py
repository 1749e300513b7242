"""The seed set: labelled example passages written for this project, in several files.

Every line of ``seed/*.jsonl`` is ``{"id", "text", "labels", "subthemes", "speaker", "valence"}``.
They were written to cover every subtheme with varied speakers (older people, disabled adults,
mental health, learning disability, autistic people, carers, parents, practitioners) and both good
and bad experiences, plus passages with no theme at all, so the tagger learns the difference.
``seed/real-*.jsonl`` are written in the manner of real accounts (spoken and published styles),
labelled by the measuring set's conventions (a passing hope or recovery aside is not change).

``seed/dev_passages.jsonl`` is different: 150 real first-person passages (paraphrased from
published accounts, each with its ``source_url``), a copy of the project's measuring set
``shared/data/themes/dev_passages.jsonl``. They are learnt from too, weighted higher, and calibrate
the scores; so the honest accuracy figure is cross-validated (see ``crossval``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Final

from .model import Example
from .taxonomy import Taxonomy

SEED_DIR: Final = Path(__file__).with_name("seed")
REAL_PASSAGES: Final = SEED_DIR / "dev_passages.jsonl"
# The taxonomy's own words are examples too (a weak prior, and the only one a new subtheme has).
DESCRIPTION_WEIGHT: Final = 1.0


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def seed_rows() -> list[dict[str, Any]]:
    """The written seed passages (not the real ones)."""
    return [row for path in sorted(SEED_DIR.glob("*.jsonl")) if path != REAL_PASSAGES
            for row in _rows(path)]  # fmt: skip


def real_rows() -> list[dict[str, Any]]:
    """The real labelled passages shipped with the tagger (``seed/dev_passages.jsonl``)."""
    return _rows(REAL_PASSAGES)


def seed_examples() -> list[Example]:
    """The seed passages as fully labelled examples."""
    return [Example(row["text"], frozenset(row["subthemes"])) for row in seed_rows()]


def description_examples(taxonomy: Taxonomy) -> list[Example]:
    """One example per subtheme from its label and description, known to be that subtheme."""
    return [
        Example(
            f"{sub.label}. {sub.description}".strip(),
            frozenset({sub.key}),
            negative=frozenset(),  # says nothing about other labels
            weight=DESCRIPTION_WEIGHT,
        )
        for sub in taxonomy.subthemes
    ]


def seed_fingerprint() -> str:
    """Changes whenever the seed files (the real passages' too) do (names a cached model)."""
    digest = hashlib.sha256()
    for path in sorted(SEED_DIR.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
