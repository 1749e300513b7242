"""Measure a tagger against labelled passages: per-kind precision, recall, F1 and macro-F1."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .taxonomy import KINDS


@dataclass(frozen=True)
class KindScore:
    kind: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    kinds: tuple[KindScore, ...]
    passages: int

    @property
    def macro_f1(self) -> float:
        return sum(k.f1 for k in self.kinds) / len(self.kinds)


def evaluate(truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]]) -> Evaluation:
    """Compare each passage's true kinds with the predicted ones ("none" counts as no kind)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    scores = []
    for kind in KINDS:
        tp = fp = fn = 0
        for true_labels, guessed in zip(truth, predicted, strict=True):
            is_true, is_guessed = kind in set(true_labels), kind in set(guessed)
            tp += is_true and is_guessed
            fp += is_guessed and not is_true
            fn += is_true and not is_guessed
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(KindScore(kind, precision, recall, f1, tp + fn))
    return Evaluation(tuple(scores), len(truth))
