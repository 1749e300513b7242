"""Vector index benchmark: usearch HNSW (f16, i8) against a flat numpy float32 scan.

    .venv/bin/python bench/vectors.py                        # 20,000 and 400,000 x 384
    .venv/bin/python bench/vectors.py --sizes 20000           # a quicker look
    .venv/bin/python bench/vectors.py --data random           # random unit vectors only

For each configuration: build time, p50/p95 of one top-200 query (one thread, as a web request
runs it), recall@100 against the exact answer on the same float32 vectors, file size, memory of a
separate *reader* process that opens the saved file memory-mapped (``view=True``) or loaded, after
50 queries: RSS, and "own", its anonymous memory, which is what each further web process adds
(the rest of a mapped file's RSS is page cache that every process mapping it shares), and how
long opening the file memory-mapped takes ("open": what a reader pays once after each save).
Then the writer's cost of a small change: remove 50 keys, add 50 ("change"), write the file to a
temporary name, fsync and ``os.replace`` it so readers see it ("save"). The last row is
search.vectors.VectorIndex itself: its "change" is a 40-passage story given new keys and vectors,
its "save" an erased story (40 slots overwritten); both include writing and switching to the new
generation.

Data: ``random`` (unit Gaussian vectors: no structure at all, the worst case for HNSW) and
``real-ish``: all-MiniLM-L6-v2 embeddings of the sentences of the labelled passages in
../shared/data/themes/, mixed (each vector is a random blend of three of them plus noise) to make
up the count, so the vectors keep the model's uneven directions and clusters. Queries are fresh
blends of the same kind. No timing is asserted: this prints a table for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DIMENSIONS = 384
QUERIES = 200
TOP = 200
RECALL_AT = 100
CHANGED = 50
# The labelled passages beside the project's checkout (../shared); STORYHUB_THEMES_DATA overrides.
PASSAGES = (
    Path(os.environ.get("STORYHUB_THEMES_DATA", "/work/shared/data/themes")) / "dev_passages.jsonl"
)

Matrix = npt.NDArray[np.float32]


def unit(rows: Matrix) -> Matrix:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def random_vectors(count: int, seed: int) -> Matrix:
    rng = np.random.default_rng(seed)
    return unit(rng.standard_normal((count, DIMENSIONS), dtype=np.float32))


_bases: Matrix | None = None


def sentence_vectors() -> Matrix:
    """MiniLM embeddings of the labelled passages' sentences (the real model, on this CPU)."""
    global _bases
    if _bases is None:
        from media_pipeline.tagger.embed import embed

        texts = [json.loads(line)["text"] for line in PASSAGES.read_text().splitlines() if line]
        sentences = [s for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 20]
        _bases = unit(np.asarray(embed(texts + sentences), dtype=np.float32))
    return _bases


def realish_vectors(count: int, seed: int) -> Matrix:
    bases = sentence_vectors()
    rng = np.random.default_rng(seed)
    out = np.empty((count, DIMENSIONS), dtype=np.float32)
    for start in range(0, count, 50_000):
        n = min(50_000, count - start)
        picks = rng.integers(0, len(bases), size=(n, 3))
        weights = rng.dirichlet((1.0, 1.0, 1.0), size=n).astype(np.float32)
        mixed = np.einsum("nk,nkd->nd", weights, bases[picks])
        mixed += rng.standard_normal((n, DIMENSIONS), dtype=np.float32) * 0.02
        out[start : start + n] = unit(mixed)
    return out


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def exact_top(vectors: Matrix, queries: Matrix, count: int) -> list[set[int]]:
    tops = []
    for q in queries:
        scores = vectors @ q
        tops.append(set(np.argpartition(-scores, count)[:count].tolist()))
    return tops


def write_replacing(path: Path, write: Any) -> None:
    """Write through a temporary name, fsync, then os.replace: what the real writer does."""
    temp = path.with_name("tmp-" + path.name)  # same suffix: np.save adds .npy to any other
    write(temp)
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, path)


