"""The theme tagger: per-label logistic regressions on two views of the text, plus a memory.

Labels are the three kinds and every subtheme. Each has its own binary classifiers (a passage may
carry several themes), trained on labelled examples: the seed set this project wrote, the
taxonomy's own descriptions, and, once an organisation uses storyhub, its curators' confirmed and
rejected tags (weighted higher, because they are the organisation's own judgement).

The two views are a sentence embedding (meaning, whatever the words) and TF-IDF word and word-pair
counts (the phrases people in care actually use); a label's score is the mean of the two
classifiers' probabilities. On the measuring set the pair beats either alone (see bench/README).
Classes are weighted to balance, so 0.5 is each label's natural decision point: a kind is
suggested at 0.5 or more, with its likeliest subthemes.

The *memory* holds the curators' examples themselves: a new passage very close to one a curator
tagged leans towards that curator's decision, so a confirmation shows in the next suggestion for
similar words even before it shifts the regression much.

A model is plain numbers (numpy arrays and a little JSON), saved as bytes so the database can hold
it and every worker read the same one.
"""

from __future__ import annotations

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

FORMAT: Final = 3
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

    # -- scoring -------------------------------------------------------------------------------

    def scores(self, vectors: Vectors, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Each label's probability for each text (rows by labels); unfitted labels score 0.

        ``vectors`` are the texts' embeddings (the caller usually has them cached).
        """
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        meaning = _sigmoid(vectors @ self.coef.T + self.intercept)
        words = _sigmoid(_words(self.vocabulary, self.idf, texts) @ self.word_coef.T
                         + self.word_intercept)  # fmt: skip
        probs = ((meaning + words) / 2).astype(np.float32)
        probs[:, ~self.trained] = 0.0
        if len(self.memory):
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

    def suggest(
        self, vectors: Vectors, texts: Sequence[str], *, adjust: Adjust | None = None
    ) -> list[Suggestion]:
        """Suggested kinds, each with its likeliest subthemes, all scores and reasons, per text.

        ``adjust`` (an organisation's adaptation) may change the score table before thresholds.

        A passage of speech often holds several themes in different sentences ("My name is Mary.
        The carer listened to me. Now I see my friends again."), which one embedding of the whole
        blurs; so any text over LONG_PASSAGE_WORDS is also scored in windows of a sentence or two,
        and each label keeps its best score. ``vectors`` are the embeddings of ``texts`` themselves;
        windows are embedded here.
        """
        from .embed import embed

        parts = [split_windows(text) for text in texts]
        extra = [w for p in parts for w in p]
        table = self.scores(vectors, texts)
        if extra:
            window_scores = self.scores(embed(extra), extra)
            start = 0
            for row, windows in enumerate(parts):
                if windows:
                    best = window_scores[start : start + len(windows)].max(axis=0)
                    table[row] = np.maximum(table[row], best)
                    start += len(windows)
        if adjust is not None:
            table = np.asarray(adjust(table, vectors), dtype=np.float32)
        found = self.suggest_from_scores(table)
        return [
            replace(s, reasons=self.reasons(text, (*s.kinds, *s.subthemes)))
            for s, text in zip(found, texts, strict=True)
        ]

    def reasons(self, text: str, labels: Sequence[str]) -> dict[str, tuple[tuple[int, int], ...]]:
        """For each label, the spans of ``text`` whose words (or word pairs) added most to its
        word-view score: whole words, strongest first, at most MAX_REASONS."""
        index = {label: i for i, label in enumerate(self.labels)}
        row = _words(self.vocabulary, self.idf, [text]).tocsr()
        terms = {column: value for column, value in zip(row.indices, row.data, strict=True)}
        by_term = {term: column for term, column in self.vocabulary.items() if column in terms}
        tokens = [
            (match.start(), match.end(), _stem(match.group()))
            for match in re.finditer(r"\b\w\w+\b", text.lower())
        ]
        found: dict[str, tuple[tuple[int, int], ...]] = {}
        for label in labels:
            if label not in index:
                continue
            weights = self.word_coef[index[label]]
            ranked = sorted(
                (
                    (float(weights[column]) * terms[column], term)
                    for term, column in by_term.items()
                ),
                reverse=True,
            )
            spans: list[tuple[int, int]] = []
            for contribution, term in ranked:
                if contribution <= 0 or len(spans) >= MAX_REASONS:
                    break
                for span in _term_spans(term, tokens):
                    if not any(a < span[1] and span[0] < b for a, b in spans):
                        spans.append(span)
            found[label] = tuple(spans[:MAX_REASONS])
        return found

    def suggest_from_scores(self, table: npt.NDArray[np.float32]) -> list[Suggestion]:
        """Turn a table of label scores (rows by labels) into suggestions."""
        index = {label: i for i, label in enumerate(self.labels)}
        found: list[Suggestion] = []
        for row in table:
            scores = {label: round(float(row[i]), 4) for i, label in enumerate(self.labels)}
            kinds = tuple(k for k in KINDS if k in index and row[index[k]] >= THRESHOLD)
            subthemes: list[str] = []
            for kind in kinds:
                members = [
                    s for s, k in self.kind_of.items() if k == kind and self.trained[index[s]]
                ]
                members.sort(key=lambda s: -scores[s])
                likely = [s for s in members if scores[s] >= THRESHOLD]
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
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ThemeModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode())
            if header.get("format") != FORMAT:
                raise ValueError("This theme model was saved by another version of storyhub.")
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
            )


# Passages longer than this many words are also scored in windows of a few sentences.
LONG_PASSAGE_WORDS: Final = 20
WINDOW_WORDS: Final = 15


def split_windows(text: str) -> list[str]:
    """Windows of consecutive sentences (up to about WINDOW_WORDS words, one sentence further on
    each time) of a long text; none for a short one, which is scored whole."""
    if len(text.split()) <= LONG_PASSAGE_WORDS:
        return []
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    windows: list[str] = []
    for first in range(len(sentences)):
        words, last = 0, first
        while last < len(sentences) and (
            last == first or words + len(sentences[last].split()) <= WINDOW_WORDS
        ):
            words += len(sentences[last].split())
            last += 1
        window = " ".join(sentences[first:last])
        if not windows or window not in windows[-1]:
            windows.append(window)
        if last == len(sentences):
            break
    return windows


def _sigmoid(logits: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|es|s|ly)$", "", word) if len(word) > 4 else word


def word_stems(text: str) -> list[str]:
    """Words with their commonest endings cut ("listened", "listen" and "listens" agree), so the
    word view copes with the tenses people use and the ones Whisper mishears."""
    return [_stem(word) for word in re.findall(r"\b\w\w+\b", text.lower())]


def _term_spans(term: str, tokens: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Where a TF-IDF term (a stem, or two stems) occurs among ``tokens`` (start, end, stem)."""
    stems = term.split(" ")
    spans = []
    for i in range(len(tokens) - len(stems) + 1):
        if all(tokens[i + j][2] == stem for j, stem in enumerate(stems)):
            spans.append((tokens[i][0], tokens[i + len(stems) - 1][1]))
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


def _fit(x: Any, y: npt.NDArray[np.int8], weights: npt.NDArray[np.float64], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit(x, y, sample_weight=weights)
    return model


def fit(
    examples: Sequence[Example],
    vectors: Vectors,
    kind_of: Mapping[str, str],
    *,
    c: float = 1.0,
    meta: Mapping[str, Any] | None = None,
) -> ThemeModel:
    """Train a tagger on ``examples`` (whose embeddings are the rows of ``vectors``).

    ``kind_of`` maps every subtheme key to its kind; labels are the kinds, then the subthemes.
    A label with fewer than two positive or two negative examples gets no classifier yet (it is
    never suggested) until curators have tagged enough.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = tuple(KINDS) + tuple(kind_of)
    # An example's subthemes imply their kinds.
    examples = [
        Example(
            e.text,
            e.positive | {kind_of[s] for s in e.positive if s in kind_of},
            e.negative,
            e.weight,
            e.from_curator,
        )
        for e in examples
    ]
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
        words = _fit(word_rows[known], y, weights[known], c)
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
            **(meta or {}),
        },
    )
