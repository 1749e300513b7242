"""The mechanics a training session and a showcase share.

Both are an ordered list of items (``position`` 0 first, kept gapless), changed by their builder,
shared with chosen people, and shown only item by item as each story's consent allows *now*. The
functions take the kind's own limit, wording and error class, so each kind keeps its own rules
(how many items, who may be chosen) while the way they are applied is written once. The caller
commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from consent.copies import web_copy_refusal
from consent.describe import audience_list, name_as_consented
from storyhub.extensions import (
    db,
)
from storyhub.models import Story, User, utcnow


class PlaylistError(ValueError):
    """A change to a playlist that can't be made; the message says why, in plain words."""


def in_language_of(user: Any) -> AbstractContextManager[None]:
    """Words the worker writes for ``user`` (a handout, a pack's page, title cards) in their
    account's language; English when they chose none (the browser they followed is not known
    to the worker)."""
    return force_locale(getattr(user, "language", None) or "en")


@dataclass(frozen=True)
class TextWording:
    """What a text box is refused with, as whole sentences (msgids marked with ``N_``), so each
    language can put its own words in its own order; ``too_long`` takes ``%(limit)s``."""

    missing: str
    too_long: str


@dataclass(frozen=True)
class PlaylistWording:
    """A kind of playlist's own refusals (msgids marked with ``N_``): ``full`` takes
    ``%(most)s``."""

    full: str
    order_mismatch: str
    changed: str


class Item(Protocol):
    @property
    def id(self) -> int: ...

    position: int


class Share(Protocol):
    @property
    def user_id(self) -> int: ...


ItemT = TypeVar("ItemT", bound=Item)
ShareT = TypeVar("ShareT", bound=Share)
RowT = TypeVar("RowT")


class Playlist(Protocol[ItemT]):
    @property
    def items(self) -> list[ItemT]: ...

    updated_at: datetime


def clean_text(
    value: Any,
    limit: int,
    what: TextWording,
    error: type[PlaylistError],
    *,
    required: bool = False,
) -> str:
    """``value`` as text without outer spaces, refused in plain words if missing or too long."""
    text = str(value or "").strip()
    if required and not text:
        raise error(gettext(what.missing))
    if len(text) > limit:
        raise error(gettext(what.too_long, limit=limit))
    return text


def row_by_id(model: type[RowT], raw_id: Any) -> RowT | None:
    """The row with this id, which came from a form, a URL or the API: anything odd is None."""
    try:
        return db.session.get(model, int(raw_id))
    except (TypeError, ValueError, OverflowError):
        return None


# --- the order ------------------------------------------------------------------------------


def item_of(playlist: Playlist[ItemT], item_id: Any) -> ItemT | None:
    """The playlist's item with this id (from a form or a URL), or None."""
    try:
        wanted = int(item_id)
    except (TypeError, ValueError, OverflowError):
        return None
    return next((i for i in playlist.items if i.id == wanted), None)


def make_room(
    playlist: Playlist[Any], most: int, wording: PlaylistWording, error: type[PlaylistError]
) -> None:
    """Refuse, in plain words, an item past the ``most`` a playlist of this kind may hold."""
    if len(playlist.items) >= most:
        raise error(gettext(wording.full, most=most))


def append(playlist: Playlist[ItemT], item: ItemT) -> ItemT:
    """Put ``item`` at the end of the playlist."""
    item.position = len(playlist.items)
    playlist.items.append(item)
    touch(playlist)
    return item


def remove(playlist: Playlist[ItemT], item: ItemT) -> None:
    """Take ``item`` out; those after it close the gap."""
    playlist.items.remove(item)
    _renumber(playlist)
    touch(playlist)


# How far each way of moving goes (the buttons send up and down; the keyboard also top, bottom).
MOVES = {"up": -1, "down": 1, "top": -(10**6), "bottom": 10**6}


def move(
    playlist: Playlist[ItemT], item: ItemT, direction: Any, error: type[PlaylistError]
) -> None:
    """Move an item one place up or down, or to the top or the bottom."""
    if direction not in MOVES:
        raise error(gettext("Please choose to move it up or down."))
    items = list(playlist.items)
    old = items.index(item)
    new = max(0, min(len(items) - 1, old + MOVES[direction]))
    items.insert(new, items.pop(old))
    _put_in_order(playlist, items)


