"""Outcome themes in the archive: the live taxonomy, suggestions, curators' decisions, learning.

- The taxonomy is loaded from the project's copy (media_pipeline/tagger/taxonomy.json) on set-up;
  administrators add and rename subthemes. A subtheme's ``key`` never changes, so renaming keeps
  every tag and every trained tagger valid.
- The pipeline asks for suggestions for each new passage (English passages: the embedding model
  is English-only, and a wrong suggestion costs a curator more than none).
- Curators confirm, reject or add themes, on whole passages or spans of words; each decision
  records who and when, and schedules a refit: the tagger learns from the organisation's own
  confirmed and rejected tags on top of the shipped seed set.

Who may tag is asked of consent/ (``can_curate``); this module trusts its callers on that.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from consent.models import ConsentStatus, ConsentVersion
from media_pipeline.tagger import (
    KINDS,
    MODEL_NAME,
    Example,
    ThemeModel,
    embed,
    fit,
    fitting_set,
    shipped_model,
    shipped_taxonomy,
)
from media_pipeline.tagger.embed import Vectors
from storyhub import audit, jobs
from storyhub.extensions import db
from storyhub.models import Job, JobState, Passage, Story, User, utcnow
from storyhub.themes.models import (
    PassageTheme,
    Subtheme,
    TaggerModel,
    TagStatus,
    TextEmbedding,
    ThemeKind,
    Valence,
)
from storyhub.words import display_words

REFIT_TAGGER = "refit_tagger"
SUGGEST_THEMES = "suggest_themes"
# A curator's decision counts for more than a seed passage: it is this organisation's judgement.
CURATOR_WEIGHT = 3.0
KEEP_TAGGERS = 3
# Languages the embedding model understands.
TAGGED_LANGUAGES = frozenset({"en"})


class ThemeError(ValueError):
    """A theme change that can't be made; the message is shown to the curator as it is."""


# -- the taxonomy ------------------------------------------------------------------------------


def load_taxonomy() -> int:
    """Add the shipped subthemes missing from the database; return how many were added.

    Existing rows are left alone, so an administrator's renaming survives set-up and upgrades.
    """
    have = set(db.session.scalars(select(Subtheme.key)))
    added = 0
    for position, sub in enumerate(shipped_taxonomy().subthemes):
        if sub.key not in have:
            db.session.add(
                Subtheme(
                    key=sub.key,
                    kind=ThemeKind(sub.kind),
                    label=sub.label,
                    description=sub.description,
                    position=position,
                )
            )
            added += 1
    db.session.flush()
    return added


def all_subthemes() -> list[Subtheme]:
    """Every subtheme, grouped by kind in the framework's order."""
    rows = list(db.session.scalars(select(Subtheme).order_by(Subtheme.position, Subtheme.id)))
    return sorted(rows, key=lambda s: KINDS.index(s.kind.value))


def subthemes_by_kind() -> list[tuple[ThemeKind, list[Subtheme]]]:
    rows = all_subthemes()
    return [(kind, [s for s in rows if s.kind == kind]) for kind in ThemeKind]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "theme"


def add_subtheme(kind: ThemeKind, label: str, description: str, by: User) -> Subtheme:
    """Add a subtheme to one of the three kinds."""
    label, description = label.strip(), description.strip()
    if not label:
        raise ThemeError("Please give the new theme a name.")
    if any(s.label.casefold() == label.casefold() for s in all_subthemes()):
        raise ThemeError(f"There is already a theme called “{label}”.")
    key, n = _slug(label), 1
    while db.session.scalar(select(Subtheme.id).where(Subtheme.key == key)) is not None:
        n += 1
        key = f"{_slug(label)}-{n}"
    position = (db.session.scalar(select(db.func.max(Subtheme.position))) or 0) + 1
    sub = Subtheme(key=key, kind=kind, label=label[:80], description=description, position=position)
    db.session.add(sub)
    db.session.flush()
    audit.record("theme.added", actor=by, object_type="subtheme", object_id=sub.id, key=key)
    return sub


def rename_subtheme(sub: Subtheme, label: str, description: str, by: User) -> Subtheme:
    """Rename a subtheme (its kind and key stay): its tags keep pointing at it."""
    label, description = label.strip(), description.strip()
    if not label:
        raise ThemeError("A theme needs a name.")
    if any(s.id != sub.id and s.label.casefold() == label.casefold() for s in all_subthemes()):
        raise ThemeError(f"There is already a theme called “{label}”.")
    old = sub.label
    sub.label, sub.description = label[:80], description
    audit.record(
        "theme.renamed", actor=by, object_type="subtheme", object_id=sub.id, old=old, new=sub.label
    )
    return sub


