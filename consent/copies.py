"""Copies: every file made from stories, bound to what it was made from.

A session export, a showcase's offline pack, a clip's file and the audience web copy are each
recorded as a ``Copy``: the files it is made of and, for each story in it, the consent version,
the naming choice and the redaction state (the app's fingerprint of what was removed from the
story: ``Archive.redaction_state``) it was made under. ``copy_refusal`` is the one rule for
handing a copy out: every story in it must still allow the copy's purpose today, and nothing
recorded may have changed since, except a consent version that only renews or widens (it keeps
every audience, the clip permission and the naming). A copy refused is deleted by the same
mechanism, found by the stories it holds: after a withdrawal, erasure, consent change or
redaction (``story_changed``), and by the regular sweep for expiry, which has no event of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent.archive import archive, session
from consent.models import ConsentStatus, ConsentVersion
from consent.policy import Purpose, clip_refusal, showcase_refusal
from consent.records import Record, utcnow
from consent.stories import ConsentedStory

# The app's name for a story's web-playable copy among its media files (``RENDITION``).
RENDITION = "rendition"


class CopyKind:
    """What a copy is; also the name its owner registers with ``storyhub.registry.on_forget``."""

    WEB_COPY = "web_copy"  # the story's web-playable rendition (subject: the story)
    EXPORT = "export"  # a training session's export (subject: the export)
    PACK = "pack"  # a showcase's offline pack (subject: the pack)
    CLIP_FILE = "clip_file"  # one clip cut as a file (subject: the clip)


class Copy(Record):
    """One file (or set of files) made from stories, and what it was made from."""

    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(index=True)  # the export, pack, clip or story
    # The purpose every story in it must still allow; "" for the web copy, whose viewers are
    # asked ``can_view`` at every request, so only what it was made from binds it.
    purpose: Mapped[str] = mapped_column(String(20), default="")
    file_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when its files were deleted, with why (in plain words, without any story's title).
    gone_at: Mapped[datetime | None]
    gone_reason: Mapped[str] = mapped_column(Text, default="")

    stories: Mapped[list[CopyStory]] = relationship(
        back_populates="copy", cascade="all, delete-orphan"
    )


class CopyStory(Record):
    """One story held by a copy, with the states it was made under."""

    __tablename__ = "copy_stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("copies.id"), index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent_versions.id"))
    naming: Mapped[str] = mapped_column(String(24), default="")
    redaction_state: Mapped[str] = mapped_column(String(64), default="")

    copy: Mapped[Copy] = relationship(back_populates="stories")
    story: Mapped[Any] = relationship("Story")  # untranslated: a model name (ConsentedStory)
    consent: Mapped[ConsentVersion | None] = relationship()


# Why a story may not be in a copy made for a purpose, today (None: it may).
PURPOSE_RULES: dict[str, Callable[[ConsentedStory, date | None], str | None]] = {
    Purpose.TRAINING.value: clip_refusal,  # exports and clip files are made of clips
    Purpose.LEARNING_EVENT.value: showcase_refusal,
}


def N_(message: str) -> str:
    """Mark ``message`` for translation; it is stored in English and translated when shown."""
    return message


def web_copy_stale() -> str:
    """Why a web copy made before words were removed can't be used yet (the page's language)."""
    return _(
        "Its video is being made again without the words that were removed. "
        "Please try again in a few minutes."
    )


def made_from(story: ConsentedStory) -> CopyStory:
    """What a copy made from ``story`` now is made under (attach it with ``record``)."""
    consent = story.consent
    return CopyStory(
        story_id=story.id,
        consent_id=story.consent_id,
        naming=consent.naming.value if consent is not None else "",
        redaction_state=archive().redaction_state(story),
    )


def record(
    kind: str, subject_id: int, purpose: Purpose | None, held: Iterable[CopyStory], keys: list[str]
) -> Copy:
    """Record a copy just made (replacing the record of an older copy of the same thing)."""
    for old in session().scalars(
        select(Copy).where(Copy.kind == kind, Copy.subject_id == subject_id)
    ):
        session().delete(old)
    made = Copy(
        kind=kind,
        subject_id=subject_id,
        purpose=purpose.value if purpose is not None else "",
        file_keys=list(keys),
        stories=list(held),
    )
    session().add(made)
    session().flush()
    return made


def copy_of(kind: str, subject_id: int) -> Copy | None:
    """The record of the copy of ``kind`` made for ``subject_id``, if there is one."""
    mine = select(Copy).where(Copy.kind == kind, Copy.subject_id == subject_id)
    return session().scalar(mine.order_by(Copy.id.desc()))


def only_widens(old: ConsentVersion, new: ConsentVersion) -> bool:
    """Whether ``new`` keeps everything ``old`` allowed: a renewal, or a change that only adds
    audiences (or clips). Such a version leaves copies made under ``old`` valid."""
    return (
        new.status == ConsentStatus.ACTIVE
        and new.released_at is not None
        and new.audiences >= old.audiences
        and (new.clips_allowed or not old.clips_allowed)
        and new.naming == old.naming
    )


def _story_refusal(held: CopyStory, purpose: str, on: date | None) -> str | None:
    """Why the copy can't hold ``held``'s story any more, in plain words; None if it still may."""
    story = held.story
    consent = story.consent
    if consent is not None and consent.status == ConsentStatus.ERASED:
        return _("A story in it was erased by its storyteller.")
    if purpose:
        refusal = PURPOSE_RULES[purpose](story, on)
        if refusal is not None or consent is None:
            if refusal is None:
                return _("A story in it can't be used for this any more.")
            return _("A story in it can't be used for this any more. %(reason)s", reason=refusal)
        if held.naming != consent.naming.value:
            return _("The storyteller of a story in it changed how their name is shown.")
        if held.consent_id != consent.id and (
            held.consent is None or not only_widens(held.consent, consent)
        ):
            return _("The storyteller of a story in it changed what they share.")
    if held.redaction_state != archive().redaction_state(story):
        return _("A name or place was removed from a story in it since it was made.")
    return None


def copy_refusal(copy: Copy | None, on: date | None = None) -> str | None:
    """Why ``copy`` may not be handed out now, in plain words; None when it may."""
    if copy is None:
        return _("We have no record of what this copy holds. Please make it again.")
    if copy.gone_at is not None:
        return copy.gone_reason or _("This copy was deleted.")
    for held in copy.stories:
        refusal = _story_refusal(held, copy.purpose, on)
        if refusal is not None:
            return _(
                "%(reason)s Please make it again: a new one follows the story as it is now.",
                reason=refusal,
            )
    return None


def web_copy_refusal(story: ConsentedStory) -> str | None:
    """Why ``story``'s web copy (and anything cut from it) may not be used now; None if it may.

    A web copy made before copies were recorded has no record and is taken as current.
    """
    if story.media_file(RENDITION) is None:
        return _("Its video is being prepared again. Please try later.")
    made = copy_of(CopyKind.WEB_COPY, story.id)
    if made is not None and copy_refusal(made) is not None:
        return web_copy_stale()
    return None


def before_removal(story: ConsentedStory) -> None:
    """Call just before something is removed from ``story``: a web copy made before copies were
    recorded is recorded now, as made under the state before the removal, so it is stale after."""
    rendition = story.media_file(RENDITION)
    if rendition is not None and copy_of(CopyKind.WEB_COPY, story.id) is None:
        record(CopyKind.WEB_COPY, story.id, None, [made_from(story)], [rendition.storage_key])


# --- deleting copies that may no longer be handed out ---------------------------------------

PURGE_COPIES = "purge_copies"


def holding(story_id: int) -> list[Copy]:
    """Every copy (its files not yet deleted) that holds the story."""
    held = select(CopyStory.copy_id).where(CopyStory.story_id == story_id)
    # A subquery, not a DISTINCT join: PostgreSQL can't compare the JSON column for DISTINCT.
    return list(session().scalars(select(Copy).where(Copy.id.in_(held), Copy.gone_at.is_(None))))


def story_changed(story: ConsentedStory) -> None:
    """A story's consent, naming or words changed: check (in a job) every copy holding it."""
    if holding(story.id):
        archive().submit_job(PURGE_COPIES, story, N_("Removing the copies made for others"))


