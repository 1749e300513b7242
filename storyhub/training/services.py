"""Clips and training sessions: the rules for making, changing, sharing and playing them.

Views and the API call these; consent rules are asked of consent/ (``can_clip``, ``clip_refusal``,
``can_view``) and never re-implemented here. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from consent import CLIP_ROLES, can_clip, can_view, clip_refusal
from consent.copies import CopyKind, copy_of
from consent.models import ConsentStatus, ConsentVersion
from storyhub import audit
from storyhub.extensions import N_, db
from storyhub.models import Passage, Story, StoryState, User
from storyhub.playlists import core
from storyhub.playlists.core import PlaylistError, PlaylistWording, TextWording
from storyhub.training.models import (
    Clip,
    ItemKind,
    Lesson,
    LessonExport,
    LessonItem,
    LessonShare,
)
from storyhub.words import display_words

# A clip is a moment, not a story: long enough for a whole passage and its neighbours.
MAX_CLIP_SECONDS = 5 * 60
MAX_TITLE = 200
MAX_TEXT = 2000
MAX_ITEMS = 200
# What one person may keep, so that every list of them (a page, the API) stays a bounded piece
# of work; far more than anyone uses (a busy trainer keeps a few hundred clips).
MAX_CLIPS_PER_PERSON = 2000

# Each box's refusals as whole sentences, so the Welsh can order its own words.
CLIP_TITLE = TextWording(
    N_("Please give the clip a title."), N_("A clip's title can be at most %(limit)s characters.")
)
CLIP_NOTE = TextWording(
    N_("Please write a note."), N_("The note can be at most %(limit)s characters.")
)
SESSION_TITLE = TextWording(
    N_("Please give the session a title."),
    N_("A session's title can be at most %(limit)s characters."),
)
SESSION_SUMMARY = TextWording(
    N_("Please say what the session is for."),
    N_("What the session is for can be at most %(limit)s characters."),
)
HEADING = TextWording(
    N_("Please give the heading."), N_("The heading can be at most %(limit)s characters.")
)
PROMPT = TextWording(
    N_("Please give the discussion prompt."),
    N_("The discussion prompt can be at most %(limit)s characters."),
)
NOTES = TextWording(
    N_("Please write the notes."), N_("The notes can be at most %(limit)s characters.")
)
SESSION_WORDING = PlaylistWording(
    full=N_(
        "A session can hold up to %(most)s items. Please take one out first, or make another "
        "session."
    ),
    order_mismatch=N_("That order doesn't match this session. Please reload."),
    changed=N_("The session changed since this page loaded. Please reload it."),
)
MAX_SESSIONS_PER_PERSON = 500


class TrainingError(PlaylistError):
    """A change that can't be made; the message says why, in plain words."""


# --- clips ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipWord:
    """One word (or one removed run, "[name removed]") as a clip's bounds snap to it."""

    index: int
    start: float
    end: float
    text: str
    redacted: bool
    passage_id: int


def story_words(story: Story) -> list[ClipWord]:
    """Every word of the story in order, numbered: the points a clip can start or end on."""
    words: list[ClipWord] = []
    for passage in story.passages:
        for word in display_words(passage):
            words.append(
                ClipWord(
                    index=len(words),
                    start=float(word["start"]),
                    end=float(word["end"]),
                    text=str(word["text"]),
                    redacted=bool(word["redacted"]),
                    passage_id=passage.id,
                )
            )
    return words


def words_between(words: Sequence[ClipWord], start: float, end: float) -> list[ClipWord]:
    """The words inside [start, end]: those whose middle falls in it (as captions decide)."""
    return [w for w in words if start <= (w.start + w.end) / 2 <= end]


def editing_window(story: Story, start: float, end: float) -> list[ClipWord]:
    """The words a clip's bounds can move over: its own, and the passages either side of it."""
    words = story_words(story)
    inside = words_between(words, start, end)
    if not inside:
        return words
    passage_ids = [p.id for p in story.passages]
    first = passage_ids.index(inside[0].passage_id)
    last = passage_ids.index(inside[-1].passage_id)
    keep = set(passage_ids[max(0, first - 1) : last + 2])
    return [w for w in words if w.passage_id in keep]