def confirmed_counts() -> dict[int, int]:
    """subtheme id → how many confirmed tags it has (shown to administrators)."""
    rows = db.session.execute(
        select(PassageTheme.subtheme_id, db.func.count())
        .where(PassageTheme.status == TagStatus.CONFIRMED)
        .group_by(PassageTheme.subtheme_id)
    )
    return {subtheme_id: count for subtheme_id, count in rows}


def kind_map() -> dict[str, str]:
    """subtheme key → kind, for the live taxonomy."""
    return {s.key: s.kind.value for s in all_subthemes()}


# -- embeddings, cached in the database ---------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\0{text}".encode()).hexdigest()


def vectors_for(texts: Sequence[str]) -> Vectors:
    """Embeddings of ``texts``, computing (and caching) only the ones not seen before."""
    digests = [_digest(t) for t in texts]
    known: dict[str, np.ndarray] = {}
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        for row in db.session.execute(
            select(TextEmbedding.digest, TextEmbedding.vector).where(
                TextEmbedding.digest.in_(chunk)
            )
        ):
            known[row.digest] = np.frombuffer(row.vector, dtype=np.float16).astype(np.float32)
    missing = [i for i, d in enumerate(digests) if d not in known]
    if missing:
        made = embed([texts[i] for i in missing])
        new: dict[str, bytes] = {}
        for i, vector in zip(missing, made, strict=True):
            if digests[i] not in known:
                known[digests[i]] = vector
                new[digests[i]] = vector.astype(np.float16).tobytes()
        _keep_embeddings(new)
    if not digests:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([known[d] for d in digests]).astype(np.float32)


def _keep_embeddings(vectors: dict[str, bytes]) -> None:
    """Cache new embeddings by digest, leaving any that another job stored meanwhile.

    Two stories with the same words (a "Thank you for listening.") can be processed at once, by
    two worker threads or processes: both find the digest missing, and a plain INSERT would fail
    the second story's whole job on the primary key.
    """
    rows = [{"digest": d, "vector": v, "created_at": utcnow()} for d, v in vectors.items()]
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        for row in rows:
            db.session.merge(TextEmbedding(**row))
        return
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    for start in range(0, len(rows), 500):
        db.session.execute(
            insert(TextEmbedding)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["digest"])
        )


# -- the current tagger -------------------------------------------------------------------------

_model_lock = threading.Lock()
_loaded: dict[int, ThemeModel] = {}


def current_tagger() -> tuple[ThemeModel, int | None]:
    """The newest refitted tagger and its id, or the shipped one (id None) before any."""
    newest = db.session.scalar(select(TaggerModel.id).order_by(TaggerModel.id.desc()).limit(1))
    if newest is None:
        return shipped_model(), None
    with _model_lock:
        if newest not in _loaded:
            data = db.session.scalar(select(TaggerModel.data).where(TaggerModel.id == newest))
            assert data is not None
            _loaded.clear()
            _loaded[newest] = ThemeModel.from_bytes(data)
        return _loaded[newest], newest


# -- suggestions --------------------------------------------------------------------------------


def passage_words_text(
    passage: Passage, start: float | None = None, end: float | None = None
) -> str:
    """The passage's words as shown (removed names stay removed), or those of a span of it."""

    words = display_words(passage)
    if start is not None and end is not None:
        words = [w for w in words if w["start"] >= start - 0.01 and w["end"] <= end + 0.01]
    return " ".join(str(w["text"]).strip() for w in words).strip()


def suggest(passages: Sequence[Passage]) -> int:
    """Suggest themes for ``passages``, replacing their earlier undecided suggestions.

    Confirmed and rejected tags stay as they are (and are never suggested again). Returns how
    many suggestions were made.
    """
    if not passages:
        return 0
    model, tagger_id = current_tagger()
    by_key = {s.key: s for s in all_subthemes()}
    now = utcnow()
    english = [p for p in passages if p.story.language.value in TAGGED_LANGUAGES]
    texts = [passage_words_text(p) for p in english]
    suggestions = model.suggest(vectors_for(texts), texts)
    made = 0
    for passage, suggestion in zip(english, suggestions, strict=True):
        for tag in [t for t in passage.themes if t.status == TagStatus.SUGGESTED]:
            passage.themes.remove(tag)
        decided = {t.subtheme.key for t in passage.themes if not t.is_span}
        for key in suggestion.subthemes:
            if key in decided or key not in by_key:
                continue
            passage.themes.append(
                PassageTheme(
                    subtheme=by_key[key],
                    status=TagStatus.SUGGESTED,
                    confidence=float(suggestion.scores[key]),
                    suggested_at=now,
                    tagger_id=tagger_id,
                )
            )
            made += 1
    for passage in passages:
        passage.themes_suggested_at = now
    return made


def suggest_for_story(story: Story, *, again: bool = False) -> int:
    """Suggest for the story's passages not yet looked at (or all of them, ``again``)."""
    todo = [p for p in story.passages if again or p.themes_suggested_at is None]
    return suggest(todo)


