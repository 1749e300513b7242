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
from bisect import bisect_right
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
        self.sample: dict[Key, Atom] = {}  # one atom of each non-empty cell (while choosing)
        self._pins: dict[Pin, Pin] = {}  # one tuple per pin, shared by every key (memory)
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
        self.atoms_listed = 0  # atoms whose cells were listed while choosing (then dropped)
        self._layout()
        self._protect()
        # The working tables are only needed while choosing: keep the publication small.
        for name in (
            "_rows", "_tables", "_columns", "_passages", "_shown", "_alternatives_of", "_keys",
            "_pins",
        ):  # fmt: skip
            delattr(self, name)
        del self.sample

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
        pin = self._pins
        for i, row in enumerate(rows):
            key: Key = tuple(  # type: ignore[assignment]
                pin.setdefault((shape[f], row[f]), (shape[f], row[f])) for f in range(6)
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

    # -- cells as integers, while choosing -------------------------------------------------

    def _layout(self) -> None:
        """Number every cell of every shape: one integer per cell (mixed radix per shape).

        While choosing, a cell is that integer, and an atom's cells (one per shape) are one row
        of integers, ``_base`` plus one row of ``_tables`` per field: cheap to compare and sum.
        """
        lo, hi = self.quarters
        kinds = max(self.kind_of, default=0) + 1
        widest = [max(self.sizes[f], 1) for f in range(6)]
        widest[S] = max(widest[S], len(self.kind_of))
        for key in self.tallies:  # values the archive has beyond the sizes given
            for field in (S, V, T, E, L):
                if key[field][0] and not (field == S and key[field][0] == 1):
                    widest[field] = max(widest[field], key[field][1] + 1)
        self._offset = [0, 0, 0, 0, 0, lo]  # an atom's value minus this indexes its table

        def radix(field: int, level: int) -> int:
            if level == 0:
                return 1
            if field == S:
                return kinds if level == 1 else widest[S]
            if field == Q:
                return hi // 4 - lo // 4 + 1 if level == 1 else hi - lo + 1
            return widest[field]

        def first(field: int, level: int) -> int:  # the code of digit 0
            if field == Q and level:
                return lo // 4 if level == 1 else lo
            return 0

        self._shapes = sorted(SHAPES)
        self._shape_index = {shape: i for i, shape in enumerate(self._shapes)}
        self._radix = [[radix(f, shape[f]) for f in range(6)] for shape in self._shapes]
        self._first = [[first(f, shape[f]) for f in range(6)] for shape in self._shapes]
        self._mult: list[list[int]] = []
        self._bases: list[int] = []
        total = 0
        for radices in self._radix:
            mult = [1] * 6
            for f in range(4, -1, -1):
                mult[f] = mult[f + 1] * radices[f + 1]
            self._mult.append(mult)
            self._bases.append(total)
            total += mult[0] * radices[0]
        n_shapes = len(self._shapes)
        kind = np.asarray(self.kind_of or [0], dtype=np.int64)
        tables = []
        for field in range(6):
            values = np.arange(hi - lo + 1) + lo if field == Q else np.arange(widest[field])
            table = np.zeros((len(values), n_shapes), dtype=np.int64)
            for i, shape in enumerate(self._shapes):
                level = shape[field]
                if level == 0:
                    continue
                if field == S and level == 1:
                    code = kind[values]
                elif field == Q and level == 1:
                    code = values // 4
                else:
                    code = values
                table[:, i] = (code - self._first[i][field]) * self._mult[i][field]
            tables.append(table)
        self._tables = tables
        self._base = np.asarray(self._bases, dtype=np.int64)
        # Per field and shape, each value's share of the cell's integer (for sibling sizes).
        self._columns = [[table[:, i].tolist() for i in range(n_shapes)] for table in tables]
        self._rows: dict[Atom, np.ndarray[Any, Any]] = {}
        self._keys = {self._id(k): k for k in self.tallies}
        self._passages = {cell: self.tallies[k].passages for cell, k in self._keys.items()}
        # Passages per cell while it is shown (0 once hidden, or empty): the cost of hiding it.
        self._shown = np.zeros(total, dtype=np.int64)
        self._alternatives_of: dict[tuple[Key, int], list[int]] = {}

    def _id(self, key: Key) -> int:
        i = self._shape_index[shape_of(key)]
        first, mult = self._first[i], self._mult[i]
        return self._bases[i] + sum((key[f][1] - first[f]) * mult[f] for f in range(6) if key[f][0])

    def _key(self, cell: int) -> Key:
        """The key of a cell's integer (the inverse of ``_id``)."""
        found = self._keys.get(cell)
        if found is not None:
            return found
        i = bisect_right(self._bases, cell) - 1
        shape, rest = self._shapes[i], cell - self._bases[i]
        out = []
        for f in range(6):
            digit, rest = divmod(rest, self._mult[i][f])
            pin = (shape[f], digit + self._first[i][f]) if shape[f] else ANY
            out.append(self._pins.setdefault(pin, pin))
        return tuple(out)  # type: ignore[return-value]

    def _row(self, atom: Atom) -> np.ndarray[Any, Any]:
        """Every cell (of every shape a request can show) that ``atom`` falls in, by shape."""
        row = self._rows.get(atom)
        if row is None:
            t, off = self._tables, self._offset
            row = (
                self._base + t[0][atom[0]] + t[1][atom[1]] + t[2][atom[2]] + t[3][atom[3]]
                + t[4][atom[4]] + t[5][atom[5] - off[5]]
            )  # fmt: skip
            self._rows[atom] = row
        return row

    # -- hiding ----------------------------------------------------------------------------

    def _protect(self) -> None:
        primary = sorted(k for k, t in self.tallies.items() if too_small(t, self.threshold))
        hidden = {self._id(k) for k in primary}
        for cell, n in self._passages.items():
            if cell not in hidden:
                self._shown[cell] = n
        covered: set[int] = set()
        for key in primary:
            cell = self._id(key)
            if cell in covered:
                continue  # a move chosen for another cell already changes this one
            if not any(pin[0] for pin in key):
                # Everything at once: every other cell is a part of it, and so is as small and
                # hidden too; nothing shown adds up to it.
                continue
            found = self._move_for(key, cell)
            if found is None:
                # Nothing to move to (one quarter of stories, say): the cell holds what a
                # coarser cell does, which is as small and hidden too.
                continue
            move, cells = found
            changed = set(cells.tolist())
            self.moves.append(move)
            covered |= changed
            hidden |= changed
            self._shown[cells] = 0
        self.atoms_listed = len(self._rows)
        self.hidden = {self._key(cell) for cell in hidden}

    def _alternatives(self, key: Key, cell: int, field: int, atom: Atom) -> list[int]:
        """Values of ``field`` outside ``key``'s pin, the most harmless first."""
        found = self._alternatives_of.get((key, field))
        if found is not None:
            return found
        level = key[field][0]
        value = atom[field]
        if field == S:
            options = [s for s in range(self.sizes[S]) if s != value]
            if level == 1:
                options = [s for s in options if self.kind_of[s] != self.kind_of[value]]
            near = {s for s in options if self.kind_of[s] == self.kind_of[value]}
        elif field == Q:
            # Only quarters on the time axis: the axis itself shows there is nothing before its
            # first quarter or after its last, so a move there would fool nobody.
            lo, hi = self.quarters
            options = [q for q in range(lo, hi + 1) if q != value]
            if level == 1:
                options = [q for q in options if q // 4 != value // 4]
            near = {q for q in options if q // 4 == value // 4}
        else:
            options = [x for x in range(self.sizes[field]) if x != value]
            near = set(options)
        # The cell of the key's shape that the atom moved to ``alt`` falls in.
        share = self._columns[field][self._shape_index[shape_of(key)]]
        off = self._offset[field]
        rest = cell - share[value - off]
        passages = self._passages

        def sibling_size(alt: int) -> int:
            return passages.get(rest + share[alt - off], 0)

        # Same kind (or year) first, so kind and year totals stay shown; then the smallest
        # neighbour, which is likely hidden already.
        found = sorted(options, key=lambda alt: (alt not in near, sibling_size(alt), alt))[:24]
        self._alternatives_of[(key, field)] = found
        return found

    def _move_for(self, key: Key, cell: int) -> tuple[Move, np.ndarray[Any, Any]] | None:
        """The move that changes ``key`` and hides the fewest shown passages elsewhere, and
        every cell (of every shape a request can show) whose number that move changes.

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

        # The candidates in order: squares (a, b, c, d), then lines (a, b).
        squares: list[tuple[Atom, Atom, Atom]] = []
        lines: list[Atom] = []
        for f1, f2 in combinations(pinned, 2):
            found = 0
            across = [
                (alt2, with_({f2: alt2})) for alt2 in self._alternatives(key, cell, f2, atom)[:8]
            ]
            for alt1 in self._alternatives(key, cell, f1, atom)[:8]:
                if found >= 3:
                    break
                c = with_({f1: alt1})
                for alt2, b in across:
                    if found >= 3:
                        break
                    moved = list(c)
                    moved[f2] = alt2
                    d: Atom = tuple(moved)  # type: ignore[assignment]
                    # Only a move the archive could really make: one passage a -> b and one
                    # d -> c needs a passage in d (or, backwards, in b and in c). A move that
                    # needs a passage where there is none would let bounds give the count away.
                    if have.get(d, 0) >= 1 or (have.get(b, 0) >= 1 and have.get(c, 0) >= 1):
                        squares.append((b, c, d))
                        found += 1
        for field in pinned:
            # a has a passage, so moving one of them along a line is always possible.
            for alt in self._alternatives(key, cell, field, atom)[:3]:
                lines.append(with_({field: alt}))
        if not squares and not lines:
            return None
        # The cells each candidate changes, for every candidate at once (rows: candidates,
        # columns: shapes). A field's pin depends on that field alone, so in each shape a
        # line's two atoms fall in two cells or in one (no change), and a square's four atoms
        # in four cells (all changed) or in two pairs (no change).
        here = self._row(atom)
        shown = self._shown
        row = self._row
        shape = self._shape_index[shape_of(key)]
        parts: list[
            tuple[list[np.ndarray[Any, Any]], np.ndarray[Any, Any], np.ndarray[Any, Any]]
        ] = []
        if squares:
            rb = np.stack([row(b) for b, _, _ in squares])
            rc = np.stack([row(c) for _, c, _ in squares])
            rd = np.stack([row(d) for _, _, d in squares])
            changes = (rb != here) & (rc != here)
            total = shown[here] + shown[rb] + shown[rc] + shown[rd]
            parts.append(([here[None, :].repeat(len(squares), 0), rb, rc, rd], changes, total))
        if lines:
            rb = np.stack([row(b) for b in lines])
            changes = rb != here
            total = shown[here] + shown[rb]
            parts.append(([here[None, :].repeat(len(lines), 0), rb], changes, total))
        changes = np.concatenate([p[1] for p in parts])
        # Passages in cells that would be hidden now and aren't yet (no cell counted twice:
        # the atoms' cells differ in every shape that changes, and shapes share no cell).
        cost = np.concatenate([(p[2] * p[1]).sum(axis=1) for p in parts])
        allowed = changes[:, shape]  # the move changes ``key``
        if not allowed.any():
            return None
        n = int(np.argmin(np.where(allowed, cost, np.iinfo(np.int64).max)))  # the first, if tied
        moves = [Move(((atom, 1), (b, -1), (c, -1), (d, 1))) for b, c, d in squares] + [
            Move(((atom, 1), (b, -1))) for b in lines
        ]
        rows, change, _ = parts[0] if n < len(squares) else parts[-1]
        i = n if n < len(squares) else n - len(squares)
        chosen = (moves[n], np.concatenate([r[i][change[i]] for r in rows]))
        return chosen

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


_lock = threading.Lock()  # guards _cache
_build_lock = threading.Lock()  # one build at a time in a process: the others wait for it
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
    with _build_lock:
        # Requests that arrived together for this state waited here: the first one made it.
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
