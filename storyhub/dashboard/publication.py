"""Disclosure control for everything the dashboard can ever show, decided once for all requests.

Hiding small counts table by table is not enough: a count hidden in one table can be worked out
from others (a year minus its other quarters, a total minus the other settings, everything
minus one filter's answer). So the dashboard treats every number any request can show (the
page, its CSV and the API, for every filter and year offered) as one publication, and decides
once which of its cells are hidden. A request only looks its cells up here, so the same cell
has the same answer in every table that shows it.

The cells are sums over "atoms": passages with one subtheme, one good-or-bad mark, one kind of
teller, one setting, one language and one quarter. A cell pins some of those six to a value
(a subtheme or a whole kind; a quarter or a whole year) and adds up every atom that matches.

The rule (primary, then a "swap" for each hidden count):

- **primary**: a cell is hidden when it counts fewer than the threshold passages or stories;
- **swap**: for each hidden, non-zero cell, pick a few atoms (``a``, in the cell, with at least
  one passage; and neighbours of it that differ in one or two of the things the cell pins) and
  a way to move one passage between them (+1 / -1) that changes the hidden cell. Every other
  cell whose number that move would change is hidden as well. Then two archives, the real one
  and the one with that passage moved, give exactly the same shown numbers but a different
  hidden count: no sum or difference of shown numbers (nor any bound worked out from them)
  can pin the hidden count down. Moves of one passage between two cells in a 2 x 2 square
  ("rectangles") change only cells that pin both sides of the square; a move along one line
  also changes that line's totals. Of a few candidates, the move that hides the fewest shown
  passages is chosen (a square whose passages exist wins a tie).

The property test (tests/unit/storyhub/test_dashboard_disclosure.py) plays the attacker over
every answer every allowed request gives, with linear algebra and bounds.

A hidden zero needs no cover: knowing that nobody said something identifies nobody.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from storyhub.dashboard.suppression import Count, Tally, too_small

# The six things a passage is counted by, in the order of an atom's fields.
S, V, T, E, L, Q = range(6)
# A key pins each of them: (level, code) per field; level 0 is "any". Subtheme: 1 a kind,
# 2 a subtheme. Time: 1 a year, 2 a quarter. Others: 1 one value.
Pin = tuple[int, int]
ANY: Pin = (0, -1)
Key = tuple[Pin, Pin, Pin, Pin, Pin, Pin]
Atom = tuple[int, int, int, int, int, int]  # subtheme, mark, teller, setting, language, quarter
Shape = tuple[int, int, int, int, int, int]  # the level of each field


def shape_of(key: Key) -> Shape:
    return (key[0][0], key[1][0], key[2][0], key[3][0], key[4][0], key[5][0])


def universe_shapes() -> frozenset[Shape]:
    """Every shape of cell a request can show: one split (or a year) at a time, by one table.

    A request narrows by at most one of: mark, teller, setting, language, year (and by kind or
    subtheme, which only picks rows); each table crosses outcomes (all, a kind or a subtheme)
    with one column field (mark, setting, teller, language, or quarter/year for time).
    """
    shapes: set[Shape] = set()
    for context in (None, V, T, E, L, Q):
        for column in (V, T, E, L, Q):
            for column_level in (0, 1, 2) if column == Q else (0, 1):
                for s_level in (0, 1, 2):
                    levels = [s_level, 0, 0, 0, 0, 0]
                    if context is not None:
                        levels[context] = 1
                    levels[column] = max(levels[column], column_level)
                    shapes.add(tuple(levels))  # type: ignore[arg-type]
    return frozenset(shapes)


SHAPES = universe_shapes()


def merge(*parts: Sequence[Pin] | None, kind_of: Sequence[int]) -> Key | None:
    """The cell pinned by all of ``parts`` at once; None when they can't both hold (empty)."""
    out = [ANY] * 6
    for part in parts:
        if part is None:
            return None
        for field, pin in enumerate(part):
            if pin[0] == 0:
                continue
            have = out[field]
            if have[0] == 0 or have == pin:
                out[field] = pin
                continue
            coarse, fine = sorted((have, pin))
            if coarse[0] == fine[0] or not _within(field, fine, coarse, kind_of):
                return None
            out[field] = fine
    return tuple(out)  # type: ignore[return-value]


def _within(field: int, fine: Pin, coarse: Pin, kind_of: Sequence[int]) -> bool:
    if field == S:
        return kind_of[fine[1]] == coarse[1]
    return fine[1] // 4 == coarse[1]  # a quarter within a year


@dataclass(frozen=True)
class Move:
    """One passage moved between atoms: +1 / -1 per atom; shown cells never notice it."""

    atoms: tuple[tuple[Atom, int], ...]