def forget(copy: Copy, reason: str) -> None:
    """Delete ``copy``'s files; it is refused from now on with ``reason`` (no titles in it)."""
    for key in copy.file_keys:
        archive().delete_file(key)
    copy.gone_at = utcnow()
    copy.gone_reason = reason
    archive().copy_forgotten(copy)  # its owner clears what points at the files
    copy.file_keys = []
    archive().audit("copy.deleted", object_type=copy.kind, object_id=copy.subject_id)


def forget_refused(copies: Iterable[Copy]) -> int:
    """Delete the files of every copy in ``copies`` that may no longer be handed out."""
    count = 0
    for copy in copies:
        refusal = copy_refusal(copy)
        if refusal is not None:
            forget(copy, refusal)
            count += 1
    return count


def purge(story_id: int) -> None:
    """Delete the copies holding the story that may no longer be handed out (safe to rerun).

    The ``purge_copies`` job runs this. An erased story's copy records go too, once their files
    are deleted.
    """
    forget_refused(holding(story_id))
    current = select(ConsentVersion).where(ConsentVersion.story_id == story_id)
    consent = session().scalar(current.order_by(ConsentVersion.version.desc()))
    if consent is not None and consent.status == ConsentStatus.ERASED:
        for held in (
            session().scalars(select(CopyStory).where(CopyStory.story_id == story_id)).all()
        ):
            alone = all(other.story_id == held.story_id for other in held.copy.stories)
            session().delete(held.copy if alone else held)
    session().commit()


def forget_stale() -> None:
    """The sweep: delete copies refused without an event (a review date passed)."""
    forget_refused(session().scalars(select(Copy).where(Copy.gone_at.is_(None))).all())
    session().commit()