def bench_usearch(
    vectors: Matrix, queries: Matrix, truth: list[set[int]], folder: Path, dtype: str,
    connectivity: int | None, expansions: list[int],
) -> list[dict[str, Any]]:  # fmt: skip
    from usearch.index import Index

    index = Index(ndim=DIMENSIONS, metric="cos", dtype=dtype, connectivity=connectivity)
    started = time.perf_counter()
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=os.cpu_count() or 1)
    build = time.perf_counter() - started
    path = folder / f"{dtype}-{connectivity}.usearch"
    index.save(str(path))
    rows = []
    for expansion in expansions:
        index.expansion_search = expansion
        times, recalls = [], []
        for q, want in zip(queries, truth, strict=True):
            started = time.perf_counter()
            found = index.search(q, TOP, threads=1)
            times.append(time.perf_counter() - started)
            recalls.append(len(set(found.keys[:RECALL_AT].tolist()) & want) / RECALL_AT)
        rows.append(
            {
                "config": f"usearch {dtype} M={index.connectivity} ef={expansion}",
                "build_s": build,
                "p50_ms": percentile(times, 50) * 1000,
                "p95_ms": percentile(times, 95) * 1000,
                "recall": statistics.mean(recalls),
                "file_mb": path.stat().st_size / 1e6,
            }
        )
    # The writer's small change: remove 50, add 50 (which reuse the freed slots), safe save.
    rng = np.random.default_rng(5)
    gone = rng.choice(len(vectors), CHANGED, replace=False).astype(np.uint64)
    started = time.perf_counter()
    index.remove(gone)
    index.add(np.arange(CHANGED, dtype=np.uint64) + np.uint64(len(vectors)), vectors[:CHANGED])
    change = time.perf_counter() - started
    started = time.perf_counter()
    write_replacing(path, lambda temp: index.save(str(temp)))
    save = time.perf_counter() - started
    for name, view in (("view", True), ("load", False)):
        memory = reader_memory("usearch", path, view)
        rows[0][f"rss_{name}_mb"], rows[0][f"own_{name}_mb"], rows[0][f"open_{name}_ms"] = memory
    rows[0]["change_ms"] = change * 1000
    rows[0]["save_ms"] = save * 1000
    return rows


def bench_flat(
    vectors: Matrix, queries: Matrix, truth: list[set[int]], folder: Path
) -> dict[str, Any]:
    path = folder / "flat.npy"
    started = time.perf_counter()
    np.save(path, vectors)
    build = time.perf_counter() - started
    times, recalls = [], []
    for q, want in zip(queries, truth, strict=True):
        started = time.perf_counter()
        scores = vectors @ q
        best = np.argpartition(-scores, TOP)[:TOP]
        best = best[np.argsort(-scores[best])]
        times.append(time.perf_counter() - started)
        recalls.append(len(set(best[:RECALL_AT].tolist()) & want) / RECALL_AT)
    # A change rewrites the whole array (a copy with rows swapped), then the same safe save.
    started = time.perf_counter()
    changed = vectors.copy()
    changed[:CHANGED] = vectors[-CHANGED:]
    change = time.perf_counter() - started
    started = time.perf_counter()
    write_replacing(path, lambda temp: np.save(temp, changed))
    save = time.perf_counter() - started
    row = {
        "config": "flat numpy f32",
        "build_s": build,
        "p50_ms": percentile(times, 50) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "recall": statistics.mean(recalls),
        "file_mb": path.stat().st_size / 1e6,
        "change_ms": change * 1000,
        "save_ms": save * 1000,
    }
    for name, view in (("view", True), ("load", False)):
        memory = reader_memory("flat", path, view)
        row[f"rss_{name}_mb"], row[f"own_{name}_mb"], row[f"open_{name}_ms"] = memory
    return row