def bounds_for(story: Story, start_word: Any, end_word: Any) -> tuple[float, float]:
    """The clip times for two word numbers: the first word's start to the last word's end.

    Word numbers come from a form or the API, so anything odd is refused in plain words.
    """
    words = story_words(story)
    try:
        first, last = int(start_word), int(end_word)
    except (TypeError, ValueError):
        raise TrainingError(_("Please choose the words the clip starts and ends on.")) from None
    if not (0 <= first < len(words) and 0 <= last < len(words)):
        raise TrainingError(_("Those words are not in this story. Please choose again."))
    if last < first:
        raise TrainingError(
            _("The clip must end after it starts. Please choose a later last word.")
        )
    start, end = words[first].start, words[last].end
    if end - start > MAX_CLIP_SECONDS:
        raise TrainingError(_("A clip can be at most 5 minutes long. Please choose fewer words."))
    if end <= start:
        raise TrainingError(_("That clip would be empty. Please choose more words."))
    return start, end


def word_index_at(words: Sequence[ClipWord], seconds: float, *, last: bool) -> int:
    """The number of the word a clip bound lies on (its first or its last word)."""
    if not words:
        return 0
    if last:
        candidates = [w.index for w in words if w.end <= seconds + 0.001]
        return candidates[-1] if candidates else words[0].index
    candidates = [w.index for w in words if w.start >= seconds - 0.001]
    return candidates[0] if candidates else words[-1].index


def _clean(text: Any, limit: int, what: TextWording, *, required: bool = False) -> str:
    return core.clean_text(text, limit, what, TrainingError, required=required)


def default_clip_title(story: Story, passage: Passage | None) -> str:
    """A starting title: the story's, and where in it the clip comes from."""
    if passage is None:
        return story.title[:MAX_TITLE]
    return _("%(title)s (passage %(number)s)", title=story.title, number=passage.position + 1)[
        :MAX_TITLE
    ]


def create_clip(
    user: User, story: Story, start_word: Any, end_word: Any, title: Any, note: Any = ""
) -> Clip:
    """Cut a clip (a reference, not a copy) from ``story``, if its teller allows clips."""
    if not can_clip(user, story):
        raise TrainingError(clip_refusal(story) or _("You can't make clips from this story."))
    if story.state != StoryState.READY:
        raise TrainingError(_("This story is still being prepared. Please try again soon."))
    start, end = bounds_for(story, start_word, end_word)
    _room_for_clips(user, 1)
    clip = Clip(
        owner=user,
        story=story,
        start=start,
        end=end,
        title=_clean(title, MAX_TITLE, CLIP_TITLE, required=True),
        note=_clean(note, MAX_TEXT, CLIP_NOTE),
        consent_id=story.consent_id,
    )
    db.session.add(clip)
    db.session.flush()
    audit.record("clip.created", actor=user, object_type="clip", object_id=clip.id)
    return clip


def update_clip(
    user: User, clip: Clip, start_word: Any, end_word: Any, title: Any, note: Any = ""
) -> Clip:
    """Move a clip's bounds (still on words) and change its title or note; its owner only."""
    if clip.owner_id != user.id:
        raise TrainingError(_("Only the trainer who made this clip can change it."))
    if not can_clip(user, clip.story):
        raise TrainingError(clip_refusal(clip.story) or _("You can't use clips from this story."))
    clip.start, clip.end = bounds_for(clip.story, start_word, end_word)
    clip.title = _clean(title, MAX_TITLE, CLIP_TITLE, required=True)
    clip.note = _clean(note, MAX_TEXT, CLIP_NOTE)
    audit.record("clip.changed", actor=user, object_type="clip", object_id=clip.id)
    return clip


def delete_clip(user: User, clip: Clip) -> None:
    """Delete a clip, and take it out of the owner's sessions."""
    if clip.owner_id != user.id:
        raise TrainingError(_("Only the trainer who made this clip can delete it."))
    for item in db.session.scalars(select(LessonItem).where(LessonItem.clip_id == clip.id)):
        core.remove(item.session, item)
    audit.record("clip.deleted", actor=user, object_type="clip", object_id=clip.id)
    _forget_copy_records(CopyKind.CLIP_FILE, [clip.id])
    db.session.delete(clip)


