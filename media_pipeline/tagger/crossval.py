"""Calibration, and an honest estimate of accuracy: repeated cross-validation over real passages.

The shipped tagger learns from the seed set (written for this project) and from real first-person
passages (``seed/dev_passages.jsonl``, which is also the measuring set). Measuring it on passages
it learnt from would flatter it, so the honest figure comes from repeated k-fold
cross-validation over the real passages: each held-out fold is scored by a tagger trained, and
calibrated and tuned, on the seed set and the other folds only.

Calibration is Platt scaling per label (two plain numbers: a logistic regression on the raw
score's logit, from scikit-learn), fitted on out-of-fold scores of the real passages, because
those are what the tagger meets in use. A kind is then suggested at KIND_THRESHOLD of calibrated
probability.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .embed import MODEL_NAME, Vectors
from .evaluate import Evaluation, evaluate
from .model import Example, ThemeModel, fit, with_kinds
from .taxonomy import KINDS

# A real passage counts this many times a written seed passage when fitting (cross-validated).
REAL_WEIGHT: Final = 3.0
# How the shipped tagger is fitted (chosen by cross-validation, see bench/README.md).
SHIPPED_FIT: Final = {"c": 1.0, "word_c": 3.0, "mix": 0.5}
CALIBRATION_FOLDS: Final = 5
# A kind is suggested when its calibrated probability reaches this. For calibrated scores the cut
# with the best expected F1 is half the F1 reachable (Lipton, Elkan and Naryanaswamy 2014,
# "Thresholding classifiers to maximize F1"): about 0.7 here, so 0.35. Cut-offs tuned on the
# training folds instead ("per-kind" or "shared") did worse in cross-validation (bench/README.md):
# 120 passages are too few to place them steadily.
KIND_THRESHOLD: Final = 0.35
# Candidate per-kind thresholds on calibrated scores.
_CUTS: Final = np.round(np.arange(0.2, 0.81, 0.01), 2)

Embedder = Callable[[Sequence[str]], Vectors]


class CachedEmbedder:
    """``embed`` with a disk cache of every text it has embedded (cross-validation embeds the
    same passages and windows again and again)."""

    def __init__(self, path: Path | None, embed: Embedder | None = None) -> None:
        from .embed import embed as default_embed

        self.path = path
        self.embed = embed or default_embed
        self.vectors: dict[str, npt.NDArray[np.float32]] = {}
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as saved:
                for text, vector in zip(saved["texts"], saved["vectors"], strict=True):
                    self.vectors[str(text)] = vector

    def __call__(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self.vectors[text] = vector
            self.save()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        """Write the cache atomically (several processes may share it)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.npz")
        texts = list(self.vectors)
        np.savez(
            temporary, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts])
        )
        os.replace(temporary, self.path)


