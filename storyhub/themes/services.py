"""Outcome themes in the archive: the live taxonomy, suggestions, curators' decisions, learning.

- The taxonomy is loaded from the project's copy (media_pipeline/tagger/taxonomy.json) on set-up;
  administrators add and rename subthemes. A subtheme's ``key`` never changes, so renaming keeps
  every tag and every trained tagger valid.
- The pipeline asks for suggestions for each new passage (English passages: the embedding model
  is English-only, and a wrong suggestion costs a curator more than none).
- Curators confirm, reject or add themes, on whole passages or spans of words; each decision
  records who and when, and schedules a refit: the organisation's confirmed and rejected tags are
  learnt as a small adaptation on top of the shipped tagger (media_pipeline/tagger/learning.py),
  never by retraining it. Each adaptation is kept as a version an administrator can see and roll
  back; erasing a story drops every version that learnt from it.
- Each suggestion keeps the times of the words that drove it, which the curator's panel marks.

Who may tag is asked of consent/ (``can_curate``); this module trusts its callers on that.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from consent.models import ConsentStatus, ConsentVersion
from media_pipeline.tagger import (
    KINDS,
    MODEL_NAME,
    ThemeModel,
    embed,
    fitting_set,
    shipped_model,
    shipped_taxonomy,
)
from media_pipeline.tagger.embed import Vectors
from media_pipeline.tagger.learning import (
    Adaptation,
    Decision,
    LabelChange,
    base_scores,
    fit_adaptation,
)
from storyhub import audit, jobs
from storyhub.extensions import N_, db
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
# Versions of what was learnt kept for rolling back (the one in use is always kept).
KEEP_VERSIONS = 10
# A version's effect is measured at refit once curators decided on this many passages (every
# fifth is held back from a trial fit and scored with and without it).
MEASURE_FROM = 10
# An organisation's own theme is suggested when its adaptation scores it at least this.
OWN_THEME_THRESHOLD = 0.5
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


def _same_name(sub: Subtheme, label: str) -> bool:
    # As stored or as this page shows it: on a Welsh page a shipped name reads in Welsh, and a
    # new theme typed with that Welsh name would look like a second copy of it.
    return label.casefold() in (sub.label.casefold(), sub.shown_label.casefold())


def add_subtheme(kind: ThemeKind, label: str, description: str, by: User) -> Subtheme:
    """Add a subtheme to one of the three kinds."""
    label, description = label.strip(), description.strip()
    if not label:
        raise ThemeError(_("Please give the new theme a name."))
    if any(_same_name(s, label) for s in all_subthemes()):
        raise ThemeError(_("There is already a theme called “%(name)s”.", name=label))
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
        raise ThemeError(_("A theme needs a name."))
    if any(s.id != sub.id and _same_name(s, label) for s in all_subthemes()):
        raise ThemeError(_("There is already a theme called “%(name)s”.", name=label))
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
_loaded: dict[int, Adaptation] = {}


def current_tagger() -> tuple[ThemeModel, Adaptation | None, int | None]:
    """The shipped tagger, with the organisation's adaptation in use and its version id (None,
    None: the shipped tagger alone, before any learning or after an administrator stopped it)."""
    row = db.session.execute(
        select(TaggerModel.id, TaggerModel.data).where(TaggerModel.in_use).limit(1)
    ).first()
    if row is None:
        return shipped_model(), None, None
    with _model_lock:
        if row.id not in _loaded:
            try:
                adaptation = Adaptation.from_bytes(row.data)
            except (ValueError, OSError, KeyError):
                return shipped_model(), None, None  # saved by another version: learnt again
            _loaded.clear()
            _loaded[row.id] = adaptation
        return shipped_model(), _loaded[row.id], row.id


# -- suggestions --------------------------------------------------------------------------------


def passage_words_text(
    passage: Passage, start: float | None = None, end: float | None = None
) -> str:
    """The passage's words as shown (removed names stay removed), or those of a span of it."""

    words = display_words(passage)
    if start is not None and end is not None:
        words = [w for w in words if w["start"] >= start - 0.01 and w["end"] <= end + 0.01]
    return " ".join(str(w["text"]).strip() for w in words).strip()


