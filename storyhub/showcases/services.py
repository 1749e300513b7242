"""Showcase rules: building one, what may go in it, and opening it with an event code.

Consent is asked of consent/ (``showcase_refusal``) every time items are listed, so a story
withdrawn during an event is gone at the next navigation. The caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from consent.policy import (
    SHOWCASE_BUILDERS,
    may_build_showcases,
    showcase_refusal,
    showcase_stories,
)
from storyhub import audit
from storyhub.extensions import N_, db
from storyhub.models import Role, Story, StoryState, User, as_utc, utcnow
from storyhub.playlists import core
from storyhub.playlists.core import PlaylistError, PlaylistWording, Shown, TextWording
from storyhub.showcases.models import Showcase, ShowcaseItem, ShowcaseMember
from storyhub.themes.models import TagStatus
from storyhub.training.models import Clip

MAX_TITLE = 200
MAX_TEXT = 2000
# A showcase is a short set for one event; the cap keeps every page and pack of it bounded.
MAX_ITEMS = 50
# Codes are read out or written on a slide: no 0/O, 1/I/L, in groups of four.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

# Each box's refusals as whole sentences, so the Welsh can order its own words.
SHOWCASE_TITLE = TextWording(
    N_("Please give the showcase a title."),
    N_("A showcase's title can be at most %(limit)s characters."),
)
INTRODUCTION = TextWording(
    N_("Please write an introduction."),
    N_("The introduction can be at most %(limit)s characters."),
)
PLACE = TextWording(
    N_("Please say where the event is."), N_("The place can be at most %(limit)s characters.")
)
LISTENING_NOTE = TextWording(
    N_("Please say what to listen for."),
    N_("What to listen for can be at most %(limit)s characters."),
)
SHOWCASE_WORDING = PlaylistWording(
    full=N_(
        "A showcase can hold up to %(most)s items. Please take one out first, or make another "
        "showcase."
    ),
    order_mismatch=N_("That order doesn't match this showcase. Please reload."),
    changed=N_("The showcase changed since this page loaded. Please reload it."),
)


class ShowcaseError(PlaylistError):
    """A change that can't be made; the message says why, in plain words."""


def can_build(user: Any) -> bool:
    """Curators, administrators and trainers with permission build showcases."""
    return may_build_showcases(user)


def _clean(text: Any, limit: int, what: TextWording, *, required: bool = False) -> str:
    return core.clean_text(text, limit, what, ShowcaseError, required=required)