def _forget_copy_records(kind: str, subject_ids: list[int]) -> None:
    """A deleted clip or session takes the records of its copies with it (the caller deletes
    their files after the commit)."""
    for subject_id in subject_ids:
        made = copy_of(kind, subject_id)
        if made is not None:
            db.session.delete(made)


@dataclass(frozen=True)
class ClipStanding:
    """Whether a clip can be shown now and, if not, why (for the trainer and the room)."""

    usable: bool
    reason: str | None  # why not, in plain words
    redacted: bool  # a curator removed a name or place inside it
    words: tuple[ClipWord, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text.strip() for w in self.words).strip()


def clip_standing(clip: Clip, viewer: Any) -> ClipStanding:
    """Whether ``viewer`` may be shown ``clip`` now: its story's current consent decides."""
    story = clip.story

    def for_training(story: Story) -> str | None:
        if can_view(viewer, story):
            return clip_refusal(story)
        return clip_refusal(story) or _("You may not see this story.")

    reason = core.refusal_now(story, for_training)
    words = tuple(words_between(story_words(story), clip.start, clip.end)) if reason is None else ()
    return ClipStanding(
        usable=reason is None,
        reason=reason,
        redacted=any(w.redacted for w in words),
        words=words,
    )


def clips_of(user: User) -> list[Clip]:
    """The clips ``user`` made, newest first."""
    return list(
        db.session.scalars(
            select(Clip).where(Clip.owner_id == user.id).order_by(Clip.created_at.desc())
        )
    )


def clip_for(user: Any, clip_id: Any) -> Clip | None:
    """The clip, if ``user`` made it or may open a session holding it; else None."""
    clip = core.row_by_id(Clip, clip_id)
    if clip is None or not getattr(user, "is_authenticated", False):
        return None
    if clip.owner_id == user.id:
        return clip
    holding = db.session.scalars(
        select(Lesson).join(LessonItem).where(LessonItem.clip_id == clip.id)
    )
    return clip if any(can_open(user, s) for s in holding) else None


ERASED_TITLE = "(erased story)"


def forget_erased_titles(story: Story, version: ConsentVersion) -> None:
    """Erasure takes the story's title and words out of its clips' records (titles often start
    with the story's) and out of export records that name those clips as left out."""
    if version.status != ConsentStatus.ERASED:
        return
    titles = set()
    for clip in db.session.scalars(select(Clip).where(Clip.story_id == story.id)):
        titles.add(clip.title)
        clip.title, clip.note = ERASED_TITLE, ""
    for export in db.session.scalars(select(LessonExport)):
        if any(e.get("story_id") == story.id or e.get("title") in titles for e in export.left_out):
            export.left_out = [
                {**e, "title": ERASED_TITLE}
                if e.get("story_id") == story.id or e.get("title") in titles
                else e
                for e in export.left_out
            ]


# --- sessions -------------------------------------------------------------------------------


def can_open(user: Any, session: Lesson) -> bool:
    """Its owner, and trainers it is shared with, may open, run, export and copy a session."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.role not in CLIP_ROLES:
        return False
    return session.owner_id == user.id or core.is_shared_with(user, session.shares)


def can_edit(user: Any, session: Lesson) -> bool:
    """Only a session's owner changes it; others copy it to make their own."""
    return can_open(user, session) and session.owner_id == user.id


def session_for(user: Any, session_id: Any, *, edit: bool = False) -> Lesson | None:
    """The session, if ``user`` may open (or edit) it; else None (a view answers 404)."""
    session = core.row_by_id(Lesson, session_id)
    if session is None or not (can_edit if edit else can_open)(user, session):
        return None
    return session


def sessions_of(user: User) -> tuple[list[Lesson], list[Lesson]]:
    """The sessions ``user`` owns, and those shared with them, most recently changed first."""
    owned = db.session.scalars(
        select(Lesson).where(Lesson.owner_id == user.id).order_by(Lesson.updated_at.desc())
    ).all()
    shared = core.shared_with(user, Lesson, LessonShare.user_id, [Lesson.updated_at.desc()])
    return list(owned), shared


