"""The outcome-theme taxonomy (Talking Points): three fixed kinds and their subthemes.

The project's own copy lives next to this file (``taxonomy.json``). The database holds the live
taxonomy (an administrator may add or rename subthemes); this module only reads the shipped one
and describes the shape both share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

# The three kinds are fixed by the framework; subthemes may grow.
KINDS: Final = ("maintenance", "process", "change")
SHIPPED_TAXONOMY: Final = Path(__file__).with_name("taxonomy.json")


@dataclass(frozen=True)
class Subtheme:
    """One subtheme: a stable key (tags refer to it), its kind, and words people read."""

    key: str
    kind: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    description: str


@dataclass(frozen=True)
class Taxonomy:
    kinds: tuple[Kind, ...]
    subthemes: tuple[Subtheme, ...]

    def kind_of(self, subtheme_key: str) -> str | None:
        """The kind a subtheme belongs to, or None if it isn't in this taxonomy."""
        return next((s.kind for s in self.subthemes if s.key == subtheme_key), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Taxonomy:
        kinds: list[Kind] = []
        subthemes: list[Subtheme] = []
        for kind in data["kinds"]:
            if kind["id"] not in KINDS:
                raise ValueError(f"Unknown kind {kind['id']!r}: the kinds are {', '.join(KINDS)}.")
            kinds.append(Kind(kind["id"], kind["label"], kind.get("description", "")))
            for sub in kind["subthemes"]:
                subthemes.append(
                    Subtheme(sub["id"], kind["id"], sub["label"], sub.get("description", ""))
                )
        return cls(tuple(kinds), tuple(subthemes))


def shipped_taxonomy() -> Taxonomy:
    """The taxonomy this project ships (loaded into the database on set-up)."""
    return Taxonomy.from_dict(json.loads(SHIPPED_TAXONOMY.read_text(encoding="utf-8")))