def schedule_suggestions(story: Story) -> None:
    """Ask the worker to suggest themes for passages that have none yet (after a split)."""
    jobs.submit(SUGGEST_THEMES, story, message="Suggesting themes")


def suggest_job(context: jobs.JobContext) -> None:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is None:
        return
    context.report(0.1, "Suggesting themes")
    suggest_for_story(story)
    db.session.commit()


# -- curators' decisions ------------------------------------------------------------------------


def _decide(tag: PassageTheme, status: TagStatus, by: User) -> PassageTheme:
    tag.status, tag.decided_by, tag.decided_at = status, by, utcnow()
    audit.record(
        f"theme.{status.value}",
        actor=by,
        object_type="passage",
        object_id=tag.passage_id,
        subtheme=tag.subtheme.key,
    )
    schedule_refit()
    return tag


def confirm(tag: PassageTheme, by: User, valence: Valence | None = None) -> PassageTheme:
    """A curator agrees with a theme (or confirms a rejected one after all)."""
    if valence is not None:
        tag.valence = valence
    return _decide(tag, TagStatus.CONFIRMED, by)


def reject(tag: PassageTheme, by: User) -> PassageTheme:
    """A curator disagrees (or takes back a confirmation); kept so the tagger learns from it."""
    return _decide(tag, TagStatus.REJECTED, by)


def set_valence(tag: PassageTheme, valence: Valence | None, by: User) -> PassageTheme:
    tag.valence = valence
    audit.record(
        "theme.valence",
        actor=by,
        object_type="passage",
        object_id=tag.passage_id,
        subtheme=tag.subtheme.key,
        valence=valence.value if valence else None,
    )
    return tag


def add_tag(
    passage: Passage,
    subtheme: Subtheme,
    by: User,
    *,
    span: tuple[float, float] | None = None,
    valence: Valence | None = None,
) -> PassageTheme:
    """A curator tags a passage, or a span of its words, with a theme (confirmed at once)."""
    if span is not None:
        start, end = span
        first = min([passage.start] + [float(w["start"]) for w in passage.words])
        last = max([passage.end] + [float(w["end"]) for w in passage.words])
        if not (first - 0.01 <= start < end <= last + 0.01):
            raise ThemeError("Choose words inside this passage.")
        if not passage_words_text(passage, start, end):
            raise ThemeError("Choose at least one word.")
    same = next(
        (
            t
            for t in passage.themes
            if t.subtheme_id == subtheme.id
            and (t.span_start, t.span_end) == (span if span else (None, None))
        ),
        None,
    )
    if same is not None:
        return confirm(same, by, valence)
    tag = PassageTheme(
        subtheme=subtheme,
        span_start=span[0] if span else None,
        span_end=span[1] if span else None,
        valence=valence,
    )
    passage.themes.append(tag)
    return confirm(tag, by)


def confirm_all(passage: Passage, by: User) -> int:
    """Confirm every suggestion waiting on a passage."""
    waiting = [t for t in passage.themes if t.status == TagStatus.SUGGESTED]
    for tag in waiting:
        confirm(tag, by)
    return len(waiting)


# -- following the words through splits and joins -----------------------------------------------


def after_split(first: Passage, second: Passage) -> None:
    """Spans move with their words; whole-passage decisions apply to both halves."""
    for tag in list(first.themes):
        if tag.is_span:
            assert tag.span_start is not None
            if tag.span_start >= second.start - 0.01:
                first.themes.remove(tag)
                second.themes.append(_copy(tag))
        elif tag.status == TagStatus.SUGGESTED:
            first.themes.remove(tag)  # suggested again for each half
        else:
            second.themes.append(_copy(tag))
    first.themes_suggested_at = None
    second.themes_suggested_at = None


def after_edit(passage: Passage) -> None:
    """Corrected words may say something else: undecided suggestions are made again for them.
    Curators' decisions stay (they were made on the words, and spans keep their times)."""
    for tag in [t for t in passage.themes if t.status == TagStatus.SUGGESTED]:
        passage.themes.remove(tag)
    passage.themes_suggested_at = None
    schedule_suggestions(passage.story)


def before_merge(kept: Passage, following: Passage) -> None:
    """Decisions on either part become spans over that part's words in the joined passage."""
    for part in (kept, following):
        for tag in list(part.themes):
            if tag.status == TagStatus.SUGGESTED:
                part.themes.remove(tag)
                continue
            if not tag.is_span:
                tag.span_start, tag.span_end = part.start, part.end
            if part is following:
                following.themes.remove(tag)
                kept.themes.append(_copy(tag))
    kept.themes_suggested_at = None


