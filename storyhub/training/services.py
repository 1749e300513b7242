"""Clips and training sessions: the rules for making, changing, sharing and playing them.

Views and the API call these; consent rules are asked of consent/ (``can_clip``, ``clip_refusal``,
``can_view``) and never re-implemented here. The caller commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from consent import CLIP_ROLES, can_clip, can_view, clip_refusal
from consent.copies import CopyKind, copy_of, web_copy_refusal
from consent.describe import audience_list, name_as_consented
from consent.models import ConsentStatus, ConsentVersion
from storyhub import audit
from storyhub.extensions import db
from storyhub.models import Passage, Story, StoryState, User
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
MAX_SESSIONS_PER_PERSON = 500


class TrainingError(ValueError):
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
        raise TrainingError("Please choose the words the clip starts and ends on.") from None
    if not (0 <= first < len(words) and 0 <= last < len(words)):
        raise TrainingError("Those words are not in this story. Please choose again.")
    if last < first:
        raise TrainingError("The clip must end after it starts. Please choose a later last word.")
    start, end = words[first].start, words[last].end
    if end - start > MAX_CLIP_SECONDS:
        raise TrainingError("A clip can be at most 5 minutes long. Please choose fewer words.")
    if end <= start:
        raise TrainingError("That clip would be empty. Please choose more words.")
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


def _clean(text: Any, limit: int, what: str, *, required: bool = False) -> str:
    value = str(text or "").strip()
    if required and not value:
        raise TrainingError(f"Please give the {what}.")
    if len(value) > limit:
        raise TrainingError(f"The {what} can be at most {limit} characters.")
    return value


def default_clip_title(story: Story, passage: Passage | None) -> str:
    """A starting title: the story's, and where in it the clip comes from."""
    if passage is None:
        return story.title[:MAX_TITLE]
    return f"{story.title} (passage {passage.position + 1})"[:MAX_TITLE]


