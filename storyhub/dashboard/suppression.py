"""Small-number suppression: no count lets anyone pick out a person by a rare combination.

Two rules, as statistical offices apply them to published tables:

- **primary**: a count is hidden ("fewer than 5") when it is under the threshold, or when fewer
  stories than the threshold stand behind it (12 passages from 2 storytellers describe 2 people);
- **secondary**: where a total is shown and only one of the numbers adding up to it is hidden,
  that number could be worked out by subtraction, so the smallest shown number beside it is
  hidden as well. A hidden total whose parts are all shown gets the same treatment. This repeats
  until no table line gives a hidden number away. A hidden zero needs no such cover: knowing that
  nobody said something identifies nobody.

The dashboard itself applies the primary rule, and a stronger secondary one across every
table and request at once, in ``publication.py``; ``protect`` is for a single table.

The rules see the true numbers; what leaves this module for a page or a file is a ``Count``,
which carries no number at all once hidden.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

Key = Hashable


@dataclass(frozen=True)
class Tally:
    """True figures for one cell: passages (confirmed themes) and the stories they come from."""

    passages: int
    stories: int


@dataclass(frozen=True)
class Count:
    """A cell as it may be shown: ``passages`` and ``stories`` are None when it is hidden."""

    passages: int | None
    stories: int | None
    threshold: int

    @property
    def hidden(self) -> bool:
        return self.passages is None

    # Words are written when shown (in the page's or the download's language); the digits are
    # grouped the same way ("1,234") in English and in Welsh.
    @property
    def fewer_text(self) -> str:
        return _("fewer than %(threshold)d", threshold=self.threshold)

    @property
    def text(self) -> str:
        return self.fewer_text if self.passages is None else f"{self.passages:,}"

    @property
    def stories_text(self) -> str:
        return self.fewer_text if self.stories is None else f"{self.stories:,}"

    @property
    def csv_value(self) -> str:
        return self.fewer_text if self.passages is None else str(self.passages)

    @property
    def csv_stories(self) -> str:
        return self.fewer_text if self.stories is None else str(self.stories)


def too_small(tally: Tally, threshold: int) -> bool:
    return tally.passages < threshold or tally.stories < threshold


def protect(
    tallies: Mapping[Key, Tally],
    sums: Iterable[tuple[Key, list[Key]]],
    threshold: int,
) -> dict[Key, Count]:
    """Apply both rules to a table's cells; ``sums`` lists each total with the cells adding up
    to it (every row and column of the table, and group totals). Returns what may be shown."""
    lines = [(total, parts) for total, parts in sums if total in tallies]
    hidden = {key for key, tally in tallies.items() if too_small(tally, threshold)}
    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            shown = [p for p in parts if p not in hidden and tallies[p].passages > 0]
            if not shown:
                continue
            exposed = [p for p in parts if p in hidden and tallies[p].passages > 0]
            total_exposed = total in hidden and tallies[total].passages > 0
            if len(exposed) + total_exposed == 1:
                hidden.add(min(shown, key=lambda p: (tallies[p].passages, str(p))))
                changed = True
    return {
        key: Count(None, None, threshold)
        if key in hidden
        else Count(tally.passages, tally.stories, threshold)
        for key, tally in tallies.items()
    }