def reason_times(passage: Passage, spans: Sequence[tuple[int, int]]) -> list[list[float]]:
    """The times ([start, end] seconds) of the passage's words that the character ``spans`` of
    its text (as ``passage_words_text`` joins it) touch; neighbouring words make one run."""
    if not spans:
        return []
    words = display_words(passage)
    pieces = [str(w["text"]).strip() for w in words]
    joined = " ".join(pieces)
    lead = len(joined) - len(joined.lstrip())  # passage_words_text strips the joined text
    touched: list[int] = []
    offset = -lead
    for index, piece in enumerate(pieces):
        first, last = offset, offset + len(piece)
        if piece and any(a < last and first < b for a, b in spans):
            touched.append(index)
        offset = last + 1
    runs: list[list[float]] = []
    for position, index in enumerate(touched):
        if position and touched[position - 1] == index - 1:
            runs[-1][1] = float(words[index]["end"])
        else:
            runs.append([float(words[index]["start"]), float(words[index]["end"])])
    return runs


def reason_words(passage: Passage, times: Sequence[Sequence[float]]) -> list[tuple[str, bool]]:
    """The passage's words as shown, in runs, each run marked if it is among ``times`` (a
    suggestion's ``reason_times``)."""
    runs: list[tuple[str, bool]] = []
    for word in display_words(passage):
        text = str(word["text"]).strip()
        if not text:
            continue
        marked = any(
            start - 0.01 <= float(word["start"]) and float(word["end"]) <= end + 0.01
            for start, end in times
        )
        if runs and runs[-1][1] == marked:
            runs[-1] = (f"{runs[-1][0]} {text}", marked)
        else:
            runs.append((text, marked))
    return runs