def create_clip(
    user: User, story: Story, start_word: Any, end_word: Any, title: Any, note: Any = ""
) -> Clip:
    """Cut a clip (a reference, not a copy) from ``story``, if its teller allows clips."""
    if not can_clip(user, story):
        raise TrainingError(clip_refusal(story) or "You can't make clips from this story.")
    if story.state != StoryState.READY:
        raise TrainingError("This story is still being prepared. Please try again soon.")
    start, end = bounds_for(story, start_word, end_word)
    _room_for_clips(user, 1)
    clip = Clip(
        owner=user,
        story=story,
        start=start,
        end=end,
        title=_clean(title, MAX_TITLE, "clip a title", required=True),
        note=_clean(note, MAX_TEXT, "note"),
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
        raise TrainingError("Only the trainer who made this clip can change it.")
    if not can_clip(user, clip.story):
        raise TrainingError(clip_refusal(clip.story) or "You can't use clips from this story.")
    clip.start, clip.end = bounds_for(clip.story, start_word, end_word)
    clip.title = _clean(title, MAX_TITLE, "clip a title", required=True)
    clip.note = _clean(note, MAX_TEXT, "note")
    audit.record("clip.changed", actor=user, object_type="clip", object_id=clip.id)
    return clip


def delete_clip(user: User, clip: Clip) -> None:
    """Delete a clip, and take it out of the owner's sessions."""
    if clip.owner_id != user.id:
        raise TrainingError("Only the trainer who made this clip can delete it.")
    for item in db.session.scalars(select(LessonItem).where(LessonItem.clip_id == clip.id)):
        session = item.session
        session.items.remove(item)
        _renumber(session)
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
    reason = clip_refusal(story)
    if reason is None and not can_view(viewer, story):
        reason = "You may not see this story."
    if reason is None:
        reason = web_copy_refusal(story)
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
    try:
        clip = db.session.get(Clip, int(clip_id))
    except (TypeError, ValueError, OverflowError):
        return None
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
    return session.owner_id == user.id or any(s.user_id == user.id for s in session.shares)


def can_edit(user: Any, session: Lesson) -> bool:
    """Only a session's owner changes it; others copy it to make their own."""
    return can_open(user, session) and session.owner_id == user.id


def session_for(user: Any, session_id: Any, *, edit: bool = False) -> Lesson | None:
    """The session, if ``user`` may open (or edit) it; else None (a view answers 404)."""
    try:
        session = db.session.get(Lesson, int(session_id))
    except (TypeError, ValueError, OverflowError):
        return None
    if session is None or not (can_edit if edit else can_open)(user, session):
        return None
    return session


def sessions_of(user: User) -> tuple[list[Lesson], list[Lesson]]:
    """The sessions ``user`` owns, and those shared with them, most recently changed first."""
    owned = db.session.scalars(
        select(Lesson).where(Lesson.owner_id == user.id).order_by(Lesson.updated_at.desc())
    ).all()
    shared = db.session.scalars(
        select(Lesson)
        .join(LessonShare)
        .where(LessonShare.user_id == user.id)
        .order_by(Lesson.updated_at.desc())
    ).all()
    return list(owned), list(shared)


def _room_for_clips(user: User, more: int) -> None:
    """Refuse, in plain words, ``more`` clips past what one person may keep."""
    have = db.session.scalar(select(func.count()).where(Clip.owner_id == user.id)) or 0
    if have + more > MAX_CLIPS_PER_PERSON:
        raise TrainingError(
            f"You can keep up to {MAX_CLIPS_PER_PERSON} clips. Please delete some you no longer "
            "use, then try again."
        )


def create_session(user: User, title: Any, summary: Any = "") -> Lesson:
    if user.role not in CLIP_ROLES:
        raise TrainingError("Only trainers and curators can make training sessions.")
    owned = db.session.scalar(select(func.count()).where(Lesson.owner_id == user.id))
    if (owned or 0) >= MAX_SESSIONS_PER_PERSON:
        raise TrainingError(
            f"You can keep up to {MAX_SESSIONS_PER_PERSON} sessions. Please delete some you no "
            "longer use, then try again."
        )
    session = Lesson(
        owner=user,
        title=_clean(title, MAX_TITLE, "session a title", required=True),
        summary=_clean(summary, MAX_TEXT, "summary"),
    )
    db.session.add(session)
    db.session.flush()
    audit.record("session.created", actor=user, object_type="session", object_id=session.id)
    return session


def update_session(session: Lesson, title: Any, summary: Any) -> None:
    session.title = _clean(title, MAX_TITLE, "session a title", required=True)
    session.summary = _clean(summary, MAX_TEXT, "summary")


def _renumber(session: Lesson) -> None:
    for position, item in enumerate(session.items):
        item.position = position


def _touch(session: Lesson) -> None:
    # Items changing is the session changing: it moves to the top of "my sessions".
    from storyhub.models import utcnow

    session.updated_at = utcnow()


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
        raise TrainingError("Please choose a heading, a clip or a discussion prompt.") from None
    if len(session.items) >= MAX_ITEMS:
        raise TrainingError(f"A session can hold at most {MAX_ITEMS} items.")
    clip: Clip | None = None
    if kind == ItemKind.CLIP:
        clip = clip_for(user, clip_id)
        if clip is None:
            raise TrainingError("Please choose one of your clips.")
        refusal = clip_refusal(clip.story)
        if refusal:
            raise TrainingError(f"That clip can't be used: {refusal}")
        body = ""
    else:
        what = "heading" if kind == ItemKind.HEADING else "discussion prompt"
        body = _clean(text, MAX_TEXT, what, required=True)
    item = LessonItem(
        kind=kind,
        text=body,
        clip=clip,
        notes=_clean(notes, MAX_TEXT, "notes"),
        position=len(session.items),
    )
    session.items.append(item)
    _touch(session)
    return item


def item_of(session: Lesson, item_id: Any) -> LessonItem | None:
    try:
        wanted = int(item_id)
    except (TypeError, ValueError):
        return None
    return next((i for i in session.items if i.id == wanted), None)


def update_item(item: LessonItem, text: Any, notes: Any) -> None:
    if item.kind != ItemKind.CLIP:
        what = "heading" if item.kind == ItemKind.HEADING else "discussion prompt"
        item.text = _clean(text, MAX_TEXT, what, required=True)
    item.notes = _clean(notes, MAX_TEXT, "notes")
    _touch(item.session)


def remove_item(session: Lesson, item: LessonItem) -> None:
    session.items.remove(item)
    _renumber(session)
    _touch(session)


def move_item(session: Lesson, item: LessonItem, direction: Any) -> None:
    """Move an item one place up or down (the keyboard's and the buttons' way to reorder)."""
    steps = {"up": -1, "down": 1, "top": -len(session.items), "bottom": len(session.items)}
    if direction not in steps:
        raise TrainingError("Please choose to move it up or down.")
    items = list(session.items)
    old = items.index(item)
    new = max(0, min(len(items) - 1, old + steps[direction]))
    items.insert(new, items.pop(old))
    _apply_order(session, items)


def reorder(session: Lesson, item_ids: Iterable[Any]) -> None:
    """Put the items in the given order (dragging sends the whole new order).

    The list must name every item exactly once, so a stale page can't drop or duplicate one.
    """
    by_id = {item.id: item for item in session.items}
    # Read no more of the list than a session can hold: a longer one can't be this session's.
    item_ids = list(itertools.islice(item_ids, MAX_ITEMS + 1))
    try:
        wanted = [int(i) for i in item_ids]
    except (TypeError, ValueError):
        raise TrainingError("That order doesn't match this session. Please reload.") from None
    if sorted(wanted) != sorted(by_id):
        raise TrainingError("The session changed since this page loaded. Please reload it.")
    _apply_order(session, [by_id[i] for i in wanted])


def _apply_order(session: Lesson, items: list[LessonItem]) -> None:
    # Rebuild the ordered list, so the relationship's order matches the new positions.
    session.items[:] = items
    _renumber(session)
    _touch(session)


def duplicate_session(user: User, session: Lesson) -> Lesson:
    """A copy owned by ``user``, with copies of the clips that ``user`` may still use."""
    copy = create_session(user, f"Copy of {session.title}"[:MAX_TITLE], session.summary)
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
        copy.items.append(
            LessonItem(
                kind=item.kind,
                text=item.text,
                clip=clip,
                notes=item.notes,
                position=len(copy.items),
            )
        )
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
    allowed = {u.id: u for u in share_candidates(session)}
    try:
        wanted = {int(i) for i in user_ids}
    except (TypeError, ValueError):
        raise TrainingError("Please choose people from the list.") from None
    if not wanted <= set(allowed):
        raise TrainingError("Please choose people from the list.")
    for share in list(session.shares):
        if share.user_id not in wanted:
            session.shares.remove(share)
    have = {s.user_id for s in session.shares}
    for user_id in sorted(wanted - have):
        session.shares.append(LessonShare(user=allowed[user_id]))
    audit.record(
        "session.shared", actor=user, object_type="session", object_id=session.id,
        with_users=sorted(wanted),
    )  # fmt: skip


def delete_session(user: User, session: Lesson) -> None:
    if session.owner_id != user.id:
        raise TrainingError("Only the trainer who made this session can delete it.")
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
        slides.append(
            Slide(
                kind="clip",
                clip=clip,
                standing=standing,
                notes=item.notes,
                story_title=story.title,
                teller=name_as_consented(story),
                audiences=audience_list(story.consent.audiences if story.consent else set()),
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