def create_showcase(
    user: User,
    title: Any,
    introduction: Any = "",
    *,
    event_date: date | None = None,
    event_place: Any = "",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Showcase:
    """A new, empty showcase built by ``user``, for an event on that date, in that place."""
    if not can_build(user):
        raise ShowcaseError(_("Only curators, and trainers they allow, can build showcases."))
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ShowcaseError(_("The event must end after it starts."))
    showcase = Showcase(
        owner=user,
        title=_clean(title, MAX_TITLE, SHOWCASE_TITLE, required=True),
        introduction=_clean(introduction, MAX_TEXT, INTRODUCTION),
        event_date=event_date,
        event_place=_clean(event_place, MAX_TITLE, PLACE),
        opens_at=opens_at,
        closes_at=closes_at,
    )
    db.session.add(showcase)
    db.session.flush()
    audit.record("showcase.created", actor=user, object_type="showcase", object_id=showcase.id)
    return showcase


@dataclass(frozen=True)
class Candidate:
    """A story the builder may see, and why it can't go in a showcase (None: it can)."""

    story: Story
    refusal: str | None


def candidates(user: User) -> list[Candidate]:
    """Every ready story the builder looks after, each with whether it may be shown."""
    stories = db.session.scalars(
        select(Story)
        .where(showcase_stories(user), Story.state == StoryState.READY)
        .order_by(Story.created_at.desc())
    )
    return [Candidate(story, showcase_refusal(story)) for story in stories]


def listen_for(story: Story, clip: Clip | None = None) -> str:
    """A first "what to listen for" line: the confirmed outcome themes in the story (or clip)."""
    labels: list[str] = []
    for passage in story.passages:
        if clip is not None and (passage.end <= clip.start or passage.start >= clip.end):
            continue
        for tag in passage.themes:
            if tag.status == TagStatus.CONFIRMED and tag.subtheme.shown_label not in labels:
                labels.append(tag.subtheme.shown_label)
    return _("Listen for: %(themes)s.", themes=", ".join(labels)) if labels else ""


def add_item(
    showcase: Showcase, story: Story, *, clip: Clip | None = None, note: Any = None
) -> ShowcaseItem:
    """Add a whole story (or one clip of it), if its teller shares it for learning events."""
    core.make_room(showcase, MAX_ITEMS, SHOWCASE_WORDING, ShowcaseError)
    refusal = showcase_refusal(story)
    if refusal is not None:
        raise ShowcaseError(
            _(
                "“%(title)s” can't be shown at a learning event. %(reason)s",
                title=story.title,
                reason=refusal,
            )
        )
    if clip is not None and clip.story_id != story.id:
        raise ShowcaseError(_("That clip is from another story."))
    line = listen_for(story, clip) if note is None else _clean(note, MAX_TEXT, LISTENING_NOTE)
    return core.append(showcase, ShowcaseItem(story=story, clip=clip, listen_for=line))


# An item as the showcase shows it now, or why it is hidden (for its curator).
ShownItem = Shown[ShowcaseItem]


def items_now(showcase: Showcase) -> list[ShownItem]:
    """Every item with whether its consent still allows it: hidden ones vanish for the audience
    at once, and the curator sees why."""
    return [Shown(item, core.refusal_now(item.story, showcase_refusal)) for item in showcase.items]


@dataclass(frozen=True)
class Slide:
    """One item as the room sees it: introduced by its teller (as consented) and the audiences
    they chose, playing from ``start`` to ``end`` of its story."""

    item: ShowcaseItem
    teller: str
    audiences: str
    start: float
    end: float


def slides_for(showcase: Showcase) -> list[Slide]:
    """The presentation: items whose consent no longer allows them are simply not there."""
    slides = []
    for shown in items_now(showcase):
        if shown.refusal is not None:
            continue
        story = shown.item.story
        introduction = core.introduce(story)
        start, end = core.stretch(story, shown.item.clip)
        slides.append(Slide(shown.item, introduction.teller, introduction.audiences, start, end))
    return slides


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).hexdigest()


def new_code(showcase: Showcase) -> str:
    """Give the showcase a new event code; the code is shown once and only its hash is kept."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    showcase.code_hash = _hash(raw)
    return f"{raw[:4]}-{raw[4:]}"


def showcase_for_code(code: Any, now: datetime | None = None) -> Showcase | None:
    """The showcase an event code opens, only inside its event's time window; else None."""
    if not isinstance(code, str) or not 1 <= len(code) <= 20:
        return None
    showcase = db.session.scalar(select(Showcase).where(Showcase.code_hash == _hash(code)))
    if showcase is None or showcase.opens_at is None or showcase.closes_at is None:
        return None
    moment = now or utcnow()
    if not as_utc(showcase.opens_at) <= moment <= as_utc(showcase.closes_at):
        return None
    return showcase


# --- who may watch ------------------------------------------------------------------------------

CODE_SESSION_KEY = "event_showcase"
# The grant a visitor's session holds beside the showcase id: a keyed fingerprint of the code and
# the time window it was given for, so changing the code or moving the window ends it.
GRANT_SESSION_KEY = "event_grant"