def _room_for_clips(user: User, more: int) -> None:
    """Refuse, in plain words, ``more`` clips past what one person may keep."""
    have = db.session.scalar(select(func.count()).where(Clip.owner_id == user.id)) or 0
    if have + more > MAX_CLIPS_PER_PERSON:
        raise TrainingError(
            _(
                "You can keep up to %(most)s clips. Please delete some you no longer use, then "
                "try again.",
                most=MAX_CLIPS_PER_PERSON,
            )
        )


def create_session(user: User, title: Any, summary: Any = "") -> Lesson:
    """A new, empty session owned by ``user`` (a trainer or curator)."""
    if user.role not in CLIP_ROLES:
        raise TrainingError(_("Only trainers and curators can make training sessions."))
    owned = db.session.scalar(select(func.count()).where(Lesson.owner_id == user.id))
    if (owned or 0) >= MAX_SESSIONS_PER_PERSON:
        raise TrainingError(
            _(
                "You can keep up to %(most)s sessions. Please delete some you no longer use, "
                "then try again.",
                most=MAX_SESSIONS_PER_PERSON,
            )
        )
    session = Lesson(
        owner=user,
        title=_clean(title, MAX_TITLE, SESSION_TITLE, required=True),
        summary=_clean(summary, MAX_TEXT, SESSION_SUMMARY),
    )
    db.session.add(session)
    db.session.flush()
    audit.record("session.created", actor=user, object_type="session", object_id=session.id)
    return session


def update_session(session: Lesson, title: Any, summary: Any) -> None:
    """Change a session's title and what it is for."""
    session.title = _clean(title, MAX_TITLE, SESSION_TITLE, required=True)
    session.summary = _clean(summary, MAX_TEXT, SESSION_SUMMARY)


def add_item(
    user: User,
    session: Lesson,
    kind: Any,
    *,
    text: Any = "",
    clip_id: Any = None,
    notes: Any = "",
) -> LessonItem:
    """Add a heading, a prompt or one of the trainer's clips at the end of the session."""
    try:
        kind = ItemKind(str(kind))
    except ValueError:
        raise TrainingError(_("Please choose a heading, a clip or a discussion prompt.")) from None
    core.make_room(session, MAX_ITEMS, SESSION_WORDING, TrainingError)
    clip: Clip | None = None
    if kind == ItemKind.CLIP:
        clip = clip_for(user, clip_id)
        if clip is None:
            raise TrainingError(_("Please choose one of your clips."))
        refusal = clip_refusal(clip.story)
        if refusal:
            raise TrainingError(_("That clip can't be used: %(reason)s", reason=refusal))
        body = ""
    else:
        what = HEADING if kind == ItemKind.HEADING else PROMPT
        body = _clean(text, MAX_TEXT, what, required=True)
    item = LessonItem(kind=kind, text=body, clip=clip, notes=_clean(notes, MAX_TEXT, NOTES))
    return core.append(session, item)


def item_of(session: Lesson, item_id: Any) -> LessonItem | None:
    """The session's item with this id, or None."""
    return core.item_of(session, item_id)


def update_item(item: LessonItem, text: Any, notes: Any) -> None:
    """Change a heading's or prompt's words, or any item's notes for the trainer."""
    if item.kind != ItemKind.CLIP:
        what = HEADING if item.kind == ItemKind.HEADING else PROMPT
        item.text = _clean(text, MAX_TEXT, what, required=True)
    item.notes = _clean(notes, MAX_TEXT, NOTES)
    core.touch(item.session)


def remove_item(session: Lesson, item: LessonItem) -> None:
    """Take an item out of the session."""
    core.remove(session, item)


def move_item(session: Lesson, item: LessonItem, direction: Any) -> None:
    """Move an item one place up or down, or to the top or bottom (buttons and keyboard)."""
    core.move(session, item, direction, TrainingError)


def reorder(session: Lesson, item_ids: Iterable[Any]) -> None:
    """Put the items in the given order, which must name every item once (dragging)."""
    core.reorder(session, item_ids, SESSION_WORDING, MAX_ITEMS, TrainingError)


