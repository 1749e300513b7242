"""Keeping the search index in step with the database, which is always the truth.

1. Listeners note every story whose words, themes, details or consent changed in a flush, and
   write a ``SearchChange`` row in the same transaction (so a rolled-back change leaves none).
2. After the commit, the ``search_sync`` task is sent to the worker. It reads each changed
   story as it is now and replaces that story's documents in the index. Running it twice does
   no harm; a change it missed (worker down) waits in the table for the next run or sweep.
3. ``reindex`` rebuilds the whole index from the database into a new index and switches to it,
   then replays the changes made while it was building.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session, selectinload

from consent import listed_in_search, shared_audiences
from consent.models import ConsentVersion
from media_pipeline.tagger.embed import DIMENSIONS
from search import FOREVER, PassageDocument, SearchBackend, day_number, make_backend
from storyhub import jobs
from storyhub.extensions import N_, db
from storyhub.finder import meaning
from storyhub.finder.models import SearchChange
from storyhub.models import Passage, Story, Transcript, as_utc, utcnow
from storyhub.themes.models import PassageTheme, TagStatus
from storyhub.themes.services import vectors_for

log = logging.getLogger(__name__)

BACKEND_EXTENSION = "storyhub.finder"
SYNC_TASK = "search_sync"
REINDEX_JOB = "reindex_search"
TOUCHED_KEY = "storyhub.search_touched"
SYNC_BATCH = 200
KEEP_DONE_FOR = timedelta(days=7)

# One sync at a time in a process: two overlapping runs could write one story's older state
# after its newer one.
_sync_lock = threading.Lock()


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's search engine, made from its settings on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend: SearchBackend | None = app.extensions.get(BACKEND_EXTENSION)
    if backend is None:
        config = app.config
        backend = make_backend(
            config["SEARCH_URL"],
            config["SEARCH_PATH"],
            alias=config["SEARCH_INDEX"],
            shards=config["SEARCH_SHARDS"],
            replicas=config["SEARCH_REPLICAS"],
            refresh=config["SEARCH_REFRESH"],
            dimensions=DIMENSIONS,
        )
        app.extensions[BACKEND_EXTENSION] = backend
    return backend


# --- 1. noting what changed ----------------------------------------------------------------


# A story's columns that the index carries; other changes (e.g. a new job) need no reindex.
INDEXED_STORY_COLUMNS = ("language", "teller_kind", "setting", "storyteller_id", "consent_id")


def _changed(obj: Any, columns: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _story_ids(session: Session) -> set[int]:
    """Stories whose indexed facts may have changed in this flush."""
    ids: set[int] = set()
    passage_ids: set[int] = set()
    with_new_words: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, Story) and _changed(obj, INDEXED_STORY_COLUMNS):
            ids.add(obj.id)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Passage):
            with_new_words.add(obj.story_id)
        elif isinstance(obj, ConsentVersion):
            ids.add(obj.story_id)
        elif isinstance(obj, Transcript) and _changed(obj, ("recognition",)):
            ids.add(obj.story_id)  # words a person has now checked may be found (consent)
        elif isinstance(obj, PassageTheme) and (
            obj.status == TagStatus.CONFIRMED or _changed(obj, ("status", "passage_id"))
        ):
            passage_ids.add(obj.passage_id)
    connection = session.connection()
    if passage_ids:
        ids.update(connection.scalars(select(Passage.story_id).where(Passage.id.in_(passage_ids))))
    # A story without words is in no index (e.g. a new upload's first consent): nothing to do.
    unsure = ids - with_new_words
    if unsure:
        have_words = set(
            connection.scalars(
                select(Passage.story_id).where(Passage.story_id.in_(unsure)).distinct()
            )
        )
        ids -= unsure - have_words
    return ids | with_new_words


def _note_changes(session: Session, _context: Any) -> None:
    touched: set[int] = session.info.setdefault(TOUCHED_KEY, set())
    new = _story_ids(session) - touched
    if new:
        now = utcnow()
        session.connection().execute(
            insert(SearchChange), [{"story_id": sid, "created_at": now} for sid in sorted(new)]
        )
        touched.update(new)


def _send_sync(session: Session) -> None:
    if session.info.pop(TOUCHED_KEY, None):
        jobs.send(SYNC_TASK)


def _forget_changes(session: Session) -> None:
    session.info.pop(TOUCHED_KEY, None)


def watch_changes() -> None:
    """Note changed stories on the app's sessions (Flask-SQLAlchemy's, not every SQLAlchemy
    session in the process), and ask for a sync after each commit that changed any."""
    for name, listener in (
        ("after_flush", _note_changes),
        ("after_commit", _send_sync),
        ("after_rollback", _forget_changes),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


# --- 2. bringing the index up to date -------------------------------------------------------


def documents_for(story: Story, *, warm_sentences: bool = False) -> list[PassageDocument]:
    """The index documents of ``story`` as it is now (none when it must not be found).

    ``warm_sentences``: also put the passages' sentences in the embeddings cache (see
    ``_meaning_vectors``); the sync does, for the stories it is told about, and a rebuild
    does not, so rebuilding a large archive never waits on embedding every sentence in it.
    """
    if not listed_in_search(story) or not story.passages:
        return []
    consent = story.consent
    audiences = shared_audiences(consent)
    review_by = day_number(consent.review_date) if consent and consent.review_date else FOREVER
    story_date = day_number(as_utc(story.created_at).date()) or 0
    vectors = _meaning_vectors(story, warm_sentences)
    documents = []
    for passage, vector in zip(story.passages, vectors, strict=True):
        confirmed = [t.subtheme for t in passage.themes if t.status == TagStatus.CONFIRMED]
        documents.append(
            PassageDocument(
                passage_id=passage.id,
                story_id=story.id,
                position=passage.position,
                start=passage.start,
                end=passage.end,
                text=passage.text,
                language=story.language.value,
                teller_kind=story.teller_kind.value,
                setting=story.setting.value,
                story_date=story_date,
                kinds=tuple(sorted({s.kind.value for s in confirmed})),
                subthemes=tuple(sorted({s.key for s in confirmed})),
                teller_id=story.storyteller_id,
                audiences=audiences,
                review_by=review_by or FOREVER,
                vector=vector,
            )
        )
    return documents


def _meaning_vectors(story: Story, warm_sentences: bool) -> list[Any]:
    """Each passage's embedding, for search by meaning (from the embeddings cache; computed once
    per text). None for every passage in a language the model does not understand.

    The passages' sentences are embedded into the cache too, here on the worker, so a search
    page that marks a passage's closest sentence finds them ready instead of embedding them.
    """
    if not meaning.understands(story.language.value):
        return [None] * len(story.passages)
    texts = [passage.text for passage in story.passages]
    if warm_sentences:
        vectors_for(meaning.sentences_to_mark(texts))
    return list(vectors_for(texts))


def _load_stories(story_ids: list[int], session: Session | None = None) -> dict[int, Story]:
    stories = (
        (session or db.session)
        .scalars(
            select(Story)
            .where(Story.id.in_(story_ids))
            .options(
                selectinload(Story.passages).selectinload(Passage.themes),
                selectinload(Story.consent),
            )
        )
        .all()
    )
    return {story.id: story for story in stories}


def sync_task() -> None:
    """The worker's task: index what is waiting."""
    sync_pending()


