"""How good, how honest and how fast is the outcome-theme tagger?

1. **Accuracy** on a labelled file (default: the project's measuring set,
   ../shared/data/themes/dev_passages.jsonl): per-kind F1 and macro-F1. The shipped tagger now
   learns from those passages too (a copy ships as media_pipeline/tagger/seed/dev_passages.jsonl),
   so its honest figure is **repeated cross-validation** (5 x 5-fold: each fold scored by a tagger
   fitted and calibrated as the shipped one is, without that fold). Beside it, baselines trained
   or tuned on the seed set only (so measuring them on the file is honest):
   - keyword rules: a kind is found when a passage has a word of its subthemes' names and
     descriptions (stop words left out, word stems compared);
   - similarity to the theme descriptions: a kind is found when the passage's embedding is close
     enough to one of its subthemes' "name. description" (the cut-off tuned on the seed set);
   - each of the tagger's two views alone (embeddings; TF-IDF words), and both (the tagger as
     shipped before it learnt from real passages);
   and the shipped tagger on the file itself, which it learnt from (not an estimate).
2. **Calibration**: the reliability table of the kinds' out-of-fold scores (bins of predicted
   probability: how many, mean predicted, observed frequency) before and after calibration, and
   the expected calibration error of each.
3. **Speed**: `flask --app storyhub themes tag` on 1,000 passages in a fresh process (so the time
   includes starting Python, loading torch and the model: what a batch run costs), and the warm
   throughput inside one process (what a worker that has tagged before pays).
4. **Per story**: the tagging step for a 5-minute story's passages (the transcript of
   media_pipeline.synth's test story as passages), cold and warm; compare it with the pipeline's
   time for the same story in bench/transcribe.py.

    .venv/bin/python bench/themes.py [--labelled FILE] [--passages 1000] [--repeats 5]

It prints Markdown tables for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from media_pipeline.tagger import (  # noqa: E402
    KINDS,
    CrossValidation,
    Evaluation,
    cross_validate_shipped,
    embed,
    evaluate,
    expected_calibration_error,
    fit,
    fitting_set,
    reliability,
    seed_rows,
    shipped_model,
    shipped_taxonomy,
)
from media_pipeline.tagger import model as tagger_model  # noqa: E402
from media_pipeline.tagger.crossval import SHIPPED_FIT  # noqa: E402

DEFAULT_LABELLED = ROOT.parent / "shared" / "data" / "themes" / "dev_passages.jsonl"
STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "as",
        "at",
        "by",
        "from",
        "or",
        "not",
        "be",
        "is",
        "are",
        "was",
        "it",
        "its",
        "their",
        "them",
        "they",
        "one",
        "ones",
        "own",
        "what",
        "when",
        "who",
        "how",
        "that",
        "this",
        "these",
        "those",
        "can",
        "do",
        "does",
        "help",
        "more",
        "less",
        "being",
        "after",
        "about",
        "than",
    ]
)


def stem(word: str) -> str:
    return re.sub(r"(ing|ed|es|s|ly)$", "", word.lower())[:6]


def keyword_rules(texts: list[str]) -> list[list[str]]:
    taxonomy = shipped_taxonomy()
    keys: dict[str, set[str]] = {k: set() for k in KINDS}
    for sub in taxonomy.subthemes:
        for word in re.findall(r"[a-zA-Z']+", f"{sub.label} {sub.description}"):
            if word.lower() not in STOP and len(word) > 2:
                keys[sub.kind].add(stem(word))
    found = []
    for text in texts:
        words = {stem(w) for w in re.findall(r"[a-zA-Z']+", text)}
        found.append([k for k in KINDS if words & keys[k]])
    return found


def description_similarity(
    vectors: np.ndarray, seed_vectors: np.ndarray, seed_truth: list[list[str]]
) -> list[list[str]]:
    taxonomy = shipped_taxonomy()
    described = embed([f"{s.label}. {s.description}" for s in taxonomy.subthemes])
    kinds = [s.kind for s in taxonomy.subthemes]

    def predict(rows: np.ndarray, cut: float) -> list[list[str]]:
        sims = rows @ described.T
        return [
            [k for k in KINDS if max(sims[i, j] for j, kk in enumerate(kinds) if kk == k) >= cut]
            for i in range(len(rows))
        ]

    cuts = np.arange(0.05, 0.6, 0.01)
    best = max(cuts, key=lambda c: evaluate(seed_truth, predict(seed_vectors, c)).macro_f1)
    return predict(vectors, float(best))


def one_view(
    model: tagger_model.ThemeModel, vectors: np.ndarray, texts: list[str], view: str
) -> list[list[str]]:
    if view == "meaning":
        probs = tagger_model._sigmoid(vectors @ model.coef.T + model.intercept)
    else:
        rows = tagger_model._words(model.vocabulary, model.idf, texts)
        probs = tagger_model._sigmoid(rows @ model.word_coef.T + model.word_intercept)
    return [[k for i, k in enumerate(KINDS) if probs[r, i] >= 0.5] for r in range(len(texts))]


def row(name: str, result: Evaluation) -> str:
    cells = " | ".join(f"{k.f1:.3f}" for k in result.kinds)
    return f"| {name} | {cells} | **{result.macro_f1:.3f}** |"


def seed_only_model() -> tagger_model.ThemeModel:
    """The tagger fitted as shipped, but on the seed set and descriptions only (uncalibrated)."""
    examples, vectors = fitting_set()
    kind_of = {s.key: s.kind for s in shipped_taxonomy().subthemes}
    return fit(examples, vectors, kind_of, **SHIPPED_FIT)


def accuracy(labelled: Path, repeats: int) -> None:
    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    texts, truth = [r["text"] for r in rows], [r["labels"] for r in rows]
    vectors = embed(texts)
    seed = seed_rows()
    seed_texts, seed_truth = [r["text"] for r in seed], [r["labels"] for r in seed]
    seed_vectors = embed(seed_texts)
    before = seed_only_model()
    started = time.perf_counter()
    result = cross_validate_shipped(rows, repeats=repeats)
    took = time.perf_counter() - started
    print(f"### Accuracy on {labelled.name} ({len(rows)} passages)\n")
    print(
        f"The baselines learnt from, or were tuned on, the {len(seed)} seed passages only; the "
        f"cross-validated row is the mean ± sd over {repeats} repeats of 5-fold ({took:.0f} s).\n"
    )
    print("| method | " + " | ".join(f"{k} F1" for k in KINDS) + " | macro-F1 |")
    print("|---|" + "---|" * (len(KINDS) + 1))
    print(row("keyword rules (taxonomy words)", evaluate(truth, keyword_rules(texts))))
    print(
        row(
            "similarity to theme descriptions",
            evaluate(truth, description_similarity(vectors, seed_vectors, seed_truth)),
        )
    )
    print(
        row(
            "embeddings + logistic regression (seed only)",
            evaluate(truth, one_view(before, vectors, texts, "meaning")),
        )
    )
    print(
        row(
            "TF-IDF words + logistic regression (seed only)",
            evaluate(truth, one_view(before, vectors, texts, "words")),
        )
    )
    print(
        row(
            "both views, seed only (the tagger as shipped before)",
            evaluate(truth, [s.kinds for s in before.suggest(vectors, texts)]),
        )
    )
    cells = " | ".join("{:.3f} ± {:.3f}".format(*result.kind(k, "f1")) for k in KINDS)
    mean, spread = result.macro_f1
    print(
        f"| **shipped tagger, cross-validated** (seed + the other folds, calibrated on them) "
        f"| {cells} | **{mean:.3f} ± {spread:.3f}** |"
    )
    shipped = shipped_model()
    print(
        row(
            "shipped tagger on this file (learnt from it: *not an estimate*)",
            evaluate(truth, [s.kinds for s in shipped.suggest(vectors, texts)]),
        )
    )
    print()
    print("Cross-validated, per kind (mean ± sd over the repeats):\n")
    print("| kind | precision | recall | F1 |")
    print("|---|---|---|---|")
    for kind in KINDS:
        cells = " | ".join(
            "{:.3f} ± {:.3f}".format(*result.kind(kind, m)) for m in ("precision", "recall", "f1")
        )
        print(f"| {kind} | {cells} |")
    print()
    calibration(result)


def calibration(result: CrossValidation) -> None:
    """The kinds' out-of-fold scores, binned: before calibration and after."""
    print("### Calibration (out-of-fold scores of the kinds, every repeat)\n")
    before = reliability(result.raw, result.truth)
    after = reliability(result.calibrated, result.truth)
    print(
        "| predicted | before: scores | mean predicted | observed "
        "| after: scores | mean predicted | observed |"
    )
    print("|---|---|---|---|---|---|---|")
    for b, a in zip(before, after, strict=True):
        print(
            f"| {b.low:.1f}-{b.high:.1f} | {b.count} | {b.predicted:.3f} | {b.observed:.3f} "
            f"| {a.count} | {a.predicted:.3f} | {a.observed:.3f} |"
        )
    print(
        "\nExpected calibration error: "
        f"**{expected_calibration_error(result.raw, result.truth):.3f}** before, "
        f"**{expected_calibration_error(result.calibrated, result.truth):.3f}** after."
    )
    for i, kind in enumerate(KINDS):
        print(
            f"- {kind}: {expected_calibration_error(result.raw[:, i], result.truth[:, i]):.3f} → "
            f"{expected_calibration_error(result.calibrated[:, i], result.truth[:, i]):.3f}"
        )
    print()