def _copy(tag: PassageTheme) -> PassageTheme:
    return PassageTheme(
        subtheme=tag.subtheme,
        status=tag.status,
        confidence=tag.confidence,
        span_start=tag.span_start,
        span_end=tag.span_end,
        valence=tag.valence,
        suggested_at=tag.suggested_at,
        tagger_id=tag.tagger_id,
        decided_by_id=tag.decided_by_id,
        decided_at=tag.decided_at,
    )


# -- learning from curators ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    passage: Passage
    span: tuple[float, float] | None


def curator_examples() -> list[Example]:
    """Every decided tag as training examples, grouped by passage (or span).

    Erased stories' tags are never used (their words are gone too).
    """
    erased = select(ConsentVersion.id).where(ConsentVersion.status == ConsentStatus.ERASED)
    tags = db.session.scalars(
        select(PassageTheme)
        .join(Passage, PassageTheme.passage_id == Passage.id)
        .join(Story, Passage.story_id == Story.id)
        .where(PassageTheme.status != TagStatus.SUGGESTED)
        .where((Story.consent_id.is_(None)) | (Story.consent_id.not_in(erased)))
        .order_by(PassageTheme.id)
    )
    groups: dict[_Group, tuple[set[str], set[str]]] = {}
    for tag in tags:
        span = (tag.span_start, tag.span_end) if tag.is_span else None
        key = _Group(tag.passage, span)  # type: ignore[arg-type]
        positive, negative = groups.setdefault(key, (set(), set()))
        (positive if tag.status == TagStatus.CONFIRMED else negative).add(tag.subtheme.key)
    examples = []
    for group, (positive, negative) in groups.items():
        start, end = group.span if group.span else (None, None)
        text = passage_words_text(group.passage, start, end)
        if text:
            examples.append(
                Example(
                    text,
                    frozenset(positive),
                    frozenset(negative - positive),
                    weight=CURATOR_WEIGHT,
                    from_curator=True,
                )
            )
    return examples


def forget_story_words(story: Story) -> None:
    """Delete a story's words and everything learnt from them (on erasure).

    Its passages go (and their themes with them), then its transcript and revisions; cached
    embeddings of its text are deleted, and the tagger is refitted without its examples.
    """
    from storyhub.models import TranscriptRevision

    texts = [passage_words_text(p) for p in story.passages]
    texts += [
        passage_words_text(p, t.span_start, t.span_end)
        for p in story.passages
        for t in p.themes
        if t.is_span
    ]
    learnt_from = any(t.status != TagStatus.SUGGESTED for p in story.passages for t in p.themes)
    for passage in list(story.passages):
        story.passages.remove(passage)
        db.session.delete(passage)
    if story.transcript is not None:
        db.session.delete(story.transcript)
    db.session.execute(delete(TranscriptRevision).where(TranscriptRevision.story_id == story.id))
    digests = [_digest(t) for t in texts if t]
    if digests:
        db.session.execute(delete(TextEmbedding).where(TextEmbedding.digest.in_(digests)))
    if learnt_from:
        # Older taggers remember its examples: drop them now, then learn again without them.
        db.session.execute(delete(TaggerModel))
        schedule_refit()


def schedule_refit() -> None:
    """Queue one refit (decisions made while one is waiting are picked up by it)."""
    waiting = db.session.scalar(
        select(Job.id).where(Job.kind == REFIT_TAGGER, Job.state == JobState.QUEUED).limit(1)
    )
    if waiting is None:
        jobs.submit(REFIT_TAGGER, message="Learning from confirmed themes")


def refit() -> TaggerModel | None:
    """Train a tagger on the seed set plus every curator decision; keep the newest few.

    Commits what came before it (it runs as a job of its own, or from the CLI).

    With no curator decisions left (all erased, say), the refitted taggers are dropped and the
    shipped one is used again.
    """
    curated = curator_examples()
    if not curated:
        db.session.execute(delete(TaggerModel))
        return None
    seed, seed_vectors = fitting_set()
    vectors = np.concatenate([seed_vectors, vectors_for([e.text for e in curated])])
    kinds = kind_map()
    # Training takes seconds: end the transaction first (it may hold the cache's new rows), so
    # the site's writes don't wait behind it on SQLite.
    db.session.commit()
    model = fit(seed + curated, vectors, kinds, meta={"source": "organisation"})
    row = TaggerModel(
        examples=len(seed) + len(curated), curator_examples=len(curated), data=model.to_bytes()
    )
    db.session.add(row)
    db.session.flush()
    old = list(
        db.session.scalars(
            select(TaggerModel.id).order_by(TaggerModel.id.desc()).offset(KEEP_TAGGERS)
        )
    )
    if old:
        db.session.execute(delete(TaggerModel).where(TaggerModel.id.in_(old)))
    return row


def refit_job(context: jobs.JobContext) -> None:
    context.report(0.1, "Learning from confirmed themes")
    refit()
    db.session.commit()