def sync_pending() -> int:
    """Index every story with changes waiting; returns how many stories were written."""
    backend = get_backend()
    written = 0
    with _sync_lock:
        while True:
            rows = db.session.execute(
                select(SearchChange.id, SearchChange.story_id)
                .where(SearchChange.done_at.is_(None))
                .order_by(SearchChange.id)
                .limit(SYNC_BATCH)
            ).all()
            if not rows:
                break
            story_ids = sorted({row.story_id for row in rows})
            stories = _load_stories(story_ids)
            documents = {
                sid: documents_for(stories[sid], warm_sentences=True) if sid in stories else []
                for sid in story_ids
            }
            # End the read (keeping any embeddings just computed): the engine may take a moment.
            db.session.commit()
            backend.replace_stories(documents)
            db.session.execute(
                update(SearchChange)
                .where(SearchChange.id.in_([row.id for row in rows]))
                .values(done_at=utcnow())
            )
            db.session.commit()
            written += len(story_ids)
        db.session.execute(
            delete(SearchChange).where(SearchChange.done_at < utcnow() - KEEP_DONE_FOR)
        )
        db.session.commit()
    return written


# --- 3. rebuilding from the database ---------------------------------------------------------


def all_documents(batch: int = 200) -> Iterator[PassageDocument]:
    """Every document the index should hold, read a batch of stories at a time.

    It reads in a session of its own, emptied after each batch, so memory stays flat on a large
    archive and the caller's objects are left alone.
    """
    last = 0
    with Session(db.engine) as session:
        while True:
            ids = session.scalars(
                select(Story.id).where(Story.id > last).order_by(Story.id).limit(batch)
            ).all()
            if not ids:
                return
            stories = _load_stories(list(ids), session)
            for story_id in ids:
                yield from documents_for(stories[story_id])
            last = ids[-1]
            session.expunge_all()


def reindex(progress: Callable[[int], None] = lambda n: None) -> int:
    """Rebuild the index from the database without search going dark; returns documents written.

    Changes committed while the new index was being filled were written to the old one; they
    are marked as waiting again and synced into the new one after the switch.
    """
    started = utcnow()
    backend = get_backend()
    backend.ensure()
    count = backend.rebuild(all_documents(), progress)
    db.session.execute(
        update(SearchChange).where(SearchChange.created_at >= started).values(done_at=None)
    )
    db.session.commit()
    sync_pending()
    return count


def reindex_job(context: jobs.JobContext) -> None:
    """The admin page's "Rebuild the index", with a progress bar."""
    total = max(1, db.session.scalar(select(func.count()).select_from(Passage)) or 0)
    # Job messages are stored in English and translated where shown: no numbers in them (the
    # bar shows how far it got, the admin page how many passages the index holds).
    context.report(0.0, N_("Rebuilding the search index"))
    reindex(lambda n: context.report(min(0.99, n / total)))
    context.report(1.0, N_("The search index is rebuilt."))


def index_lag() -> dict[str, Any]:
    """How far behind the database the index is: changes waiting, and the oldest one's age."""
    waiting = (
        db.session.execute(
            select(SearchChange.created_at)
            .where(SearchChange.done_at.is_(None))
            .order_by(SearchChange.id)
        )
        .scalars()
        .all()
    )
    last_done = db.session.scalar(
        select(SearchChange.done_at)
        .where(SearchChange.done_at.is_not(None))
        .order_by(SearchChange.done_at.desc())
        .limit(1)
    )
    oldest = as_utc(waiting[0]) if waiting else None
    return {
        "waiting": len(waiting),
        "oldest_seconds": (utcnow() - oldest).total_seconds() if oldest else 0.0,
        "last_synced_at": as_utc(last_done) if last_done else None,
    }