def speed(count: int) -> None:
    seed = seed_rows()
    texts = [
        seed[i % len(seed)]["text"] + ("" if i < len(seed) else f" ({i})") for i in range(count)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-themes-") as folder:
        source, target = Path(folder) / "in.jsonl", Path(folder) / "out.jsonl"
        source.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORYHUB_")}
        env["STORYHUB_INSTANCE_PATH"] = str(Path(folder) / "instance")
        started = time.perf_counter()
        subprocess.run(
            [
                str(ROOT / ".venv/bin/flask"),
                "--app",
                "storyhub",
                "themes",
                "tag",
                str(source),
                str(target),
            ],
            check=True,
            env=env,
            cwd=ROOT,
            capture_output=True,
        )
        cold = time.perf_counter() - started
        assert len(target.read_text().splitlines()) == count
    model = shipped_model()
    embed(texts[:8])  # loaded
    started = time.perf_counter()
    model.suggest(embed(texts), texts)
    warm = time.perf_counter() - started
    print(f"### Speed ({os.cpu_count()} CPU cores)\n")
    print("| what | seconds | passages per second |")
    print("|---|---|---|")
    print(
        f"| `flask --app storyhub themes tag` on {count} passages, fresh process "
        f"(start-up and model load included) | {cold:.1f} | {count / cold:.0f} |"
    )
    print(
        f"| the same {count} passages in a warm process (embed and suggest) "
        f"| {warm:.1f} | {count / warm:.0f} |"
    )
    print()


def per_story() -> None:
    """A 5-minute story's passages: the first 750 words (about 5 minutes spoken) of
    bench/transcribe.py's story, four sentences a passage, as the pipeline cuts them."""
    code = (
        f"import time, sys; t=time.perf_counter(); sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.transcribe import STORY_PARAGRAPHS\n"
        "from media_pipeline.tagger import embed, shipped_model\n"
        "import re\n"
        "words = ' '.join(STORY_PARAGRAPHS).split()[:750]  # about 5 minutes of speech\n"
        "sentences = re.split(r'(?<=[.!?])\\s+', ' '.join(words))\n"
        "passages = [' '.join(sentences[i:i+4]) for i in range(0, len(sentences), 4)]\n"
        "m = shipped_model(); m.suggest(embed(passages), passages); cold = time.perf_counter()-t\n"
        "t = time.perf_counter(); m.suggest(embed(passages), passages)\n"
        "warm = time.perf_counter() - t\n"
        "print(len(passages), round(cold, 2), round(warm, 3))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    passages, cold, warm = out.stdout.split()[-3:]
    print("### One 5-minute story\n")
    print("| passages | tagging, cold process (s) | tagging, warm worker (s) |")
    print("|---|---|---|")
    print(f"| {passages} | {cold} | {warm} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labelled", type=Path, default=DEFAULT_LABELLED)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument(
        "--learning", action="store_true", help="only the before/after of curators' teaching"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.learning:
        organisation_learning(args.labelled)
        return
    if args.labelled.exists():
        accuracy(args.labelled, args.repeats)
        organisation_learning(args.labelled)
    else:
        print(f"({args.labelled} not found: accuracy skipped)\n")
    speed(args.passages)
    per_story()


# -- learning from one organisation's curators (branch `learning`) ------------------------------


def _simulated_decisions(suggestion: Any, truth: dict[str, Any]) -> tuple[Any, frozenset[str]]:
    """What a careful curator decides on one passage: yes to the right suggested subthemes, no to
    the wrong ones, adds the missing ones; the passage is then fully reviewed, so its kinds
    without a confirmed theme are known to be absent (as ``services.curator_decisions`` reads a
    passage with no suggestion left waiting)."""
    from media_pipeline.tagger.learning import Decision

    true_subthemes = frozenset(truth.get("subthemes", []))
    true_kinds = frozenset(truth["labels"]) - {"none"}
    rejected = frozenset(s for s in suggestion.subthemes if s not in true_subthemes)
    absent = rejected | (frozenset(KINDS) - true_kinds)
    return Decision(true_subthemes | true_kinds, absent), frozenset(
        (*suggestion.kinds, *suggestion.subthemes)
    )


def organisation_learning(labelled: Path, splits: int = 10) -> None:
    """Before/after on held-back passages. The labelled file is split in three, ``splits`` times:
    a base tagger is fitted as the shipped one is, with the first third as its real passages (so
    it never saw the other two); a simulated curator decides on its suggestions for the second
    third, an adaptation is fitted to those decisions (media_pipeline/tagger/learning.py), and the
    last third is tagged with and without it. Then one bad decision (a wrong theme confirmed on
    one passage) is added, and the held-back suggestions that change are counted."""
    from media_pipeline.tagger.learning import Decision, base_scores, fit_adaptation
    from media_pipeline.tagger.shipped import fit_like_shipped

    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    texts, truth = [r["text"] for r in rows], [r["labels"] for r in rows]
    # $BENCH_CACHE, if set, keeps the passages' embeddings between runs (the CPU is shared).
    cache = (
        Path(os.environ["BENCH_CACHE"]) / "dev-vectors.npy" if "BENCH_CACHE" in os.environ else None
    )
    vectors = np.load(cache) if cache is not None and cache.exists() else embed(texts)
    if len(vectors) != len(texts):
        vectors = embed(texts)
    if cache is not None:
        np.save(cache, vectors)
    kind_of = {s.key: s.kind for s in shipped_taxonomy().subthemes}
    _, seed_vectors = fitting_set()

    def said(s: Any) -> frozenset[str]:
        return frozenset((*s.kinds, *s.subthemes))

    before_f1, after_f1 = [], []
    before_kinds, after_kinds = [], []
    changed, spread_total, near_bad = [], 0, []
    rng = np.random.default_rng(21)
    third = len(rows) // 3
    for _ in range(splits):
        order = rng.permutation(len(rows))
        base_part, curated, held = order[:third], order[third : 2 * third], order[2 * third :]
        model = fit_like_shipped([rows[i] for i in base_part])
        table, shipped = base_scores(model, vectors, texts)
        labels = list(model.labels)

        def tag(indices: Any, adaptation: Any, model: Any = model, labels: Any = labels) -> Any:
            part = [texts[i] for i in indices]
            return model.suggest(vectors[indices], part, adjust=adaptation.adjuster(labels))

        decided = [_simulated_decisions(shipped[i], rows[i]) for i in curated]
        decisions = [d for d, _ in decided]
        offered = [s for _, s in decided]
        adaptation = fit_adaptation(
            labels, table[curated], vectors[curated], decisions, kind_of,
            suggested=offered, background=seed_vectors,
        )  # fmt: skip
        after = tag(held, adaptation)
        held_truth = [truth[i] for i in held]
        b = evaluate(held_truth, [list(shipped[i].kinds) for i in held])
        a = evaluate(held_truth, [list(s.kinds) for s in after])
        before_f1.append(b.macro_f1)
        after_f1.append(a.macro_f1)
        before_kinds.append([k.f1 for k in b.kinds])
        after_kinds.append([k.f1 for k in a.kinds])
        # One bad decision: a theme of a kind the passage is not about, confirmed on it.
        victim = int(rng.integers(len(curated)))
        true_kinds = set(rows[curated[victim]]["labels"])
        wrong = next(
            s for s, k in sorted(kind_of.items(), key=lambda _: rng.random()) if k not in true_kinds
        )
        bad = list(decisions)
        bad[victim] = Decision(
            decisions[victim].present | {wrong}, decisions[victim].absent - {kind_of[wrong]}
        )
        spoilt = fit_adaptation(
            labels, table[curated], vectors[curated], bad, kind_of,
            suggested=offered, background=seed_vectors,
        )  # fmt: skip
        moved = [
            i for i, (x, y) in enumerate(zip(after, tag(held, spoilt), strict=True))
            if said(x) != said(y)
        ]  # fmt: skip
        changed.append(len(moved))
        spread_total += len(held)
        similarity = vectors[held] @ vectors[curated[victim]]
        near_bad.append(int(np.sum(similarity >= 0.8)))
    print(
        f"### Learning from one organisation's curators ({splits} random splits of "
        f"{labelled.name} in three: the base tagger learns from one third, curators decide on "
        f"the second, the last is measured)\n"
    )
    print(
        "| tagger on the held-back third | "
        + " | ".join(f"{k} F1" for k in KINDS)
        + " | macro-F1 |"
    )
    print("|---|" + "---|" * (len(KINDS) + 1))
    for name, f1s, macro in (
        ("base (as shipped, without these passages)", before_kinds, before_f1),
        (f"base + what curators taught on {third} other passages", after_kinds, after_f1),
    ):
        means = np.mean(f1s, axis=0)
        cells = " | ".join(f"{m:.3f}" for m in means)
        print(f"| {name} | {cells} | **{np.mean(macro):.3f}** (± {np.std(macro):.3f}) |")
    gains = np.array(after_f1) - np.array(before_f1)
    print(
        f"\nmacro-F1 gain per split: {', '.join(f'{g:+.3f}' for g in gains)} "
        f"(mean {gains.mean():+.3f})\n"
    )
    print(
        f"One bad decision (a wrong theme confirmed on one passage): "
        f"{', '.join(map(str, changed))} of {len(rows) - 2 * third} held-back passages' "
        f"suggestions changed (in all, {sum(changed)} of {spread_total}); held-back passages "
        f"within the memory's radius of the bad one: {', '.join(map(str, near_bad))}.\n"
    )


if __name__ == "__main__":
    main()
