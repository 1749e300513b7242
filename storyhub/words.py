"""A passage's words as they are shown: each run of removed words is one placeholder.

Kept apart from ``storyhub.transcripts`` (which changes the words) so that what only reads them,
such as the theme suggestions, does not depend on the editing rules.
"""

from __future__ import annotations

import re
from typing import Any

from storyhub.models import Passage

REDACTED_TEXT = "[name removed]"


def word_units(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Words grouped so that each run of redacted words is one unit, shown as the placeholder."""
    units: list[list[dict[str, Any]]] = []
    for word in words:
        if word.get("redacted") and units and units[-1][0].get("redacted"):
            units[-1].append(word)
        else:
            units.append([word])
    return units


def unit_text(unit: list[dict[str, Any]]) -> str:
    """The text a unit is shown as: its word, or the placeholder for a removed run."""
    return REDACTED_TEXT if unit[0].get("redacted") else str(unit[0]["text"])


def display_words(passage: Passage) -> list[dict[str, Any]]:
    """The passage's words as shown: each removed run is one "[name removed]" with its times."""
    shown: list[dict[str, Any]] = []
    for unit in word_units(passage.words):
        shown.append(
            {
                "start": unit[0]["start"],
                "end": unit[-1]["end"],
                "text": unit_text(unit),
                "redacted": bool(unit[0].get("redacted")),
            }
        )
    return shown


def find_phrase(passage: Passage, phrase: str) -> list[tuple[int, int]]:
    """Where a phrase (e.g. a name) occurs in a passage, as (first, last) word indexes."""

    def norm(text: str) -> str:
        return re.sub(r"[^\w']", "", text.lower())

    wanted = [norm(t) for t in phrase.split()]
    wanted = [w for w in wanted if w]
    if not wanted:
        return []
    words = [norm(w["text"]) for w in passage.words]
    return [
        (i, i + len(wanted) - 1)
        for i in range(len(words) - len(wanted) + 1)
        if words[i : i + len(wanted)] == wanted
    ]