def suggest(passages: Sequence[Passage]) -> int:
    """Suggest themes for ``passages``, replacing their earlier undecided suggestions.

    Confirmed and rejected tags stay as they are (and are never suggested again). Returns how
    many suggestions were made.
    """
    if not passages:
        return 0
    model, adaptation, version_id = current_tagger()
    by_key = {s.key: s for s in all_subthemes()}
    now = utcnow()
    english = [p for p in passages if p.story.language.value in TAGGED_LANGUAGES]
    texts = [passage_words_text(p) for p in english]
    vectors = vectors_for(texts)
    adjust = adaptation.adjuster(model.labels) if adaptation is not None else None
    suggestions = model.suggest(vectors, texts, adjust=adjust)
    own = adaptation.new_scores(vectors) if adaptation is not None else {}
    made = 0
    for row, (passage, suggestion) in enumerate(zip(english, suggestions, strict=True)):
        for tag in [t for t in passage.themes if t.status == TagStatus.SUGGESTED]:
            passage.themes.remove(tag)
        decided = {t.subtheme.key for t in passage.themes if not t.is_span}
        confidence = {key: float(suggestion.scores[key]) for key in suggestion.subthemes}
        confidence.update(
            (key, float(scores[row]))
            for key, scores in own.items()
            if scores[row] >= OWN_THEME_THRESHOLD
        )
        for key, score in confidence.items():
            if key in decided or key not in by_key:
                continue
            passage.themes.append(
                PassageTheme(
                    subtheme=by_key[key],
                    status=TagStatus.SUGGESTED,
                    confidence=score,
                    suggested_at=now,
                    tagger_id=version_id,
                    reason_times=reason_times(passage, suggestion.reasons.get(key, ())) or None,
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
    jobs.submit(SUGGEST_THEMES, story, message=N_("Suggesting themes"))


def suggest_job(context: jobs.JobContext) -> None:
    story = db.session.get(Story, context.story_id) if context.story_id else None
    if story is None:
        return
    context.report(0.1, N_("Suggesting themes"))
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
            raise ThemeError(_("Choose words inside this passage."))
        if not passage_words_text(passage, start, end):
            raise ThemeError(_("Choose at least one word."))
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


@dataclass(frozen=True)
class CuratorDecision:
    """What curators decided on one passage (or span of words), ready to learn from."""

    text: str
    decision: Decision
    offered: frozenset[str]  # labels the tagger had suggested there
    tags: int  # how many decided tags this is made of
    story_id: int


def curator_decisions() -> list[CuratorDecision]:
    """Every decided tag, grouped by passage (or span): confirmed themes (and their kinds) are
    present, rejected ones absent. A whole passage with no suggestion left waiting has been
    read through, so its kinds with no confirmed theme are absent too.

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
    groups: dict[_Group, list[PassageTheme]] = {}
    for tag in tags:
        span = (tag.span_start, tag.span_end) if tag.is_span else None
        groups.setdefault(_Group(tag.passage, span), []).append(tag)  # type: ignore[arg-type]
    found = []
    for group, decided in groups.items():
        start, end = group.span if group.span else (None, None)
        text = passage_words_text(group.passage, start, end)
        if not text:
            continue
        present = {t.subtheme.key for t in decided if t.status == TagStatus.CONFIRMED}
        present |= {t.subtheme.kind.value for t in decided if t.status == TagStatus.CONFIRMED}
        absent = {t.subtheme.key for t in decided if t.status == TagStatus.REJECTED} - present
        if group.span is None and not any(
            t.status == TagStatus.SUGGESTED for t in group.passage.themes
        ):
            confirmed_kinds = {
                t.subtheme.kind.value
                for t in group.passage.themes
                if t.status == TagStatus.CONFIRMED
            }
            absent |= set(KINDS) - confirmed_kinds
        offered = {t.subtheme.key for t in decided if t.confidence is not None}
        offered |= {t.subtheme.kind.value for t in decided if t.confidence is not None}
        found.append(
            CuratorDecision(
                text,
                Decision(frozenset(present), frozenset(absent)),
                frozenset(offered),
                len(decided),
                group.passage.story_id,
            )
        )
    return found


def forget_story_words(story: Story) -> None:
    """Delete a story's words and everything learnt from them (on erasure).

    Its passages go (and their themes with them), then its transcript and revisions; cached
    embeddings of its text are deleted, every version of what the tagger learnt that used its
    decisions is dropped, and the tagger learns again without them.
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
    versions = list(db.session.scalars(select(TaggerModel).order_by(TaggerModel.id)))
    dropped = [v for v in versions if story.id in (v.story_ids or [])]
    for version in dropped:
        db.session.delete(version)
    if any(v.in_use for v in dropped):
        # The version in use learnt from it: go back to the newest one that didn't (the refit
        # below then makes a new one without it, and that is used).
        kept = [v for v in versions if v not in dropped]
        if kept:
            kept[-1].in_use = True
    db.session.flush()
    if learnt_from or dropped:
        schedule_refit()


def schedule_refit() -> None:
    """Queue one refit (decisions made while one is waiting are picked up by it)."""
    waiting = db.session.scalar(
        select(Job.id).where(Job.kind == REFIT_TAGGER, Job.state == JobState.QUEUED).limit(1)
    )
    if waiting is None:
        jobs.submit(REFIT_TAGGER, message=N_("Learning from confirmed themes"))


def _right(decisions: Sequence[Decision], suggestions: Sequence[Any]) -> int:
    """How many of the decided labels the suggestions agree with (suggested if and only if
    curators said yes)."""
    right = 0
    for decision, suggestion in zip(decisions, suggestions, strict=True):
        said = {*suggestion.kinds, *suggestion.subthemes}
        right += sum(label in said for label in decision.present)
        right += sum(label not in said for label in decision.absent)
    return right


def refit() -> TaggerModel | None:
    """Learn a new version of the organisation's adaptation from every curator decision.

    Commits what came before it (it runs as a job of its own, or from the CLI). The new version
    is used at once unless an administrator chose an older version or none (then it waits on
    the page for them). With no curator decisions left (all erased, say), every version is
    dropped and the shipped tagger is used alone.
    """
    decided = curator_decisions()
    if not decided:
        db.session.execute(delete(TaggerModel))
        return None
    texts = [d.text for d in decided]
    vectors = vectors_for(texts)
    kinds = kind_map()
    newest = db.session.scalar(select(TaggerModel).order_by(TaggerModel.id.desc()).limit(1))
    following = newest is None or newest.in_use
    # Scoring takes seconds: end the transaction first (it may hold the cache's new rows), so
    # the site's writes don't wait behind it on SQLite.
    db.session.commit()
    model = shipped_model()
    _, background = fitting_set()
    table, shipped_suggestions = base_scores(model, vectors, texts)
    decisions = [d.decision for d in decided]
    offered = [d.offered for d in decided]

    def learn(rows: Sequence[int]) -> Adaptation:
        return fit_adaptation(
            model.labels,
            table[list(rows)],
            vectors[list(rows)],
            [decisions[i] for i in rows],
            kinds,
            suggested=[offered[i] for i in rows],
            background=background,
        )

    effect = None
    if len(decided) >= MEASURE_FROM:
        held = [i for i in range(len(decided)) if i % 5 == 4]
        trial = learn([i for i in range(len(decided)) if i % 5 != 4])
        after = model.suggest(
            vectors[held], [texts[i] for i in held], adjust=trial.adjuster(model.labels)
        )
        held_decisions = [decisions[i] for i in held]
        effect = {
            "held_back": sum(len(d.present) + len(d.absent) for d in held_decisions),
            "passages": len(held),
            "before": _right(held_decisions, [shipped_suggestions[i] for i in held]),
            "after": _right(held_decisions, after),
        }
    adaptation = learn(range(len(decided)))
    if following:
        db.session.execute(update(TaggerModel).values(in_use=False))
    row = TaggerModel(
        examples=len(decided),
        curator_examples=sum(d.tags for d in decided),
        data=adaptation.to_bytes(),
        in_use=following,
        story_ids=sorted({d.story_id for d in decided}),
        effect=effect,
    )
    db.session.add(row)
    db.session.flush()
    old = list(
        db.session.scalars(
            select(TaggerModel.id)
            .where(~TaggerModel.in_use)
            .order_by(TaggerModel.id.desc())
            .offset(KEEP_VERSIONS - 1)
        )
    )
    if old:
        db.session.execute(delete(TaggerModel).where(TaggerModel.id.in_(old)))
    return row


def refit_job(context: jobs.JobContext) -> None:
    context.report(0.1, N_("Learning from confirmed themes"))
    refit()
    db.session.commit()


# -- what the tagger learnt, for administrators ---------------------------------------------------


@dataclass(frozen=True)
class LearntVersion:
    """One version of what the tagger learnt, as the administrators' page shows it."""

    row: TaggerModel
    changes: list[tuple[str, LabelChange]]  # (the theme's name, how it changed), notable first
    new_themes: list[tuple[str, int]]  # (name, confirmations) of the organisation's own themes
    remembered: int  # decided passages a near passage leans towards


def _label_name(label: str, by_key: dict[str, Subtheme]) -> str:
    if label in by_key:
        return by_key[label].shown_label
    if label in {k.value for k in ThemeKind}:
        return ThemeKind(label).label
    return label


def learnt_versions() -> list[LearntVersion]:
    """Every kept version, newest first, described for the administrators' page."""
    by_key = {s.key: s for s in all_subthemes()}
    found = []
    for row in db.session.scalars(select(TaggerModel).order_by(TaggerModel.id.desc())):
        try:
            adaptation = Adaptation.from_bytes(row.data)
        except (ValueError, OSError, KeyError):
            continue
        changes = [
            (_label_name(c.label, by_key), c) for c in adaptation.changes() if c.direction != "same"
        ]
        new_themes = [
            (_label_name(label, by_key), count)
            for label, count in zip(adaptation.new_labels, adaptation.new_counts, strict=True)
        ]
        found.append(LearntVersion(row, changes, new_themes, adaptation.remembered))
    return found


def use_version(version_id: int | None, by: User) -> TaggerModel | None:
    """Use a kept version of what was learnt (roll back), or none (the shipped tagger alone).

    New suggestions follow it; a refit after this keeps its new version waiting until an
    administrator chooses it. Raises ThemeError for a version that is not kept.
    """
    chosen = None
    if version_id is not None:
        chosen = db.session.get(TaggerModel, version_id)
        if chosen is None:
            raise ThemeError(_("That version is no longer kept. Please choose another one."))
    db.session.execute(update(TaggerModel).values(in_use=False))
    if chosen is not None:
        chosen.in_use = True
        audit.record(
            "tagger.version_used", actor=by, object_type="tagger_version", object_id=chosen.id
        )
    else:
        audit.record("tagger.learning_stopped", actor=by, object_type="tagger_version")
    db.session.flush()
    return chosen
