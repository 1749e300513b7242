"""The theme tagger: per-label logistic regressions on two views of the text, calibrated.

Labels are the three kinds and every subtheme. Each has its own binary classifiers (a passage may
carry several themes), trained on labelled examples: the seed set this project wrote, the real
passages it ships (weighted higher) and the taxonomy's own descriptions.

The two views are a sentence embedding (meaning, whatever the words) and TF-IDF word and word-pair
counts (the phrases people in care actually use); a label's raw score mixes the two classifiers'
probabilities, and Platt scaling per label (fitted in ``crossval``) turns it into a probability
that means what it says. A kind is suggested from its threshold (0.35 for the shipped tagger),
with its likeliest subthemes; ``Suggestion.reasons`` holds the words that drove each one.

What an organisation's curators teach is not fitted here: it is a separate, bounded adaptation
(``learning``) applied through ``suggest(..., adjust=)``. The *memory* below (curators' examples
inside the model) is what tagger formats before 4 used; the app no longer fills it.

A model is plain numbers (numpy arrays and a little JSON), saved as bytes so the database can hold
it and every worker read the same one.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .embed import DIMENSIONS, MODEL_NAME, Vectors
from .taxonomy import KINDS

FORMAT: Final = 4
THRESHOLD: Final = 0.5
# At most this many subthemes are suggested per kind (a curator reads them all).
MAX_SUBTHEMES_PER_KIND: Final = 2
# How near (cosine) a curator's example must be before it sways a suggestion, and fully at 1.0.
MEMORY_NEAR: Final = 0.75


@dataclass(frozen=True)
class Example:
    """A labelled piece of text for training.

    ``positive`` holds labels (kinds and subthemes) known to be present. ``negative`` holds those
    known to be absent; ``None`` means the example is fully labelled, so every other label is
    absent (the seed set). A curator's partial review knows only what was confirmed or rejected.
    """

    text: str
    positive: frozenset[str]
    negative: frozenset[str] | None = None
    weight: float = 1.0
    from_curator: bool = False


@dataclass(frozen=True)
class Suggestion:
    """What the tagger suggests for one passage: kinds, subthemes and every label's score.

    ``reasons`` holds, for each suggested label (kind or subtheme key), the character spans
    ``(start, end)`` in the passage's text of the words that drove it (at most MAX_REASONS).
    """

    kinds: tuple[str, ...]
    subthemes: tuple[str, ...]
    scores: Mapping[str, float] = field(default_factory=dict)
    reasons: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)


# A label-score table (rows by ``ThemeModel.labels``) and the texts' vectors -> a new table.
Adjust = Callable[[npt.NDArray[np.float32], Vectors], npt.NDArray[np.float32]]
# At most this many word spans are marked as a suggestion's reasons.
MAX_REASONS: Final = 6
# Neighbouring reasons are joined into one span of at most this many words.
MAX_REASON_WORDS: Final = 4


@dataclass
class ThemeModel:
    """A fitted tagger: per-label weights for both views, and the curators' examples."""

    labels: tuple[str, ...]
    kind_of: dict[str, str]  # subtheme -> kind
    coef: npt.NDArray[np.float32]  # labels by embedding dimensions (zeros: unfitted label)
    intercept: npt.NDArray[np.float32]
    trained: npt.NDArray[np.bool_]
    vocabulary: dict[str, int]  # TF-IDF terms -> columns
    idf: npt.NDArray[np.float64]
    word_coef: npt.NDArray[np.float32]  # labels by terms
    word_intercept: npt.NDArray[np.float32]
    memory: npt.NDArray[np.float16] = field(
        default_factory=lambda: np.zeros((0, DIMENSIONS), dtype=np.float16)
    )
    # memory rows by labels: 1 present, 0 absent, -1 unknown
    memory_targets: npt.NDArray[np.int8] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.int8)
    )
    meta: dict[str, Any] = field(default_factory=dict)

    # Per label, Platt scaling (a, b) of the raw score: calibrated = sigmoid(a * logit(raw) + b),
    # fitted on out-of-fold scores of real passages; (1, 0) leaves a score as it is.
    calibration: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 2), dtype=np.float32)
    )
    # Per label, the calibrated score at which it is suggested (kinds tuned, subthemes THRESHOLD).
    thresholds: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float32)
    )

    _columns: dict[int, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.calibration) != len(self.labels):
            self.calibration = np.tile(np.array([1.0, 0.0], np.float32), (len(self.labels), 1))
        if len(self.thresholds) != len(self.labels):
            self.thresholds = np.full(len(self.labels), THRESHOLD, dtype=np.float32)

    # -- scoring -------------------------------------------------------------------------------

    def raw_scores(self, vectors: Vectors, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Each label's uncalibrated score for each whole text: the two views' mean."""
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        meaning = _sigmoid(vectors @ self.coef.T + self.intercept)
        words = _sigmoid(_words(self.vocabulary, self.idf, texts) @ self.word_coef.T
                         + self.word_intercept)  # fmt: skip
        mix = float(self.meta.get("mix", 0.5))
        probs = (mix * meaning + (1 - mix) * words).astype(np.float32)
        probs[:, ~self.trained] = 0.0
        return probs

    def calibrated(self, raw: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Raw scores turned into probabilities that mean what they say (unfitted labels 0)."""
        clipped = np.clip(raw, 1e-4, 1 - 1e-4)
        logits = np.log(clipped / (1 - clipped))
        probs = _sigmoid(logits * self.calibration[:, 0] + self.calibration[:, 1])
        calibrated = probs.astype(np.float32)
        calibrated[:, ~self.trained] = 0.0
        return calibrated

    def scores(self, vectors: Vectors, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Each label's calibrated probability for each whole text (rows by labels); unfitted
        labels score 0. ``vectors`` are the texts' embeddings (the caller usually has them)."""
        probs = self.calibrated(self.raw_scores(vectors, texts))
        if len(self.memory) and len(texts):
            probs = self._recall(vectors, probs)
        return probs

    def _recall(self, vectors: Vectors, probs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Lean each score towards the decision on the nearest curator example that knows it."""
        similarity = vectors @ self.memory.astype(np.float32).T  # rows by memory
        for row in range(len(vectors)):
            near = np.flatnonzero(similarity[row] >= MEMORY_NEAR)
            if not len(near):
                continue
            for label_index in range(len(self.labels)):
                known = near[self.memory_targets[near, label_index] >= 0]
                if not len(known):
                    continue
                best = known[np.argmax(similarity[row, known])]
                pull = (similarity[row, best] - MEMORY_NEAR) / (1.0 - MEMORY_NEAR)
                target = float(self.memory_targets[best, label_index])
                probs[row, label_index] = (1 - pull) * probs[row, label_index] + pull * target
        return probs

    def table(
        self,
        vectors: Vectors,
        texts: Sequence[str],
        *,
        embedder: Callable[[Sequence[str]], Vectors] | None = None,
        calibrate: bool = True,
    ) -> npt.NDArray[np.float32]:
        """Each label's score for each text, the best of the whole text and its windows.

        A passage of speech often holds several themes in different sentences ("My name is Mary.
        The carer listened to me. Now I see my friends again."), which one embedding of the whole
        blurs; so any text over LONG_PASSAGE_WORDS is also scored in windows of a sentence or two,
        and each label keeps its best score. ``vectors`` are the embeddings of ``texts`` themselves;
        windows are embedded with ``embedder`` (``embed`` unless given). Calibration is monotone,
        so the best window is the same before and after it.
        """
        return self._windowed(vectors, texts, embedder, calibrate)[0]

    def _windowed(
        self,
        vectors: Vectors,
        texts: Sequence[str],
        embedder: Callable[[Sequence[str]], Vectors] | None,
        calibrate: bool,
    ) -> tuple[npt.NDArray[np.float32], list[list[tuple[int, int]]], Vectors]:
        """The table, each text's window spans, and the windows' embeddings (in order)."""
        score = self.scores if calibrate else self.raw_scores
        parts = [window_spans(text) for text in texts]
        extra = [text[a:b] for text, spans in zip(texts, parts, strict=True) for a, b in spans]
        table = score(vectors, texts)
        window_vectors = np.zeros((0, self.coef.shape[1]), np.float32)
        if extra:
            from .embed import embed

            window_vectors = (embedder or embed)(extra)
            window_scores = score(window_vectors, extra)
            start = 0
            for row, windows in enumerate(parts):
                if windows:
                    best = window_scores[start : start + len(windows)].max(axis=0)
                    table[row] = np.maximum(table[row], best)
                    start += len(windows)
        return table, parts, window_vectors

    def suggest(
        self, vectors: Vectors, texts: Sequence[str], *, adjust: Adjust | None = None
    ) -> list[Suggestion]:
        """Suggested kinds, each with its likeliest subthemes, all scores and reasons, per text.

        ``adjust`` (an organisation's adaptation) may change the table of calibrated scores
        before the thresholds are applied. Windows of long texts are embedded here.
        """
        table, parts, window_vectors = self._windowed(vectors, texts, None, True)
        if adjust is not None:
            table = np.asarray(adjust(table, vectors), dtype=np.float32)
        found: list[Suggestion] = []
        start = 0
        word_rows = _words(self.vocabulary, self.idf, texts).tocsr() if len(texts) else None
        for row, (suggestion, text, windows) in enumerate(
            zip(self.suggest_from_scores(table), texts, parts, strict=True)
        ):
            labels = (*suggestion.kinds, *suggestion.subthemes)
            mine = window_vectors[start : start + len(windows)]
            start += len(windows)
            words = word_rows[row] if word_rows is not None else None
            reasons = self.reasons(text, labels, windows, mine, word_row=words)
            found.append(replace(suggestion, reasons=reasons))
        return found

    def reasons(
        self,
        text: str,
        labels: Sequence[str],
        windows: Sequence[tuple[int, int]] = (),
        window_vectors: Vectors | None = None,
        *,
        word_row: Any = None,
    ) -> dict[str, tuple[tuple[int, int], ...]]:
        """For each label, the spans of ``text`` (whole words, at most MAX_REASONS, in reading
        order) of the words that drove it.

        Both views speak: the word view names the words (and word pairs) that added most to the
        label's score; the meaning view names the window (of a long text) it liked best, whose
        words go first. Neighbouring words are joined into one span ("asked what mattered"); words
        that carry no meaning on their own ("to", "me") are never marked alone. When no word
        stands out, the best window itself is the reason. ``word_row`` is the text's TF-IDF row,
        if the caller has it (one batch for many texts is much quicker).
        """
        index = {label: i for i, label in enumerate(self.labels)}
        row = word_row if word_row is not None else _words(self.vocabulary, self.idf, [text])
        row = row.tocsr()
        present = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        terms = self._terms()
        tokens = [
            (match.start(), match.end(), _stem(match.group()))
            for match in re.finditer(r"\b\w\w+\b", text.lower())
        ]
        found: dict[str, tuple[tuple[int, int], ...]] = {}
        for label in labels:
            if label not in index:
                continue
            col = index[label]
            best_window: tuple[int, int] | None = None
            if len(windows) and window_vectors is not None and len(window_vectors):
                meaning = window_vectors @ self.coef[col] + self.intercept[col]
                best_window = windows[int(np.argmax(meaning))]
            weights = self.word_coef[col]
            ranked = sorted(
                ((float(weights[c]) * value, terms[c]) for c, value in present.items()),
                reverse=True,
            )
            strongest = ranked[0][0] if ranked else 0.0
            candidates: list[tuple[int, int]] = []
            for contribution, term in ranked:
                # A word adding under a quarter of the strongest word's share is no reason.
                if contribution <= 0 or contribution < strongest / 4:
                    break
                if all(word in _stop_stems() for word in term.split(" ")):
                    continue
                candidates += _term_spans(term, tokens, _stop_stems())
            if best_window is not None:
                first, last = best_window
                # The words of the window the meaning view liked best, if any drove the words.
                inside = [s for s in candidates if first <= s[0] and s[1] <= last]
                candidates = inside or candidates
            spans: list[tuple[int, int]] = []
            for span in candidates:
                if len(spans) >= MAX_REASONS:
                    break
                if not any(a < span[1] and span[0] < b for a, b in spans):
                    spans.append(span)
            if not spans and best_window is not None:
                spans = [best_window]
            found[label] = _joined(text, spans)
        return found

    def _terms(self) -> dict[int, str]:
        """TF-IDF columns -> terms (built once per model)."""
        if self._columns is None:
            self._columns = {column: term for term, column in self.vocabulary.items()}
        return self._columns

    def suggest_from_scores(self, table: npt.NDArray[np.float32]) -> list[Suggestion]:
        """Turn a table of label scores (rows by labels) into suggestions."""
        index = {label: i for i, label in enumerate(self.labels)}
        found: list[Suggestion] = []
        for row in table:
            scores = {label: round(float(row[i]), 4) for i, label in enumerate(self.labels)}
            kinds = tuple(
                k for k in KINDS if k in index and row[index[k]] >= self.thresholds[index[k]]
            )
            subthemes: list[str] = []
            for kind in kinds:
                members = [
                    s for s, k in self.kind_of.items() if k == kind and self.trained[index[s]]
                ]
                members.sort(key=lambda s: -scores[s])
                likely = [s for s in members if scores[s] >= self.thresholds[index[s]]]
                subthemes += (likely or members[:1])[:MAX_SUBTHEMES_PER_KIND]
            found.append(Suggestion(kinds, tuple(subthemes), scores))
        return found

    # -- storing -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        header = {
            "format": FORMAT,
            "labels": list(self.labels),
            "kind_of": self.kind_of,
            "vocabulary": self.vocabulary,
            "meta": self.meta,
        }
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            coef=self.coef,
            intercept=self.intercept,
            trained=self.trained,
            idf=self.idf,
            word_coef=self.word_coef,
            word_intercept=self.word_intercept,
            memory=self.memory,
            memory_targets=self.memory_targets,
            calibration=self.calibration,
            thresholds=self.thresholds,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ThemeModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode())
            if header.get("format") not in (3, FORMAT):
                raise ValueError("This theme model was saved by another version of storyhub.")
            # Format 3 (an organisation's refitted tagger saved before calibration) had none.
            calibrated = "calibration" in arrays.files
            return cls(
                labels=tuple(header["labels"]),
                kind_of=dict(header["kind_of"]),
                coef=arrays["coef"],
                intercept=arrays["intercept"],
                trained=arrays["trained"],
                vocabulary=dict(header["vocabulary"]),
                idf=arrays["idf"],
                word_coef=arrays["word_coef"],
                word_intercept=arrays["word_intercept"],
                memory=arrays["memory"],
                memory_targets=arrays["memory_targets"],
                meta=dict(header["meta"]),
                calibration=arrays["calibration"] if calibrated else np.zeros((0, 2), np.float32),
                thresholds=arrays["thresholds"] if calibrated else np.zeros(0, np.float32),
            )


# Passages longer than this many words are also scored in windows of a few sentences.
LONG_PASSAGE_WORDS: Final = 20
WINDOW_WORDS: Final = 15


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends (a sentence ends at . ! or ?)."""
    spans, start = [], 0
    for gap in re.finditer(r"(?<=[.!?])\s+", text):
        spans.append((start, gap.start()))
        start = gap.end()
    spans.append((start, len(text)))
    trimmed = []
    for first, last in spans:
        while first < last and text[first].isspace():
            first += 1
        while last > first and text[last - 1].isspace():
            last -= 1
        if first < last:
            trimmed.append((first, last))
    return trimmed


def window_spans(text: str) -> list[tuple[int, int]]:
    """Windows of consecutive sentences (up to about WINDOW_WORDS words, one sentence further on
    each time) of a long text, as (start, end); none for a short one, which is scored whole."""
    if len(text.split()) <= LONG_PASSAGE_WORDS:
        return []
    sentences = _sentence_spans(text)
    sizes = [len(text[first:last].split()) for first, last in sentences]
    windows: list[tuple[int, int]] = []
    for first in range(len(sentences)):
        words, last = 0, first
        while last < len(sentences) and (last == first or words + sizes[last] <= WINDOW_WORDS):
            words += sizes[last]
            last += 1
        window = (sentences[first][0], sentences[last - 1][1])
        if not windows or window[1] > windows[-1][1]:  # not inside the one before
            windows.append(window)
        if last == len(sentences):
            break
    return windows


def split_windows(text: str) -> list[str]:
    """The texts of ``window_spans``."""
    return [text[first:last] for first, last in window_spans(text)]


def _joined(text: str, spans: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Spans in reading order, neighbours joined into one when only spaces or a word or two of no
    meaning on their own lie between ("asked" and "mattered" make "asked what mattered")."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        gap = text[joined[-1][1] : first] if joined else "x"
        words = re.findall(r"\w+|[^\w\s]", gap.lower())
        short = joined and len(text[joined[-1][0] : last].split()) <= MAX_REASON_WORDS
        if short and len(words) <= 2 and all(_stem(w) in _stop_stems() for w in words):
            joined[-1] = (joined[-1][0], max(last, joined[-1][1]))
        else:
            joined.append((first, last))
    return tuple(joined)


def _sigmoid(logits: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|es|s|ly)$", "", word) if len(word) > 4 else word


@functools.cache
def _stop_stems() -> frozenset[str]:
    """Words that are never a reason on their own: scikit-learn's English stop words, stemmed."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(_stem(word) for word in ENGLISH_STOP_WORDS)


def word_stems(text: str) -> list[str]:
    """Words with their commonest endings cut ("listened", "listen" and "listens" agree), so the
    word view copes with the tenses people use and the ones Whisper mishears."""
    return [_stem(word) for word in re.findall(r"\b\w\w+\b", text.lower())]


def _term_spans(
    term: str, tokens: Sequence[tuple[int, int, str]], stop: frozenset[str] = frozenset()
) -> list[tuple[int, int]]:
    """Where a TF-IDF term (a stem, or two stems) occurs among ``tokens`` (start, end, stem),
    leaving out a ``stop`` word at either end of a pair ("and asked" marks "asked")."""
    stems = term.split(" ")
    keep = [i for i, stem in enumerate(stems) if stem not in stop] or list(range(len(stems)))
    spans = []
    for i in range(len(tokens) - len(stems) + 1):
        if all(tokens[i + j][2] == stem for j, stem in enumerate(stems)):
            spans.append((tokens[i + keep[0]][0], tokens[i + keep[-1]][1]))
    return spans


_TFIDF: Final[dict[str, Any]] = {
    "ngram_range": (1, 2),
    "sublinear_tf": True,
    "tokenizer": word_stems,
    "token_pattern": None,
}


def _words(vocabulary: dict[str, int], idf: npt.NDArray[np.float64], texts: Sequence[str]) -> Any:
    """TF-IDF rows (sparse) of ``texts`` over a fixed vocabulary."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(vocabulary=vocabulary, **_TFIDF)
    vectorizer.idf_ = idf
    return vectorizer.transform(list(texts))


# -- fitting -----------------------------------------------------------------------------------


def _targets(examples: Sequence[Example], labels: Sequence[str]) -> npt.NDArray[np.int8]:
    """examples by labels: 1 present, 0 absent, -1 unknown."""
    table = np.full((len(examples), len(labels)), -1, dtype=np.int8)
    for row, example in enumerate(examples):
        for col, label in enumerate(labels):
            if label in example.positive:
                table[row, col] = 1
            elif example.negative is None or label in example.negative:
                table[row, col] = 0
    return table


def with_kinds(examples: Sequence[Example], kind_of: Mapping[str, str]) -> list[Example]:
    """The examples with the kinds their subthemes imply added to what is present."""
    return [
        replace(e, positive=e.positive | {kind_of[s] for s in e.positive if s in kind_of})
        for e in examples
    ]


def _fit(x: Any, y: npt.NDArray[np.int8], weights: npt.NDArray[np.float64], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    # liblinear: the same fit as lbfgs here, three times faster (cross-validation fits many).
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, solver="liblinear")
    model.fit(x, y, sample_weight=weights)
    return model


def fit(
    examples: Sequence[Example],
    vectors: Vectors,
    kind_of: Mapping[str, str],
    *,
    c: float = 1.0,
    word_c: float | None = None,
    mix: float = 0.5,
    meta: Mapping[str, Any] | None = None,
) -> ThemeModel:
    """Train a tagger on ``examples`` (whose embeddings are the rows of ``vectors``).

    ``kind_of`` maps every subtheme key to its kind; labels are the kinds, then the subthemes.
    A label with fewer than two positive or two negative examples gets no classifier yet (it is
    never suggested) until curators have tagged enough. ``c`` and ``word_c`` are the two views'
    regularisation (``word_c`` defaults to ``c``); ``mix`` is the meaning view's share of a score.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = tuple(KINDS) + tuple(kind_of)
    examples = with_kinds(examples, kind_of)
    targets = _targets(examples, labels)
    weights = np.array([e.weight for e in examples], dtype=np.float64)
    vectorizer = TfidfVectorizer(min_df=2, **_TFIDF).fit([e.text for e in examples])
    word_rows = vectorizer.transform([e.text for e in examples])
    terms = len(vectorizer.vocabulary_)
    coef = np.zeros((len(labels), vectors.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(labels), dtype=np.float32)
    word_coef = np.zeros((len(labels), terms), dtype=np.float32)
    word_intercept = np.zeros(len(labels), dtype=np.float32)
    trained = np.zeros(len(labels), dtype=bool)
    for col in range(len(labels)):
        known = np.flatnonzero(targets[:, col] >= 0)
        y = targets[known, col]
        if int(np.sum(y == 1)) < 2 or int(np.sum(y == 0)) < 2:
            continue
        meaning = _fit(vectors[known], y, weights[known], c)
        words = _fit(word_rows[known], y, weights[known], c if word_c is None else word_c)
        coef[col], intercept[col] = meaning.coef_[0], meaning.intercept_[0]
        word_coef[col], word_intercept[col] = words.coef_[0], words.intercept_[0]
        trained[col] = True
    curator = [i for i, e in enumerate(examples) if e.from_curator]
    return ThemeModel(
        labels=labels,
        kind_of=dict(kind_of),
        coef=coef,
        intercept=intercept,
        trained=trained,
        vocabulary={term: int(i) for term, i in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        word_coef=word_coef,
        word_intercept=word_intercept,
        memory=vectors[curator].astype(np.float16)
        if curator
        else np.zeros((0, vectors.shape[1]), np.float16),
        memory_targets=targets[curator] if curator else np.zeros((0, len(labels)), np.int8),
        meta={
            "embedder": MODEL_NAME,
            "examples": len(examples),
            "curator_examples": len(curator),
            "c": c,
            "word_c": c if word_c is None else word_c,
            "mix": mix,
            **(meta or {}),
        },
    )