def event_grant(showcase: Showcase) -> str:
    """A fingerprint of the showcase's current code and window, keyed with the app's secret.

    Kept in the visitor's session when they enter the code and compared on every request: the
    session holds no hash of the code itself (keyed, so it can't be guessed back offline).
    """
    from flask import current_app

    opens = as_utc(showcase.opens_at).isoformat() if showcase.opens_at else ""
    closes = as_utc(showcase.closes_at).isoformat() if showcase.closes_at else ""
    message = f"{showcase.id}|{showcase.code_hash or ''}|{opens}|{closes}".encode()
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def may_watch(
    user: Any,
    showcase: Showcase,
    code_showcase_id: Any,
    now: datetime | None = None,
    grant: Any = None,
) -> bool:
    """Its builders, the members it is shared with, and (during the event's time window only)
    whoever entered its event code may watch a showcase; nobody else.

    A code's grant holds only while the code and the window are the ones it was given for.
    """
    if getattr(user, "is_authenticated", False) and getattr(user, "is_active", False):
        if can_edit(user, showcase):  # curators, administrators, and the trainer who made it
            return True
        if core.is_shared_with(user, showcase.members):
            return True
    if code_showcase_id != showcase.id or showcase.opens_at is None or showcase.closes_at is None:
        return False
    if showcase.code_hash is None or not isinstance(grant, str):
        return False
    if not hmac.compare_digest(grant, event_grant(showcase)):
        return False  # the code was changed or taken away, or the window moved
    moment = now or utcnow()
    return as_utc(showcase.opens_at) <= moment <= as_utc(showcase.closes_at)


def shared_with(user: User) -> list[Showcase]:
    """The showcases shared with a member, soonest event first."""
    return core.shared_with(user, Showcase, ShowcaseMember.user_id, [Showcase.event_date])


# --- changing a showcase ------------------------------------------------------------------------


def can_edit(user: Any, showcase: Showcase) -> bool:
    """Curators and administrators look after every showcase; a trainer, their own."""
    if not can_build(user):
        return False
    return user.role in SHOWCASE_BUILDERS or showcase.owner_id == user.id


def showcases_built_by(user: User) -> list[Showcase]:
    """The showcases ``user`` looks after (staff: all of them), soonest event first."""
    query = select(Showcase).order_by(Showcase.event_date, Showcase.id)
    if user.role not in SHOWCASE_BUILDERS:
        query = query.where(Showcase.owner_id == user.id)
    return list(db.session.scalars(query))


def update_details(
    showcase: Showcase,
    title: Any,
    introduction: Any,
    *,
    event_date: date | None,
    event_place: Any,
    opens_at: datetime | None,
    closes_at: datetime | None,
) -> None:
    """Change a showcase's details and its event's time window."""
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ShowcaseError(_("The event must end after it starts."))
    showcase.title = _clean(title, MAX_TITLE, SHOWCASE_TITLE, required=True)
    showcase.introduction = _clean(introduction, MAX_TEXT, INTRODUCTION)
    showcase.event_date = event_date
    showcase.event_place = _clean(event_place, MAX_TITLE, PLACE)
    showcase.opens_at, showcase.closes_at = opens_at, closes_at


def item_of(showcase: Showcase, item_id: Any) -> ShowcaseItem | None:
    """The showcase's item with this id, or None."""
    return core.item_of(showcase, item_id)


def move_item(showcase: Showcase, item: ShowcaseItem, direction: Any) -> None:
    """Move an item one place up or down (or to the top or the bottom)."""
    core.move(showcase, item, direction, ShowcaseError)


def remove_item(showcase: Showcase, item: ShowcaseItem) -> None:
    """Take an item out of the showcase."""
    core.remove(showcase, item)


def set_listen_for(item: ShowcaseItem, text: Any) -> None:
    """Change the line that tells the audience what to listen for."""
    item.listen_for = _clean(text, MAX_TEXT, LISTENING_NOTE)
    core.touch(item.showcase)


def member_candidates() -> list[User]:
    """The member accounts a showcase can be shared with."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.MEMBER, User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def set_members(showcase: Showcase, user_ids: list[Any]) -> None:
    """Share the showcase with exactly these member accounts."""
    core.share_exactly(
        showcase.members,
        member_candidates(),
        user_ids,
        lambda person: ShowcaseMember(user=person),
        ShowcaseError,
    )