class Publication:
    """Every cell's true figures, and which cells are hidden, for one state of the archive."""

    def __init__(
        self,
        atoms: np.ndarray[Any, Any],
        story: np.ndarray[Any, Any],
        kind_of: Sequence[int],
        sizes: Sequence[int],
        threshold: int,
    ) -> None:
        self.kind_of = list(kind_of)
        self.sizes = list(sizes)  # how many values each field has (time: see quarters)
        self.threshold = threshold
        self.tallies: dict[Key, Tally] = {}
        self.sample: dict[Key, Atom] = {}  # one atom of each non-empty cell, the smallest
        self.quarters = (int(atoms[:, Q].min()), int(atoms[:, Q].max())) if len(atoms) else (0, 0)
        for shape in sorted(SHAPES):
            self._count(shape, atoms, story)
        found, counts = (
            np.unique(atoms, axis=0, return_counts=True)
            if len(atoms)
            else (np.empty((0, 6), dtype=np.int64), np.empty(0, dtype=np.int64))
        )
        self.atom_count: dict[Atom, int] = {
            tuple(int(x) for x in row): int(n)  # type: ignore[misc]
            for row, n in zip(found, counts, strict=True)
        }
        self.hidden: set[Key] = set()
        self.moves: list[Move] = []
        self._cells_cache: dict[Atom, list[Key]] = {}
        self._protect()

    # -- counting every cell ---------------------------------------------------------------

    def _codes(self, shape: Shape, atoms: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Each passage's cell of ``shape``, as one code per field (-1: any)."""
        kind = np.asarray(self.kind_of, dtype=np.int64)
        columns = []
        for field, level in enumerate(shape):
            values = atoms[:, field]
            if level == 0:
                code = np.full(len(atoms), -1, dtype=np.int64)
            elif field == S and level == 1:
                code = kind[values]
            elif field == Q and level == 1:
                code = values // 4
            else:
                code = values
            columns.append(code)
        return np.stack(columns, axis=1)

    def _count(
        self, shape: Shape, atoms: np.ndarray[Any, Any], story: np.ndarray[Any, Any]
    ) -> None:
        if not len(atoms):
            return
        codes = self._codes(shape, atoms)
        # One integer per cell (mixed radix over the fields' codes): sorting integers is what
        # keeps 100,000 passages x 63 shapes quick.
        low = codes.min(axis=0)
        span = codes.max(axis=0) - low + 1
        flat = np.zeros(len(atoms), dtype=np.int64)
        for field in range(6):
            flat = flat * span[field] + (codes[:, field] - low[field])
        cells, first, inverse, passages = np.unique(
            flat, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
        pairs = np.unique(inverse.astype(np.int64) * (int(story.max()) + 1) + story)
        stories = np.bincount(pairs // (int(story.max()) + 1), minlength=len(cells))
        rows = codes[first].tolist()
        samples = atoms[first].tolist()
        for i, row in enumerate(rows):
            key: Key = tuple(  # type: ignore[assignment]
                (shape[f], row[f]) for f in range(6)
            )
            self.tallies[key] = Tally(int(passages[i]), int(stories[i]))
            self.sample[key] = tuple(samples[i])

    def key_at(self, atom: Atom, shape: Shape) -> Key:
        """The cell of ``shape`` that ``atom`` falls in."""
        out = []
        for field, level in enumerate(shape):
            if level == 0:
                out.append(ANY)
            elif field == S and level == 1:
                out.append((1, self.kind_of[atom[S]]))
            elif field == Q and level == 1:
                out.append((1, atom[Q] // 4))
            else:
                out.append((level, atom[field]))
        return tuple(out)  # type: ignore[return-value]

    # -- hiding ----------------------------------------------------------------------------

    def _protect(self) -> None:
        primary = sorted(k for k, t in self.tallies.items() if too_small(t, self.threshold))
        self.hidden.update(primary)
        covered: set[Key] = set()
        for key in primary:
            if key in covered:
                continue  # a move chosen for another cell already changes this one
            if not any(pin[0] for pin in key):
                # Everything at once: every other cell is a part of it, and so is as small and
                # hidden too; nothing shown adds up to it.
                continue
            move = self._move_for(key)
            if move is None:
                # Nothing to move to (one quarter of stories, say): the cell holds what a
                # coarser cell does, which is as small and hidden too.
                continue
            changed = self._changed_by(move)
            self.moves.append(move)
            covered.update(changed)
            self.hidden.update(changed)

    def _changed_by(self, move: Move) -> set[Key]:
        """Every cell (of every shape a request can show) whose number the move changes."""
        sums: dict[Key, int] = {}
        for atom, sign in move.atoms:
            for key in self._cells_of(atom):
                sums[key] = sums.get(key, 0) + sign
        return {k for k, total in sums.items() if total}

    def _cells_of(self, atom: Atom) -> list[Key]:
        """Every cell (of every shape a request can show) that ``atom`` falls in."""
        found = self._cells_cache.get(atom)
        if found is None:
            found = [self.key_at(atom, shape) for shape in SHAPES]
            self._cells_cache[atom] = found
        return found

    def _alternatives(self, key: Key, field: int, atom: Atom) -> list[int]:
        """Values of ``field`` outside ``key``'s pin, the most harmless first."""
        level = key[field][0]
        value = atom[field]
        if field == S:
            options = [s for s in range(self.sizes[S]) if s != value]
            if level == 1:
                options = [s for s in options if self.kind_of[s] != self.kind_of[value]]
            near = [s for s in options if self.kind_of[s] == self.kind_of[value]]
        elif field == Q:
            # Only quarters on the time axis: the axis itself shows there is nothing before its
            # first quarter or after its last, so a move there would fool nobody.
            lo, hi = self.quarters
            options = [q for q in range(lo, hi + 1) if q != value]
            if level == 1:
                options = [q for q in options if q // 4 != value // 4]
            near = [q for q in options if q // 4 == value // 4]
        else:
            options = [x for x in range(self.sizes[field]) if x != value]
            near = options

        def sibling_size(alt: int) -> int:
            moved = list(atom)
            moved[field] = alt
            tally = self.tallies.get(self.key_at(tuple(moved), shape_of(key)))  # type: ignore[arg-type]
            return tally.passages if tally else 0

        # Same kind (or year) first, so kind and year totals stay shown; then the smallest
        # neighbour, which is likely hidden already.
        return sorted(options, key=lambda alt: (alt not in near, sibling_size(alt), alt))[:24]

    def _move_for(self, key: Key) -> Move | None:
        """The move that changes ``key`` and hides the fewest shown passages elsewhere.

        Candidates: squares over two of the fields the cell pins (changing only cells that pin
        both), and moves along one pinned field (which also change that field's totals). A
        move must be one the archive could make (the passages it takes exist).
        """
        atom = self.sample[key]
        pinned = [f for f in range(6) if key[f][0]]
        have = self.atom_count

        def with_(changes: dict[int, int]) -> Atom:
            moved = list(atom)
            for field, value in changes.items():
                moved[field] = value
            return tuple(moved)  # type: ignore[return-value]

        candidates: list[Move] = []
        for f1, f2 in combinations(pinned, 2):
            squares = 0
            for alt1 in self._alternatives(key, f1, atom)[:8]:
                for alt2 in self._alternatives(key, f2, atom)[:8]:
                    b, c = with_({f2: alt2}), with_({f1: alt1})
                    d = with_({f1: alt1, f2: alt2})
                    # Only a move the archive could really make: one passage a -> b and one
                    # d -> c needs a passage in d (or, backwards, in b and in c). A move that
                    # needs a passage where there is none would let bounds give the count away.
                    if squares < 3 and (
                        have.get(d, 0) >= 1 or (have.get(b, 0) >= 1 and have.get(c, 0) >= 1)
                    ):
                        candidates.append(Move(((atom, 1), (b, -1), (c, -1), (d, 1))))
                        squares += 1
        for field in pinned:
            # a has a passage, so moving one of them along a line is always possible.
            for alt in self._alternatives(key, field, atom)[:3]:
                candidates.append(Move(((atom, 1), (with_({field: alt}), -1))))
        best: tuple[int, int] | None = None
        chosen: Move | None = None
        for n, move in enumerate(candidates):
            changed = self._changed_by(move)
            if key not in changed:
                continue
            cost = (self._damage(changed), n)
            if best is None or cost < best:
                best, chosen = cost, move
        return chosen

    def _damage(self, changed: set[Key]) -> int:
        """Passages in cells that would be hidden now and aren't yet."""
        return sum(
            self.tallies[k].passages for k in changed if k not in self.hidden and k in self.tallies
        )

    # -- answers ---------------------------------------------------------------------------

    def tally(self, key: Key | None) -> Tally:
        if key is None:
            return Tally(0, 0)
        return self.tallies.get(key, Tally(0, 0))

    def count(self, key: Key | None) -> Count:
        """The cell as it may be shown (hidden: no number at all)."""
        if key is not None and shape_of(key) not in SHAPES:
            raise ValueError(f"not a cell the dashboard publishes: {key}")
        tally = self.tally(key)
        if key is None or key in self.hidden or too_small(tally, self.threshold):
            return Count(None, None, self.threshold)
        return Count(tally.passages, tally.stories, self.threshold)


_lock = threading.Lock()
_cache: dict[bytes, Publication] = {}


def publication(
    atoms: np.ndarray[Any, Any],
    story: np.ndarray[Any, Any],
    kind_of: Sequence[int],
    sizes: Sequence[int],
    threshold: int,
) -> Publication:
    """The publication for these counted passages, made once per state of the archive."""
    # The same passages in any order make the same publication (and the same hidden cells).
    order = np.lexsort([story, *atoms.T[::-1]]) if len(atoms) else np.empty(0, dtype=np.int64)
    atoms, story = atoms[order], story[order]
    digest = hashlib.sha256()
    for part in (atoms, story, np.asarray(kind_of), np.asarray(sizes), np.asarray([threshold])):
        digest.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
        digest.update(b"|")
    fingerprint = digest.digest()
    with _lock:
        found = _cache.get(fingerprint)
    if found is not None:
        return found
    made = Publication(atoms, story, kind_of, sizes, threshold)
    with _lock:
        _cache.clear()  # one archive state at a time: the newest
        _cache[fingerprint] = made
    return made


def pins(fields: Iterable[tuple[int, Pin]]) -> list[Pin]:
    """A partial key: ``(field, pin)`` pairs, every other field "any"."""
    out = [ANY] * 6
    for field, pin in fields:
        out[field] = pin
    return out
