"""Relevance of search by words, by meaning and both fused, on the project's relevance set.

    .venv/bin/python bench/search_relevance.py                      # bench/relevance/*.jsonl
    .venv/bin/python bench/search_relevance.py CORPUS QUERIES       # another judged set

Runs the real command for each mode (``flask --app storyhub search rank ... --mode M``: a
throwaway index with live search's analysis, embeddings and fusion) and scores its rankings
against the judgements (``"relevant": {id: grade}``, 2 = squarely about it, 1 = partly):
nDCG@10 (graded gains, log2 discount) and recall@20 (share of judged passages in the top 20).
No figure is asserted; they go to bench/README.md.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("words", "meaning", "hybrid")


def ndcg(ranked: list[str], relevant: dict[str, int], depth: int = 10) -> float:
    gains = [relevant.get(pid, 0) for pid in ranked[:depth]]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:depth]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: list[str], relevant: dict[str, int], depth: int = 20) -> float:
    return len(set(ranked[:depth]) & set(relevant)) / len(relevant) if relevant else 0.0


def run(corpus: Path, queries: Path, mode: str, out: Path) -> dict[str, list[str]]:
    env = {**os.environ, "STORYHUB_INSTANCE_PATH": str(out.parent / "instance")}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storyhub", "search", "rank",
         str(corpus), str(queries), str(out), "--mode", mode],
        check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {line["id"]: line["ranked"] for line in lines}


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/relevance/corpus.jsonl"
    queries = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "bench/relevance/queries.jsonl"
    judged = [json.loads(line) for line in queries.read_text().splitlines() if line.strip()]
    print(f"{len(judged)} queries over {sum(1 for _ in corpus.open())} passages")
    print(f"{'mode':<8} {'nDCG@10':>8} {'recall@20':>10} {'no relevant in top 10':>22}")
    with tempfile.TemporaryDirectory() as folder:
        for mode in MODES:
            ranked = run(corpus, queries, mode, Path(folder) / f"{mode}.jsonl")
            scores = [ndcg(ranked.get(q["id"], []), q["relevant"]) for q in judged]
            recalls = [recall(ranked.get(q["id"], []), q["relevant"]) for q in judged]
            misses = sum(1 for s in scores if s == 0)
            print(
                f"{mode:<8} {sum(scores) / len(scores):>8.3f} "
                f"{sum(recalls) / len(recalls):>10.3f} {misses:>22}"
            )


if __name__ == "__main__":
    main()