def bench_vector_index(
    vectors: Matrix, queries: Matrix, truth: list[set[int]], folder: Path
) -> dict[str, Any]:
    """search.vectors.VectorIndex end to end: build, nearest, a story's change, an erasure."""
    from search.vectors import VectorIndex

    per_story = 40  # passages a story, as in bench/search.py
    index = VectorIndex(folder / "vector-index", DIMENSIONS)
    started = time.perf_counter()
    index.build((i // per_story, i, vectors[i]) for i in range(len(vectors)))
    build = time.perf_counter() - started
    times, recalls = [], []
    for q, want in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = index.nearest(q, TOP)
        times.append(time.perf_counter() - started)
        recalls.append(len({k for k, _ in found[:RECALL_AT]} & want) / RECALL_AT)
    # A story re-processed (its 40 passages get new keys and vectors), then a story erased
    # (its 40 slots overwritten by the dummy vector): each call saves a new generation.
    index.story_keys(0)  # the writer loads its copy once; not part of a change's cost
    fresh = random_vectors(per_story, 3)
    started = time.perf_counter()
    index.replace_stories({1: [(len(vectors) + i, fresh[i]) for i in range(per_story)]})
    change = time.perf_counter() - started
    started = time.perf_counter()
    index.replace_stories({2: []})
    erase = time.perf_counter() - started
    path = next((folder / "vector-index").glob("*.usearch"))
    row = {
        "config": "VectorIndex (usearch f16)",
        "build_s": build,
        "p50_ms": percentile(times, 50) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "recall": statistics.mean(recalls),
        "file_mb": index.size_bytes() / 1e6,
        # Both figures include writing the new generation (file, fsync, rename).
        "change_ms": change * 1000,
        "save_ms": erase * 1000,
    }
    for name, view in (("view", True), ("load", False)):
        memory = reader_memory("usearch", path, view)
        row[f"rss_{name}_mb"], row[f"own_{name}_mb"], row[f"open_{name}_ms"] = memory
    return row


READER = """
import sys, time, numpy as np, psutil
kind, path, view = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rng = np.random.default_rng(9)
queries = rng.standard_normal((50, 384)).astype(np.float32)
queries /= np.linalg.norm(queries, axis=1, keepdims=True)
if kind == "usearch":
    from usearch.index import Index
    started = time.perf_counter()
    index = Index.restore(path, view=view)
    opened = time.perf_counter() - started
    for q in queries:
        index.search(q, 200, threads=1)
else:
    started = time.perf_counter()
    vectors = np.load(path, mmap_mode="r" if view else None)
    opened = time.perf_counter() - started
    for q in queries:
        np.argpartition(-(vectors @ q), 200)[:200]
# Anonymous memory is the process's own; the rest of its RSS is the file's pages in the page
# cache, which every process that maps the file shares.
rollup = dict(line.split(":", 1) for line in open("/proc/self/smaps_rollup") if ":" in line)
anonymous = int(rollup["Anonymous"].split()[0]) * 1024
print(psutil.Process().memory_info().rss, anonymous, opened)
"""


def reader_memory(kind: str, path: Path, view: bool) -> tuple[float, float, float]:
    """A fresh process opens the file and answers 50 queries: its RSS and own MB, open ms."""
    out = subprocess.run(
        [sys.executable, "-c", READER, kind, str(path), "1" if view else "0"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]) / 1e6, int(out[1]) / 1e6, float(out[2]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,400000")
    parser.add_argument("--data", default="real-ish,random")
    parser.add_argument("--dtypes", default="f16,i8")
    parser.add_argument("--expansions", default="64,256", help="usearch expansion_search values")
    parser.add_argument("--connectivity", default="16", help="usearch connectivity values")
    parser.add_argument("--no-flat", action="store_true")
    parser.add_argument("--no-class", action="store_true", help="skip the VectorIndex row")
    args = parser.parse_args()
    import psutil  # noqa: F401  (the reader needs it; fail here, not in the subprocess)

    header = (
        f"{'data':9} {'n':>7} {'config':30} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'rec@100':>7} {'file MB':>8} {'rss view':>8} {'own view':>8} {'rss load':>8}"
        f" {'own load':>8} {'open ms':>7}"
        f" {'change ms':>9} {'save ms':>8}"
    )
    print(header, flush=True)
    for data in args.data.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            make = realish_vectors if data == "real-ish" else random_vectors
            vectors = make(size, 1)
            queries = make(QUERIES, 2)
            truth = exact_top(vectors, queries, RECALL_AT)
            with tempfile.TemporaryDirectory(prefix="bench-vectors-") as tmp:
                rows: list[dict[str, Any]] = []
                if not args.no_flat:
                    rows.append(bench_flat(vectors, queries, truth, Path(tmp)))
                for dtype in args.dtypes.split(","):
                    for connectivity in (int(c) for c in args.connectivity.split(",")):
                        rows += bench_usearch(
                            vectors, queries, truth, Path(tmp), dtype, connectivity,
                            [int(e) for e in args.expansions.split(",")],
                        )  # fmt: skip
                        for f in Path(tmp).glob("*.usearch"):
                            f.unlink()
                if not args.no_class:
                    rows.append(bench_vector_index(vectors, queries, truth, Path(tmp)))
                for row in rows:
                    print(
                        f"{data:9} {size:>7} {row['config']:30} {row['build_s']:>8.1f}"
                        f" {row['p50_ms']:>7.2f} {row['p95_ms']:>7.2f} {row['recall']:>7.3f}"
                        f" {row['file_mb']:>8.0f} {row.get('rss_view_mb', 0):>8.0f}"
                        f" {row.get('own_view_mb', 0):>8.0f} {row.get('rss_load_mb', 0):>8.0f}"
                        f" {row.get('own_load_mb', 0):>8.0f} {row.get('open_view_ms', 0):>7.1f}"
                        f" {row.get('change_ms', 0):>9.1f} {row.get('save_ms', 0):>8.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
