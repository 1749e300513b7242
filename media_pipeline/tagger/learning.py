"""What one organisation's curators taught the tagger: a small adaptation on top of its scores.

The shipped tagger stays as it is. An ``Adaptation`` is fitted from curators' decisions
(confirmed = the label is present, rejected = absent) against the shipped tagger's own calibrated
scores for the same words, and is applied through ``ThemeModel.suggest(..., adjust=...)``. It is
made of three plain parts, each bounded so that one bad decision cannot spread far:

- a **shift** per label (in log-odds): "suggest Change less often". It is fitted to the decisions
  on that label and shrunk towards zero (PRIOR acts like a few decisions that agree with the
  shipped tagger), so one decision moves it a little and it takes several to move it much; it
  never exceeds MAX_SHIFT.
- a **memory** of the decided passages: a new passage very close in meaning (cosine at least
  MEMORY_RADIUS) to a decided one leans towards that decision, by at most MAX_PULL. Anything
  further away is untouched.
- **new themes** the organisation added itself (the shipped tagger has never heard of them): a
  logistic regression on the embeddings, once curators confirmed one on MIN_NEW_POSITIVES
  passages, with the shipped seed passages as examples of what it is not.

Everything is plain numbers, saved as bytes, and describable in plain words (``changes``).
No database and no Flask here: ``storyhub.themes.services`` collects the decisions and keeps each
fitted adaptation as a version an administrator can roll back.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .embed import Vectors

FORMAT: Final = 1
# A label's shift is shrunk as if this much weight of decisions agreed with the shipped tagger
# (in log-odds curvature units: a decision at a score of 0.5 weighs 0.25).
PRIOR: Final = 3.0
MAX_SHIFT: Final = 1.5
# Only passages this close in meaning (cosine) to a decided one lean towards its decision...
MEMORY_RADIUS: Final = 0.8
# ... and even an identical one only this much of the way.
MAX_PULL: Final = 0.6
# An organisation's own theme is suggested once it is confirmed on this many passages.
MIN_NEW_POSITIVES: Final = 3
# A shift smaller than this is not worth telling an administrator about.
NOTABLE_SHIFT: Final = 0.15

Table = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Decision:
    """What curators decided about one passage (or span of words): labels present and absent.

    Labels are kinds and subtheme keys; a present subtheme implies its kind (``fit_adaptation``
    adds it).
    """

    present: frozenset[str]
    absent: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LabelChange:
    """How the adaptation treats one label, in numbers an administrator can read."""

    label: str
    shift: float  # log-odds added to the shipped tagger's score (positive: suggested more often)
    confirmed: int  # decisions saying the label is there
    rejected: int  # decisions saying it is not
    suggested: int  # of those, how many the shipped tagger had suggested
    suggested_rejected: int  # ... and curators then said no to

    @property
    def direction(self) -> str:
        """ "more", "less" or "same": how often the label is suggested now."""
        if self.shift >= NOTABLE_SHIFT:
            return "more"
        if self.shift <= -NOTABLE_SHIFT:
            return "less"
        return "same"


@dataclass
class Adaptation:
    """An organisation's adaptation of the shipped tagger (see the module's docstring)."""

    labels: tuple[str, ...]  # the shipped tagger's labels the shift and memory columns are for
    shift: npt.NDArray[np.float32]
    memory: npt.NDArray[np.float16]  # decided passages' embeddings
    memory_targets: npt.NDArray[np.int8]  # memory rows by labels: 1 present, 0 absent, -1 unknown
    counts: npt.NDArray[np.int32]  # labels by (confirmed, rejected, suggested, suggested_rejected)
    new_labels: tuple[str, ...] = ()  # the organisation's own themes
    new_coef: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32)
    )
    new_intercept: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float32)
    )
    new_counts: tuple[int, ...] = ()  # confirmations each new theme was learnt from
    decisions: int = 0

    # -- applying ------------------------------------------------------------------------------

    def apply(self, labels: Sequence[str], table: Table, vectors: Vectors) -> Table:
        """``table`` (rows by ``labels``, calibrated scores) as this organisation would have it."""
        table = np.array(table, dtype=np.float32, copy=True)
        if not len(table):
            return table
        columns = [
            (labels.index(label), i) for i, label in enumerate(self.labels) if label in labels
        ]
        if not columns:
            return table
        mine = np.array([c for _, c in columns])
        theirs = np.array([c for c, _ in columns])
        scores = table[:, theirs].astype(np.float64)
        scores = _sigmoid(_logit(scores) + self.shift[mine])
        if len(self.memory):
            scores = self._recall(np.asarray(vectors, dtype=np.float32), scores, mine)
        table[:, theirs] = scores.astype(np.float32)
        return table

    def adjuster(self, labels: Sequence[str]) -> Callable[[Table, Vectors], Table]:
        """The ``adjust`` callable for a tagger whose labels are ``labels``."""
        labels = list(labels)
        return lambda table, vectors: self.apply(labels, table, vectors)

    def _recall(
        self, vectors: npt.NDArray[np.float32], scores: npt.NDArray[np.float64], mine: Any
    ) -> npt.NDArray[np.float64]:
        """Lean each score towards the decision on the nearest decided passage that knows the
        label, if it is within MEMORY_RADIUS."""
        similarity = vectors @ self.memory.astype(np.float32).T  # rows by memory
        targets = self.memory_targets[:, mine]
        for row in range(len(vectors)):
            near = np.flatnonzero(similarity[row] >= MEMORY_RADIUS)
            for col in range(targets.shape[1]):
                known = near[targets[near, col] >= 0]
                if not len(known):
                    continue
                best = known[np.argmax(similarity[row, known])]
                closeness = (similarity[row, best] - MEMORY_RADIUS) / (1.0 - MEMORY_RADIUS)
                pull = MAX_PULL * min(1.0, float(closeness))
                scores[row, col] += pull * (float(targets[best, col]) - scores[row, col])
        return scores

    def new_scores(self, vectors: Vectors) -> dict[str, npt.NDArray[np.float32]]:
        """The organisation's own themes' scores (0 to 1) for each vector."""
        if not self.new_labels or not len(vectors):
            return {label: np.zeros(len(vectors), np.float32) for label in self.new_labels}
        probs = _sigmoid(np.asarray(vectors, np.float32) @ self.new_coef.T + self.new_intercept)
        return {label: probs[:, i].astype(np.float32) for i, label in enumerate(self.new_labels)}

    # -- describing ----------------------------------------------------------------------------

    def changes(self) -> list[LabelChange]:
        """Each label curators decided on, with its shift; largest shifts first."""
        found = [
            LabelChange(label, round(float(self.shift[i]), 3), *(int(n) for n in self.counts[i]))
            for i, label in enumerate(self.labels)
            if self.counts[i, 0] or self.counts[i, 1]
        ]
        return sorted(found, key=lambda c: -abs(c.shift))

    @property
    def remembered(self) -> int:
        """How many decided passages the memory holds."""
        return len(self.memory)

    # -- storing -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The adaptation as bytes (numpy arrays and a little JSON; no pickle)."""
        buffer = io.BytesIO()
        header = {
            "format": FORMAT,
            "labels": list(self.labels),
            "new_labels": list(self.new_labels),
            "new_counts": list(self.new_counts),
            "decisions": self.decisions,
        }
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            shift=self.shift,
            memory=self.memory,
            memory_targets=self.memory_targets,
            counts=self.counts,
            new_coef=self.new_coef,
            new_intercept=self.new_intercept,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Adaptation:
        """Read an adaptation saved by ``to_bytes``."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode())
            if header.get("format") != FORMAT:
                raise ValueError("This adaptation was saved by another version of storyhub.")
            return cls(
                labels=tuple(header["labels"]),
                shift=arrays["shift"],
                memory=arrays["memory"],
                memory_targets=arrays["memory_targets"],
                counts=arrays["counts"],
                new_labels=tuple(header["new_labels"]),
                new_coef=arrays["new_coef"],
                new_intercept=arrays["new_intercept"],
                new_counts=tuple(header["new_counts"]),
                decisions=int(header["decisions"]),
            )


# -- fitting -----------------------------------------------------------------------------------


def base_scores(model: Any, vectors: Vectors, texts: Sequence[str]) -> tuple[Table, list[Any]]:
    """The tagger's calibrated score table (rows by ``model.labels``) for ``texts``, and its
    suggestions, as ``suggest`` makes them (windows included), read through its ``adjust`` hook."""
    seen: list[Table] = []

    def keep(table: Table, _vectors: Vectors) -> Table:
        seen.append(np.array(table, dtype=np.float32, copy=True))
        return table

    suggestions = model.suggest(vectors, list(texts), adjust=keep)
    table = seen[0] if seen else np.zeros((0, len(model.labels)), np.float32)
    return table, suggestions


def fit_adaptation(
    labels: Sequence[str],
    table: Table,
    vectors: Vectors,
    decisions: Sequence[Decision],
    kind_of: Mapping[str, str],
    *,
    suggested: Sequence[frozenset[str]] | None = None,
    background: Vectors | None = None,
) -> Adaptation:
    """Fit an adaptation from ``decisions`` on passages whose shipped scores are ``table`` (rows
    by ``labels``) and whose embeddings are ``vectors``.

    ``kind_of`` maps every subtheme the organisation has (shipped or its own) to its kind.
    ``suggested`` holds, per decision, the labels the shipped tagger had suggested there (only
    for describing the adaptation). ``background`` are embeddings of passages known to carry none
    of the organisation's own themes (the shipped seed set), as what a new theme is not.
    """
    labels = tuple(labels)
    decisions = [
        Decision(d.present | {kind_of[s] for s in d.present if s in kind_of}, d.absent)
        for d in decisions
    ]
    targets = np.full((len(decisions), len(labels)), -1, dtype=np.int8)
    for row, decision in enumerate(decisions):
        for col, label in enumerate(labels):
            if label in decision.present:
                targets[row, col] = 1
            elif label in decision.absent:
                targets[row, col] = 0
    shift = np.zeros(len(labels), dtype=np.float32)
    counts = np.zeros((len(labels), 4), dtype=np.int32)
    for col, label in enumerate(labels):
        known = np.flatnonzero(targets[:, col] >= 0)
        if not len(known):
            continue
        y = targets[known, col].astype(np.float64)
        shift[col] = _fit_shift(table[known, col].astype(np.float64), y)
        was_suggested = np.array(
            [suggested is not None and label in suggested[int(i)] for i in known], dtype=np.bool_
        )
        counts[col] = (
            int(np.sum(y == 1)),
            int(np.sum(y == 0)),
            int(np.sum(was_suggested)),
            int(np.sum(was_suggested & (y == 0))),
        )
    keep = np.flatnonzero((targets >= 0).any(axis=1))
    adaptation = Adaptation(
        labels=labels,
        shift=shift,
        memory=np.asarray(vectors, np.float32)[keep].astype(np.float16),
        memory_targets=targets[keep],
        counts=counts,
        decisions=len(decisions),
    )
    _fit_new_themes(adaptation, vectors, decisions, kind_of, background)
    return adaptation


def _fit_shift(scores: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    """The log-odds shift that best fits ``y`` given the shipped ``scores`` (yes and no weighed
    equally), with a Gaussian prior at zero (PRIOR), capped at MAX_SHIFT: Newton steps on one
    number."""
    logits = _logit(scores)
    # Yes and no count equally in all (as the shipped tagger's classes are balanced): otherwise
    # a label curators mostly see absent would drift towards never being suggested. With only
    # one of them, each decision counts once.
    present, absent = float(np.sum(y == 1)), float(np.sum(y == 0))
    weights = np.ones_like(y)
    if present and absent:
        weights = np.where(y == 1, len(y) / (2 * present), len(y) / (2 * absent))
    delta = 0.0
    for _ in range(25):
        p = _sigmoid(logits + delta)
        gradient = float(np.sum(weights * (p - y))) + PRIOR * delta
        curvature = float(np.sum(weights * p * (1 - p))) + PRIOR
        step = gradient / curvature
        delta -= step
        if abs(step) < 1e-6:
            break
    return float(np.clip(delta, -MAX_SHIFT, MAX_SHIFT))


def _fit_new_themes(
    adaptation: Adaptation,
    vectors: Vectors,
    decisions: Sequence[Decision],
    kind_of: Mapping[str, str],
    background: Vectors | None,
) -> None:
    """Learn the organisation's own themes (subthemes the shipped tagger doesn't have)."""
    from sklearn.linear_model import LogisticRegression

    own = sorted(
        {s for d in decisions for s in d.present if s in kind_of and s not in adaptation.labels}
    )
    vectors = np.asarray(vectors, np.float32)
    rest = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    background = np.asarray(background, np.float32) if background is not None else rest
    new_labels, coefs, intercepts, confirmed = [], [], [], []
    for label in own:
        positive = [i for i, d in enumerate(decisions) if label in d.present]
        negative = [i for i, d in enumerate(decisions) if label in d.absent]
        if len(positive) < MIN_NEW_POSITIVES or len(negative) + len(background) < 2:
            continue
        x = np.concatenate([vectors[positive], vectors[negative], background])
        y = np.r_[np.ones(len(positive)), np.zeros(len(negative) + len(background))]
        regression = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        regression.fit(x, y)
        new_labels.append(label)
        coefs.append(regression.coef_[0])
        intercepts.append(regression.intercept_[0])
        confirmed.append(len(positive))
    if new_labels:
        adaptation.new_labels = tuple(new_labels)
        adaptation.new_coef = np.asarray(coefs, np.float32)
        adaptation.new_intercept = np.asarray(intercepts, np.float32)
        adaptation.new_counts = tuple(confirmed)


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(p / (1 - p)), dtype=np.float64)


def _sigmoid(x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)