def reorder(
    playlist: Playlist[ItemT],
    item_ids: Iterable[Any],
    wording: PlaylistWording,
    most: int,
    error: type[PlaylistError],
) -> None:
    """Put the items in the given order (dragging sends the whole new order).

    The list must name every item exactly once, so a stale page can't drop or duplicate one.
    """
    by_id = {item.id: item for item in playlist.items}
    # Read no more of the list than a playlist can hold: a longer one can't be this one's.
    item_ids = list(itertools.islice(item_ids, most + 1))
    try:
        wanted = [int(i) for i in item_ids]
    except (TypeError, ValueError, OverflowError):
        raise error(gettext(wording.order_mismatch)) from None
    if sorted(wanted) != sorted(by_id):
        raise error(gettext(wording.changed))
    _put_in_order(playlist, [by_id[i] for i in wanted])


def _put_in_order(playlist: Playlist[ItemT], items: list[ItemT]) -> None:
    # Rebuild the ordered list, so the relationship's order matches the new positions.
    playlist.items[:] = items
    _renumber(playlist)
    touch(playlist)


def _renumber(playlist: Playlist[Any]) -> None:
    for position, item in enumerate(playlist.items):
        item.position = position


def touch(playlist: Playlist[Any]) -> None:
    """Items changing is the playlist changing: it moves to the top of lists by last change."""
    playlist.updated_at = utcnow()


# --- sharing --------------------------------------------------------------------------------


def share_exactly(
    shares: list[ShareT],
    candidates: Sequence[User],
    user_ids: Iterable[Any],
    make: Callable[[User], ShareT],
    error: type[PlaylistError],
) -> list[int]:
    """Make ``shares`` name exactly the chosen people, who must all be among ``candidates``;
    the ids shared with, in order."""
    allowed = {u.id: u for u in candidates}
    try:
        wanted = {int(i) for i in user_ids}
    except (TypeError, ValueError, OverflowError):
        raise error(gettext("Please choose people from the list.")) from None
    if not wanted <= set(allowed):
        raise error(gettext("Please choose people from the list."))
    for share in list(shares):
        if share.user_id not in wanted:
            shares.remove(share)
    have = {s.user_id for s in shares}
    for user_id in sorted(wanted - have):
        shares.append(make(allowed[user_id]))
    return sorted(wanted)


def is_shared_with(user: Any, shares: Iterable[Share]) -> bool:
    """Whether ``user`` is among the people a playlist is shared with."""
    user_id = getattr(user, "id", None)
    return user_id is not None and any(s.user_id == user_id for s in shares)


def shared_with(
    user: User,
    model: type[RowT],
    share_user_id: InstrumentedAttribute[int],
    order_by: Any,
) -> list[RowT]:
    """The playlists of one kind shared with ``user`` (``share_user_id``: the share's column)."""
    return list(
        db.session.scalars(
            select(model)
            .join(share_user_id.class_)
            .where(share_user_id == user.id)
            .order_by(*order_by)
        )
    )


# --- each item's consent, asked when it is listed or played -----------------------------------


@dataclass(frozen=True)
class Shown(Generic[ItemT]):
    """An item as the playlist shows it now, or why it is hidden (its builder sees why)."""

    item: ItemT
    refusal: str | None


def refusal_now(story: Story, consent_rule: Callable[[Story], str | None]) -> str | None:
    """Why ``story`` can't be shown now: its teller's consent for this use (``consent_rule``,
    asked of consent/), then whether its web copy is there (it is made again after a
    redaction, and the story waits for it). None: it may be shown."""
    return consent_rule(story) or web_copy_refusal(story)


@dataclass(frozen=True)
class Introduction:
    """How a story is introduced where it plays: its teller, named as they consented, and the
    audiences they chose, in plain words."""

    teller: str
    audiences: str


def introduce(story: Story) -> Introduction:
    """The introduction for ``story`` as its consent stands now."""
    return Introduction(
        teller=name_as_consented(story),
        audiences=audience_list(story.consent.audiences if story.consent else set()),
    )


class Span(Protocol):
    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


def stretch(story: Story, clip: Span | None) -> tuple[float, float]:
    """The seconds of ``story`` an item plays: its clip's, or the whole story."""
    if clip is not None:
        return clip.start, clip.end
    return 0.0, story.duration