def cache_name(texts: Sequence[str]) -> str:
    """A file name for the embeddings of ``texts`` (changes with them and with the model)."""
    digest = hashlib.sha256(MODEL_NAME.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return f"vectors-{digest.hexdigest()[:16]}.npz"


def real_examples(rows: Sequence[Mapping[str, Any]], weight: float = REAL_WEIGHT) -> list[Example]:
    """Labelled real passages ({"text", "labels", "subthemes"}) as fully labelled examples."""
    return [
        Example(
            row["text"],
            frozenset(row.get("subthemes", [])) | (frozenset(row["labels"]) - {"none"}),
            weight=weight,
        )
        for row in rows
    ]


def _folds(count: int, folds: int, seed: int) -> list[npt.NDArray[np.int64]]:
    order = np.random.default_rng(seed).permutation(count)
    return [order[i::folds] for i in range(folds)]


def platt(raw: npt.NDArray[np.float32], truth: npt.NDArray[np.int8]) -> tuple[float, float]:
    """Platt scaling (a, b) of raw scores against 0/1 truth: sigmoid(a * logit(raw) + b)."""
    from sklearn.linear_model import LogisticRegression

    clipped = np.clip(raw, 1e-4, 1 - 1e-4).astype(np.float64)
    logits = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    model = LogisticRegression(C=10.0).fit(logits, truth)
    slope = float(model.coef_[0, 0])
    if slope <= 0:  # no signal here: keep the scores' order rather than reverse it
        return 1.0, 0.0
    return slope, float(model.intercept_[0])


def best_threshold(probs: npt.NDArray[np.float32], truth: npt.NDArray[np.int8]) -> float:
    """The cut-off with the best mean F1 over the columns of ``probs`` (the middle one of a
    plateau of equally good ones)."""
    probs, truth = probs.reshape(len(probs), -1), truth.reshape(len(truth), -1)
    f1s = []
    for cut in _CUTS:
        guessed = probs >= cut
        tp = np.sum(guessed & (truth == 1), axis=0)
        wrong = np.sum(guessed != (truth == 1), axis=0)
        f1s.append(float(np.mean(np.where(tp > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0))))
    best = np.flatnonzero(np.isclose(f1s, max(f1s)))
    return float(_CUTS[best[len(best) // 2]])


def fit_calibrated(
    examples: Sequence[Example],
    vectors: Vectors,
    kind_of: Mapping[str, str],
    *,
    held: Sequence[int] | npt.NDArray[np.int64],
    embedder: Embedder,
    folds: int = CALIBRATION_FOLDS,
    seed: int = 0,
    thresholds: str = "fixed",
    **fit_options: Any,
) -> ThemeModel:
    """Fit a tagger on ``examples``, then calibrate each label on out-of-fold scores of the
    examples at ``held`` (the real passages): each of ``folds`` parts of them is scored by a
    tagger fitted on everything else. ``thresholds`` sets the kinds' cut-offs: "fixed"
    (KIND_THRESHOLD), or tuned on those scores for the best F1, "per-kind" or one "shared"."""
    real = np.asarray(held, dtype=np.int64)
    model = fit(examples, vectors, kind_of, **fit_options)
    if len(real) < 2 * folds:
        return model
    raw = np.zeros((len(real), len(model.labels)), dtype=np.float32)
    for part in _folds(len(real), folds, seed):
        keep = np.setdiff1d(np.arange(len(examples)), real[part])
        inner = fit([examples[i] for i in keep], vectors[keep], kind_of, **fit_options)
        texts = [examples[i].text for i in real[part]]
        raw[part] = inner.table(vectors[real[part]], texts, embedder=embedder, calibrate=False)
    truth = _truth([examples[i] for i in real], model.labels, kind_of)
    calibration = np.tile(np.array([1.0, 0.0], np.float32), (len(model.labels), 1))
    for col in range(len(model.labels)):
        y = truth[:, col]
        if model.trained[col] and np.sum(y == 1) >= 2 and np.sum(y == 0) >= 2:
            calibration[col] = platt(raw[:, col], y)
    model.calibration = calibration
    kinds = [model.labels.index(k) for k in KINDS]
    probs = model.calibrated(raw)
    if thresholds == "fixed":
        model.thresholds[kinds] = KIND_THRESHOLD
    elif thresholds == "per-kind":
        for col in kinds:
            model.thresholds[col] = best_threshold(probs[:, col], truth[:, col])
    elif thresholds == "shared":
        # One cut-off for the three kinds: tuned on three times the scores, so steadier.
        model.thresholds[kinds] = best_threshold(probs[:, kinds], truth[:, kinds])
    model.meta["calibrated_on"] = len(real)
    return model


def _truth(
    examples: Sequence[Example], labels: Sequence[str], kind_of: Mapping[str, str]
) -> npt.NDArray[np.int8]:
    """Examples by labels, 1 present and 0 absent (fully labelled examples only)."""
    return np.array(
        [[int(label in e.positive) for label in labels] for e in with_kinds(examples, kind_of)],
        dtype=np.int8,
    ).reshape(len(examples), len(labels))


@dataclass(frozen=True)
class CrossValidation:
    """Repeated k-fold results: one evaluation per repeat, and every out-of-fold kind score."""

    repeats: tuple[Evaluation, ...]
    truth: npt.NDArray[np.int8]  # (repeats * passages) by kinds
    raw: npt.NDArray[np.float32]  # uncalibrated kind scores, same shape
    calibrated: npt.NDArray[np.float32]

    @property
    def macro_f1(self) -> tuple[float, float]:
        """Mean and standard deviation of macro-F1 over the repeats."""
        values = [r.macro_f1 for r in self.repeats]
        return float(np.mean(values)), float(np.std(values))

    def kind(self, kind: str, measure: str) -> tuple[float, float]:
        """Mean and standard deviation over the repeats of a kind's precision, recall or F1."""
        values = [
            getattr(next(k for k in r.kinds if k.kind == kind), measure) for r in self.repeats
        ]
        return float(np.mean(values)), float(np.std(values))


def cross_validate(
    rows: Sequence[Mapping[str, Any]],
    base: Sequence[Example],
    base_vectors: Vectors,
    kind_of: Mapping[str, str],
    *,
    embedder: Embedder,
    weight: float = REAL_WEIGHT,
    folds: int = 5,
    repeats: int = 5,
    calibrate: bool = True,
    inner_folds: int = CALIBRATION_FOLDS,
    progress: Callable[[str], None] | None = None,
    **fit_options: Any,
) -> CrossValidation:
    """Score every real passage in ``rows`` with a tagger fitted (and calibrated) on ``base``
    plus the other folds' passages, ``repeats`` times with different folds."""
    texts = [row["text"] for row in rows]
    vectors = embedder(texts)
    real = real_examples(rows, weight)
    truth_rows = [row["labels"] for row in rows]
    evaluations: list[Evaluation] = []
    raw_all, calibrated_all, truth_all = [], [], []
    for repeat in range(repeats):
        raw = np.zeros((len(rows), len(KINDS)), dtype=np.float32)
        probs = np.zeros_like(raw)
        guessed: list[tuple[str, ...]] = [() for _ in rows]
        for number, part in enumerate(_folds(len(rows), folds, 1000 + repeat)):
            # weight 0: the seed set alone (what the tagger was before it learnt from real ones)
            train = np.setdiff1d(np.arange(len(rows)), part) if weight > 0 else part[:0]
            examples = [*base, *(real[i] for i in train)]
            fit_vectors = np.concatenate([base_vectors, vectors[train]])
            if calibrate:
                held = np.arange(len(base), len(examples))
                model = fit_calibrated(
                    examples,
                    fit_vectors,
                    kind_of,
                    held=held,
                    embedder=embedder,
                    folds=inner_folds,
                    seed=repeat,
                    **fit_options,
                )
            else:
                model = fit(examples, fit_vectors, kind_of, **fit_options)
            part_texts = [texts[i] for i in part]
            table = model.table(vectors[part], part_texts, embedder=embedder, calibrate=False)
            kinds = [model.labels.index(k) for k in KINDS]
            raw[part] = table[:, kinds]
            calibrated = model.calibrated(table)
            probs[part] = calibrated[:, kinds]
            for i, suggestion in zip(part, model.suggest_from_scores(calibrated), strict=True):
                guessed[i] = suggestion.kinds
            if progress:
                progress(f"repeat {repeat + 1}, fold {number + 1} done")
        evaluations.append(evaluate(truth_rows, guessed))
        raw_all.append(raw)
        calibrated_all.append(probs)
        truth_all.append(
            np.array([[int(k in labels) for k in KINDS] for labels in truth_rows], np.int8)
        )
    return CrossValidation(
        tuple(evaluations),
        np.concatenate(truth_all),
        np.concatenate(raw_all),
        np.concatenate(calibrated_all),
    )


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean predicted probability
    observed: float  # how often the label was there


def reliability(
    probs: npt.NDArray[np.float32], truth: npt.NDArray[np.int8], bins: int = 10
) -> list[Bin]:
    """Predicted probability in equal-width bins: how many, mean predicted, observed frequency."""
    flat_p, flat_t = probs.ravel(), truth.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(flat_p, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        table.append(
            Bin(
                float(edges[b]),
                float(edges[b + 1]),
                count,
                float(flat_p[inside].mean()) if count else 0.0,
                float(flat_t[inside].mean()) if count else 0.0,
            )
        )
    return table


def expected_calibration_error(
    probs: npt.NDArray[np.float32], truth: npt.NDArray[np.int8]
) -> float:
    """The bins' gaps between predicted and observed, weighted by how many scores each holds."""
    table = reliability(probs, truth)
    total = sum(b.count for b in table)
    return sum(b.count / total * abs(b.predicted - b.observed) for b in table) if total else 0.0
