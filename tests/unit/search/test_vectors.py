"""The vector index on real usearch files: replacing and erasing stories (physically), readers
seeing the writer's saves, nearest neighbours and exact similarities."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from search.vectors import VectorIndex

DIMS = 16


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIMS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def f16_bytes(vector: np.ndarray) -> bytes:
    """How the index stores a unit vector (half precision)."""
    return (vector / np.linalg.norm(vector)).astype(np.float16).tobytes()


@pytest.fixture
def vectors() -> np.ndarray:
    return unit_rows(60, seed=1)


@pytest.fixture
def built(tmp_path: Path, vectors: np.ndarray) -> VectorIndex:
    """Three stories of 20 passages: story s holds keys 100*s + i."""
    index = VectorIndex(tmp_path / "vectors", DIMS)
    items = [(s, 100 * s + i, vectors[20 * (s - 1) + i]) for s in (1, 2, 3) for i in range(20)]
    assert index.build(items) == 60
    return index


def test_an_empty_index_answers_nothing(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "nothing-yet", DIMS)
    query = unit_rows(1, seed=2)[0]
    assert index.nearest(query, 10) == []
    assert index.similarities(query, [1, 2]) == {}
    assert index.vector(1) is None
    assert len(index) == 0
    assert index.size_bytes() == 0


def test_nearest_finds_the_planted_near_duplicate(built: VectorIndex, vectors: np.ndarray) -> None:
    twin = vectors[27] + 0.01 * unit_rows(1, seed=3)[0]
    found = built.nearest(twin, 5)
    assert found[0][0] == 207  # story 2, passage 7
    assert found[0][1] > 0.99
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert len(built.nearest(twin, 500)) == 60


def test_similarities_are_exact_and_only_for_keys_that_exist(
    built: VectorIndex, vectors: np.ndarray
) -> None:
    query = unit_rows(1, seed=4)[0]
    found = built.similarities(query, [101, 305, 999, 101])
    assert set(found) == {101, 305}
    assert found[101] == pytest.approx(float(vectors[1] @ query), abs=2e-3)
    assert found[305] == pytest.approx(float(vectors[45] @ query), abs=2e-3)
    # The query need not be unit length: cosine, not dot product.
    assert built.similarities(3 * query, [101])[101] == pytest.approx(found[101], abs=1e-6)


def test_vector_reads_back_the_stored_unit_vector(built: VectorIndex, vectors: np.ndarray) -> None:
    stored = built.vector(212)
    assert stored is not None and stored.dtype == np.float32
    assert np.allclose(stored, vectors[32], atol=2e-3)
    assert built.vector(999) is None


def test_replacing_a_story_removes_its_old_vectors_from_disk(
    tmp_path: Path, built: VectorIndex, vectors: np.ndarray
) -> None:
    folder = tmp_path / "vectors"
    redacted = vectors[22]  # story 2, key 202
    assert f16_bytes(redacted) in folder_bytes(folder)
    new_vector = unit_rows(1, seed=5)[0]
    # Story 2 after a redaction: passage 2 has a new key and vector, the rest are unchanged.
    story_2 = [(200 + i, vectors[20 + i]) for i in range(20) if i != 2] + [(9202, new_vector)]
    built.replace_stories({2: story_2})

    reopened = VectorIndex(folder, DIMS)
    assert reopened.vector(202) is None
    assert reopened.vector(9202) is not None
    assert 202 not in [k for k, _ in reopened.nearest(redacted, 60)]
    assert reopened.similarities(redacted, [202, 201]).keys() == {201}
    assert reopened.story_keys(2) == {200 + i for i in range(20) if i != 2} | {9202}
    assert len(reopened) == 60
    assert f16_bytes(redacted) not in folder_bytes(folder)


def test_erasing_a_story_leaves_none_of_its_bytes_and_is_idempotent(
    tmp_path: Path, built: VectorIndex, vectors: np.ndarray
) -> None:
    folder = tmp_path / "vectors"
    erased = vectors[40:60]  # story 3
    built.replace_stories({3: []})
    built.replace_stories({3: []})  # the job may run twice
    on_disk = folder_bytes(folder)
    assert not any(f16_bytes(v) in on_disk for v in erased)
    assert f16_bytes(vectors[0]) in on_disk  # the check can see a vector that is there

    reopened = VectorIndex(folder, DIMS)
    assert len(reopened) == 40
    assert reopened.story_keys(3) == set()
    assert all(k < 300 for k, _ in reopened.nearest(erased[0], 60))
    # Unknown stories are nothing to remove.
    reopened.replace_stories({77: []})
    assert len(VectorIndex(folder, DIMS)) == 40


def test_replacing_twice_gives_the_same_index(built: VectorIndex) -> None:
    fresh = unit_rows(3, seed=6)
    change = {1: [(1000 + i, fresh[i]) for i in range(3)]}
    built.replace_stories(change)
    built.replace_stories(change)
    assert len(built) == 43
    assert built.story_keys(1) == {1000, 1001, 1002}
    assert built.vector(100) is None


def test_a_key_given_to_another_story_leaves_the_first(built: VectorIndex) -> None:
    built.replace_stories({4: [(105, unit_rows(1, seed=7)[0])]})
    assert 105 not in built.story_keys(1)
    assert built.story_keys(4) == {105}
    assert len(built) == 60


def test_a_second_instance_sees_the_writers_last_save(
    tmp_path: Path, built: VectorIndex, vectors: np.ndarray
) -> None:
    reader = VectorIndex(tmp_path / "vectors", DIMS)
    assert reader.vector(150) is None and len(reader) == 60
    added = unit_rows(1, seed=8)[0]
    built.replace_stories({1: [(150, added)], 5: []})
    assert reader.vector(150) is not None
    assert reader.vector(100) is None
    assert len(reader) == 41
    assert reader.nearest(added, 1)[0][0] == 150


def test_a_reader_lets_go_of_a_replaced_file(tmp_path: Path, built: VectorIndex) -> None:
    """A mapped, deleted file keeps its bytes on disk: the reader must unmap it on refresh."""
    folder = tmp_path / "vectors"
    reader = VectorIndex(folder, DIMS)
    assert len(reader) == 60
    first = (folder / "CURRENT").read_text().strip()

    def mapped() -> str:
        return Path("/proc/self/maps").read_text()

    assert str(folder / f"{first}.usearch") in mapped()
    built.replace_stories({3: []})
    reader.refresh()
    live = (folder / "CURRENT").read_text().strip()
    assert live != first
    assert str(folder / f"{first}.usearch") not in mapped()
    assert str(folder / f"{live}.usearch") in mapped()


def test_a_reader_process_sees_the_writers_change(tmp_path: Path, built: VectorIndex) -> None:
    """Another process opens the folder memory-mapped: it must read the last complete save."""
    folder = tmp_path / "vectors"
    built.replace_stories({1: []})
    script = (
        "import sys; from search.vectors import VectorIndex; "
        f"i = VectorIndex({str(folder)!r}, {DIMS}); "
        "print(len(i), i.vector(101) is None, i.vector(201) is not None)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout.split()
    assert out == ["40", "True", "True"]


def test_only_the_live_generation_stays_in_the_folder(tmp_path: Path, built: VectorIndex) -> None:
    for seed in range(3):
        built.replace_stories({9: [(900 + seed, unit_rows(1, seed=seed)[0])]})
    names = sorted(p.name for p in (tmp_path / "vectors").iterdir())
    live = (tmp_path / "vectors" / "CURRENT").read_text().strip()
    assert names == sorted(["CURRENT", "LOCK", f"{live}.usearch", f"{live}.stories.npz"])
    assert built.size_bytes() == sum(
        (tmp_path / "vectors" / n).stat().st_size for n in names if n.startswith(live)
    )


def test_readers_in_threads_while_the_writer_saves(built: VectorIndex, vectors: np.ndarray) -> None:
    reader = VectorIndex(built.folder, DIMS)
    failures: list[BaseException] = []
    seen_counts: set[int] = set()

    def read() -> None:
        try:
            for _ in range(40):
                found = reader.nearest(vectors[5], 100)
                seen_counts.add(len(found))
                # Either story 4 is there in full or not at all: never a half-saved state.
                assert len(found) in (60, 65)
        except BaseException as error:  # collected, checked below
            failures.append(error)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    extra = unit_rows(5, seed=9)
    for round_ in range(10):
        if round_ % 2:
            built.replace_stories({4: []})
        else:
            built.replace_stories({4: [(400 + i, extra[i]) for i in range(5)]})
    for thread in threads:
        thread.join()
    assert failures == []
    assert seen_counts <= {60, 65}


def test_bad_vectors_are_refused_clearly(built: VectorIndex) -> None:
    with pytest.raises(ValueError, match="16 numbers"):
        built.nearest(np.ones(3, dtype=np.float32), 5)
    with pytest.raises(ValueError, match="zero"):
        built.replace_stories({1: [(1, np.zeros(DIMS, dtype=np.float32))]})
    with pytest.raises(ValueError, match="63-bit"):
        built.replace_stories({1: [(1 << 63, unit_rows(1, seed=1)[0])]})
    assert len(built) == 60