def duplicate_session(user: User, session: Lesson) -> Lesson:
    """A copy owned by ``user``, with copies of the clips that ``user`` may still use."""
    copy = create_session(
        user, _("Copy of %(title)s", title=session.title)[:MAX_TITLE], session.summary
    )
    _room_for_clips(user, sum(1 for i in session.items if i.clip and i.clip.owner_id != user.id))
    clip_copies: dict[int, Clip] = {}
    for item in session.items:
        clip: Clip | None = None
        if item.kind == ItemKind.CLIP and item.clip is not None:
            source = item.clip
            if source.owner_id == user.id:
                clip = source
            elif not can_clip(user, source.story):
                continue  # not shared for training (or clips) any more: nothing to copy
            else:
                clip = clip_copies.get(source.id) or Clip(
                    owner=user,
                    story=source.story,
                    start=source.start,
                    end=source.end,
                    title=source.title,
                    note=source.note,
                    consent_id=source.story.consent_id,
                )
                clip_copies[source.id] = clip
        core.append(copy, LessonItem(kind=item.kind, text=item.text, clip=clip, notes=item.notes))
    audit.record(
        "session.duplicated",
        actor=user,
        object_type="session",
        object_id=copy.id,
        source=session.id,
    )
    return copy


def share_candidates(session: Lesson) -> list[User]:
    """The trainers and curators a session can be shared with (everyone but its owner)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(CLIP_ROLES), User.active.is_(True), User.id != session.owner_id)
            .order_by(User.display_name)
        )
    )


def set_shares(user: User, session: Lesson, user_ids: Iterable[Any]) -> None:
    """Share the session with exactly these trainers (ids not among the candidates are refused)."""
    wanted = core.share_exactly(
        session.shares,
        share_candidates(session),
        user_ids,
        lambda person: LessonShare(user=person),
        TrainingError,
    )
    audit.record(
        "session.shared", actor=user, object_type="session", object_id=session.id,
        with_users=wanted,
    )  # fmt: skip


def delete_session(user: User, session: Lesson) -> None:
    """Delete a session (its owner only), with the records of its exports' files."""
    if session.owner_id != user.id:
        raise TrainingError(_("Only the trainer who made this session can delete it."))
    audit.record("session.deleted", actor=user, object_type="session", object_id=session.id)
    _forget_copy_records(CopyKind.EXPORT, [export.id for export in session.exports])
    db.session.delete(session)


# --- playing in the room ----------------------------------------------------------------------


@dataclass(frozen=True)
class Slide:
    """One step of the session player: a heading, a prompt, or a clip (or its notice)."""

    kind: str  # "heading", "prompt", "clip", "skipped"
    text: str = ""
    notes: str = ""
    clip: Clip | None = None
    standing: ClipStanding | None = None
    story_title: str = ""
    teller: str = ""
    audiences: str = ""


def slides_for(viewer: Any, session: Lesson) -> list[Slide]:
    """The session as the room sees it: clips whose consent no longer allows them are skipped
    with a notice, and each clip is introduced by its story, teller (as consented) and audience."""
    slides: list[Slide] = []
    for item in session.items:
        if item.kind != ItemKind.CLIP:
            slides.append(Slide(kind=item.kind.value, text=item.text, notes=item.notes))
            continue
        clip = item.clip
        if clip is None:
            continue
        standing = clip_standing(clip, viewer)
        story = clip.story
        if not standing.usable:
            slides.append(Slide(kind="skipped", clip=clip, standing=standing, notes=item.notes))
            continue
        introduction = core.introduce(story)
        slides.append(
            Slide(
                kind="clip",
                clip=clip,
                standing=standing,
                notes=item.notes,
                story_title=story.title,
                teller=introduction.teller,
                audiences=introduction.audiences,
            )
        )
    return slides


def stories_in(session: Lesson) -> list[Story]:
    """The distinct stories a session's clips come from, in order of first appearance."""
    seen: dict[int, Story] = {}
    for item in session.items:
        if item.clip is not None and item.clip.story_id not in seen:
            seen[item.clip.story_id] = item.clip.story
    return list(seen.values())
