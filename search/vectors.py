"""The vector index: passage embeddings by ``vector_key``, for search by meaning.

Chosen by the figures from bench/vectors.py (bench/README.md): at 400,000 embedding-like
vectors of 384 numbers, a usearch HNSW graph over half-precision (f16) vectors answers a top-200
query in about half a millisecond (p50) with recall@100 of 0.96, where a flat float32 numpy scan
takes 30 ms (p95 48 ms) on this 2-core machine; i8 storage is 40 % smaller but recall drops to
0.89 and cosines get coarse.
Readers memory-map the saved file (``view=True``), so the web processes share one copy in the
page cache instead of each loading its own.

Layout of ``folder``: ``CURRENT`` names the live generation ``N``; ``N.usearch`` is the graph and
vectors, ``N.stories.npz`` which story each key belongs to (so a story's vectors can be replaced
as a whole after a restart). A writer writes generation N+1 under temporary names, fsyncs, renames
them into place, then replaces ``CURRENT`` in one rename and deletes the older generations: a
reader never sees a half-written file, and notices a new generation at its next call (a stat of
``CURRENT``). One writer at a time: a thread lock in the process and an flock on ``LOCK`` across
processes; readers take no lock on disk.

Removal is physical. usearch only marks a removed slot free and keeps its bytes until an add
reuses the slot, so after a change the writer fills every slot left free with a dummy vector and
frees it again: no erased or redacted passage's vector stays in the files on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from usearch.index import Index

# f16 over i8: recall@100 0.96 against 0.89 at 400,000 embedding-like vectors (bench/vectors.py),
# and cosines close enough to exact for the similarity floor; the file is about 0.9 KB a passage.
STORAGE = "f16"
# Keys of the dummy vectors that overwrite freed slots: vector keys are 63-bit, so these never
# collide with a passage's key.
FILLER_BASE = 1 << 63
# Vectors added to the graph per call while building: bounds the memory a build holds at once.
BUILD_CHUNK = 20_000
_GENERATION = re.compile(r"^(\d+)\.(usearch|stories\.npz)$")

Vector = npt.NDArray[np.float32]
Keys = npt.NDArray[np.uint64]


class VectorIndex:
    """Unit vectors by 63-bit key in ``folder``: one writer process, many reader processes."""

    def __init__(self, folder: str | Path, dimensions: int) -> None:
        self.folder = Path(folder)
        self.dimensions = dimensions
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # What readers search: the last complete save, memory-mapped.
        self._view: Index | None = None
        self._view_stamp: tuple[int, int] | None = None
        self._view_generation = 0
        # The writer's own loaded copy, and which story each key belongs to.
        self._writer: Index | None = None
        self._writer_generation = -1
        self._story_of: dict[int, int] = {}
        self._keys_of: dict[int, set[int]] = {}

    # Reading ------------------------------------------------------------------------------

    def nearest(self, vector: npt.ArrayLike, count: int) -> list[tuple[int, float]]:
        """Up to ``count`` (key, cosine) pairs, best first; approximate (HNSW)."""
        query = self._unit(vector)
        if count <= 0:
            return []
        with self._read_lock:
            index = self._current()
            if index is None or len(index) == 0:
                return []
            found = index.search(query, count, threads=1)
            keys, distances = found.keys.tolist(), found.distances.tolist()
        # usearch's cosine distance is 1 - cosine.
        return [(int(k), 1.0 - float(d)) for k, d in zip(keys, distances, strict=True)]

    def similarities(self, vector: npt.ArrayLike, keys: Sequence[int]) -> dict[int, float]:
        """Exact cosine to each of ``keys`` that is in the index (others are left out)."""
        query = self._unit(vector)
        wanted = np.unique(np.asarray(keys, dtype=np.uint64))
        if len(wanted) == 0:
            return {}
        with self._read_lock:
            index = self._current()
            if index is None or len(index) == 0:
                return {}
            present = wanted[np.asarray(index.contains(wanted), dtype=bool)]
            if len(present) == 0:
                return {}
            rows = index.get(present)
            assert rows is not None  # one row per key asked for; every one of these exists
            stored = np.vstack([np.asarray(row, dtype=np.float32) for row in rows])
        # Stored halves are unit only to about 1e-3: divide by their norms for the exact cosine.
        cosines = (stored @ query) / np.linalg.norm(stored, axis=1)
        return {int(k): float(c) for k, c in zip(present.tolist(), cosines.tolist(), strict=True)}

    def vector(self, key: int) -> Vector | None:
        """The stored vector of ``key`` as float32 (unit length), or None."""
        with self._read_lock:
            index = self._current()
            if index is None or key not in index:
                return None
            stored = np.asarray(index.get(key), dtype=np.float32)
        return stored / np.float32(np.linalg.norm(stored))

    def refresh(self) -> None:
        """Switch to the writer's last save now (and let go of the older file's mapping)."""
        with self._read_lock:
            self._current()

    def __len__(self) -> int:
        with self._read_lock:
            index = self._current()
            return 0 if index is None else len(index)

    def size_bytes(self) -> int:
        """Bytes on disk of the live generation."""
        generation = self._read_generation()
        if generation is None:
            return 0
        total = 0
        for path in self._files(generation):
            # Replaced meanwhile: the next call counts the new generation.
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    # Writing ------------------------------------------------------------------------------

    def build(self, items: Iterable[tuple[int, int, npt.ArrayLike]]) -> int:
        """Index (story_id, key, vector) items, replacing whatever ``folder`` held; the count."""
        index = self._new_index()
        story_of: dict[int, int] = {}
        chunk: list[tuple[int, int, npt.ArrayLike]] = []

        def flush() -> None:
            # A key given twice keeps its last vector, as replace_stories would.
            latest = {key: (story, vector) for story, key, vector in chunk}
            again = np.fromiter((k for k in latest if k in story_of), dtype=np.uint64)
            if len(again):
                index.remove(again)
            keys = np.fromiter(latest, dtype=np.uint64, count=len(latest))
            index.add(keys, self._units([v for _, v in latest.values()]))
            story_of.update((key, story) for key, (story, _) in latest.items())
            chunk.clear()

        for story_id, key, vector in items:
            chunk.append((int(story_id), self._key(key), vector))
            if len(chunk) >= BUILD_CHUNK:
                flush()
        if chunk:
            flush()
        with self._write_lock, self._locked_on_disk():
            self._writer = index
            self._story_of = story_of
            self._keys_of = {}
            for key, story in story_of.items():
                self._keys_of.setdefault(story, set()).add(key)
            self._wipe_free_slots(index)
            self._save(self._next_generation())
        return len(story_of)

    def replace_stories(self, stories: Mapping[int, Sequence[tuple[int, npt.ArrayLike]]]) -> None:
        """Give each story exactly the given (key, vector) pairs; an empty list removes it all."""
        if not stories:
            return
        new: dict[int, tuple[int, Vector]] = {}
        for story_id, pairs in stories.items():
            for key, vector in pairs:
                new[self._key(key)] = (int(story_id), self._unit(vector))
        with self._write_lock, self._locked_on_disk():
            index = self._writable()
            gone = {key for story_id in stories for key in self._keys_of.get(int(story_id), ())}
            # A key moving here from a story not in this call leaves that story too.
            gone |= {key for key in new if key in self._story_of}
            if gone:
                index.remove(np.fromiter(gone, dtype=np.uint64, count=len(gone)))
                for key in gone:
                    story = self._story_of.pop(key)
                    owned = self._keys_of[story]
                    owned.discard(key)
                    if not owned:
                        del self._keys_of[story]
            if new:
                keys = np.fromiter(new, dtype=np.uint64, count=len(new))
                index.add(keys, np.stack([vector for _, vector in new.values()]))
                for key, (story, _) in new.items():
                    self._story_of[key] = story
                    self._keys_of.setdefault(story, set()).add(key)
            self._wipe_free_slots(index)
            self._save(self._next_generation())

    def story_keys(self, story_id: int) -> set[int]:
        """The keys the writer holds for ``story_id`` (read from disk if it hasn't loaded yet)."""
        with self._write_lock, self._locked_on_disk():
            self._writable()
            return set(self._keys_of.get(story_id, ()))

    # Internals ----------------------------------------------------------------------------

    def _new_index(self) -> Index:
        return Index(ndim=self.dimensions, metric="cos", dtype=STORAGE)

    def _key(self, key: int) -> int:
        if not 0 <= int(key) < FILLER_BASE:
            raise ValueError(f"vector keys are 63-bit unsigned integers, not {key!r}")
        return int(key)

    def _unit(self, vector: npt.ArrayLike) -> Vector:
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        if array.shape != (self.dimensions,):
            raise ValueError(f"expected a vector of {self.dimensions} numbers, got {array.shape}")
        norm = float(np.linalg.norm(array))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError("a zero or non-finite vector has no direction to compare")
        return array / np.float32(norm)

    def _units(self, vectors: Sequence[npt.ArrayLike]) -> npt.NDArray[np.float32]:
        return np.stack([self._unit(v) for v in vectors])

    def _read_generation(self) -> int | None:
        try:
            return int((self.folder / "CURRENT").read_text().strip())
        except FileNotFoundError:
            return None

    def _files(self, generation: int) -> tuple[Path, Path]:
        return (
            self.folder / f"{generation}.usearch",
            self.folder / f"{generation}.stories.npz",
        )

    def _current(self) -> Index | None:
        """The reader's view of the last complete save, reopened when CURRENT changed."""
        for _ in range(5):
            try:
                info = os.stat(self.folder / "CURRENT")
            except FileNotFoundError:
                self._view, self._view_stamp = None, None
                return None
            # os.replace gives CURRENT a new inode: a cheap, sure sign of a new generation.
            stamp = (info.st_ino, info.st_mtime_ns)
            if stamp == self._view_stamp:
                return self._view
            generation = self._read_generation()
            if generation is None:
                continue
            path = self._files(generation)[0]
            if generation == self._view_generation and self._view is not None:
                self._view_stamp = stamp
                return self._view
            try:
                view = Index.restore(str(path), view=True)
            except (OSError, RuntimeError):
                view = None
            if view is None:  # a writer replaced it meanwhile: read CURRENT again
                continue
            if view.ndim != self.dimensions:
                raise ValueError(f"{path} holds {view.ndim}-number vectors, not {self.dimensions}")
            if self._view is not None:
                # Unmap the older file now (results were copied out of it under this lock), so
                # a replaced generation's bytes are let go at once, not whenever GC runs.
                self._view.reset()
            self._view, self._view_stamp, self._view_generation = view, stamp, generation
            return view
        return self._view

    def _writable(self) -> Index:
        """The writer's loaded copy, reloaded if another writer saved since."""
        generation = self._read_generation()
        if self._writer is not None and generation == self._writer_generation:
            return self._writer
        if generation is None:
            self._writer, self._story_of, self._keys_of = self._new_index(), {}, {}
            self._writer_generation = -1
            return self._writer
        index_path, stories_path = self._files(generation)
        index = Index.restore(str(index_path), view=False)
        if index is None:
            raise RuntimeError(f"the vector index {index_path} could not be read")
        with np.load(stories_path) as saved:
            keys, owners = saved["keys"].tolist(), saved["stories"].tolist()
        self._writer, self._writer_generation = index, generation
        self._story_of = dict(zip(keys, owners, strict=True))
        self._keys_of = {}
        for key, story in self._story_of.items():
            self._keys_of.setdefault(story, set()).add(key)
        return index

    def _wipe_free_slots(self, index: Index) -> None:
        """Overwrite the bytes of every freed slot with a dummy vector, then free it again."""
        # stats.nodes counts every slot, freed ones included; len() only the live keys.
        free = int(index.stats.nodes) - len(index)
        if free <= 0:
            return
        fillers = np.arange(free, dtype=np.uint64) + np.uint64(FILLER_BASE)
        # Random directions, not one repeated vector: the freed nodes still route searches
        # through the graph, and many identical points would crowd one spot of it.
        noise = np.random.default_rng().standard_normal((free, self.dimensions), dtype=np.float32)
        index.add(fillers, noise / np.linalg.norm(noise, axis=1, keepdims=True))
        index.remove(fillers)

    def _next_generation(self) -> int:
        return max(self._read_generation() or 0, self._writer_generation) + 1

    def _save(self, generation: int) -> None:
        """Write generation files, fsync, switch CURRENT in one rename, drop older ones."""
        assert self._writer is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        index_path, stories_path = self._files(generation)
        temp_index = index_path.with_name(index_path.name + ".tmp")
        self._writer.save(str(temp_index))
        _fsync(temp_index)
        temp_stories = stories_path.with_name(stories_path.name + ".tmp")
        keys = np.fromiter(self._story_of, dtype=np.uint64, count=len(self._story_of))
        owners = np.fromiter(self._story_of.values(), dtype=np.int64, count=len(self._story_of))
        with open(temp_stories, "wb") as handle:
            np.savez(handle, keys=keys, stories=owners)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_index, index_path)
        os.replace(temp_stories, stories_path)
        temp_current = self.folder / "CURRENT.tmp"
        with open(temp_current, "w") as handle:
            handle.write(f"{generation}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_current, self.folder / "CURRENT")
        _fsync_folder(self.folder)
        self._writer_generation = generation
        # Readers that mapped an older file keep it until their next call (the OS keeps the
        # bytes of a mapped, deleted file until it is unmapped); no name of it stays here.
        for path in self.folder.iterdir():
            match = _GENERATION.match(path.name)
            if match and int(match.group(1)) != generation:
                path.unlink(missing_ok=True)

    def _locked_on_disk(self) -> _FolderLock:
        return _FolderLock(self.folder / "LOCK")


class _FolderLock:
    """An exclusive flock on a file: writers in other processes wait their turn."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: int | None = None

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
