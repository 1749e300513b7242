"""The consent policy: may this person see this story, for this purpose, today?

One rule, asked by every read path (story pages, media bytes, lists, the API, and later search
results, clips, sessions, showcases, exports and the dashboard):

- nobody sees an erased story;
- the teller always sees their own story, and staff (curators, administrators) see every story
  they look after, so they can help, review and act on withdrawals;
- anyone else sees a story only when its current consent is active, released (step 2), not past
  its review date, and includes the audience that this person's purpose belongs to, and nobody
  else in the story is waiting to be removed (someone the teller marked as not agreeing, whose
  name and picture a curator has not yet taken out): the release wizard promises that;
- and not while it is held back (``StoryState.FAILED``: e.g. its web copy could not be made again
  without words a curator removed), until staff have it prepared again.

``can_view`` answers for one story; ``viewable_stories`` is the same rule as a SQL condition for
lists, and a test checks the two always agree.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, false, or_

from consent.models import Audience, ConsentStatus, ConsentVersion, waiting
from consent.records import utcnow
from consent.roles import Role
from consent.stories import ConsentedStory, StoryState, stories
from search.query import Scope, day_number

# Staff who support storytellers: they may see and manage every story that is not erased.
STORY_STAFF = (Role.CURATOR, Role.ADMIN)


class Purpose(enum.StrEnum):
    """Why someone wants to see a story; consent is given per audience, so per purpose."""

    OWN = "own"  # the teller's own use, and staff looking after the story
    TRAINING = "training"  # workforce trainers
    LEARNING_EVENT = "learning_event"  # elected members and senior managers
    STATISTICS = "statistics"  # anonymised counts on the dashboard
    MANAGE = "manage"  # change details, retry, withdraw on the teller's behalf


# The audience a purpose needs the teller to have chosen.
PURPOSE_AUDIENCE = {
    Purpose.TRAINING: Audience.TRAINING,
    Purpose.LEARNING_EVENT: Audience.LEARNING_EVENTS,
    Purpose.STATISTICS: Audience.STATISTICS,
}

# The purpose a role reads stories for, when it isn't the teller's or staff's own.
ROLE_PURPOSE = {
    Role.TRAINER: Purpose.TRAINING,
    Role.MEMBER: Purpose.LEARNING_EVENT,
}


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_active", False)
    )


def purpose_for(user: Any) -> Purpose:
    """The purpose this person reads stories for by default."""
    return ROLE_PURPOSE.get(getattr(user, "role", None), Purpose.OWN)  # type: ignore[arg-type]


def today() -> date:
    """Today's date in UTC: review dates are compared against it."""
    return utcnow().date()


def shared_for(consent: ConsentVersion | None, purpose: Purpose, on: date | None = None) -> bool:
    """Whether a consent version lets its story be shown for ``purpose`` on date ``on``."""
    audience = PURPOSE_AUDIENCE.get(purpose)
    if consent is None or audience is None:
        return False
    if consent.status != ConsentStatus.ACTIVE or consent.released_at is None:
        return False
    if consent.review_date is not None and consent.review_date < (on or today()):
        return False
    if people_to_remove(consent):
        return False  # the wizard promised their name goes before anyone else sees the story
    return audience in consent.audiences


def people_to_remove(consent: ConsentVersion | None) -> list[tuple[int, dict[str, Any]]]:
    """(index, person) for each other person in the story who has not agreed and is not removed."""
    if consent is None:
        return []
    return [(i, dict(p)) for i, p in enumerate(consent.third_parties or ()) if waiting(p)]


def can_view(user: Any, story: ConsentedStory, purpose: Purpose | None = None) -> bool:
    """Whether ``user`` may see ``story`` for ``purpose`` (default: their role's purpose)."""
    if not _signed_in(user):
        return False
    consent = story.consent
    if consent is not None and consent.status == ConsentStatus.ERASED:
        return False
    if story.storyteller_id == user.id or user.role in STORY_STAFF:
        return True
    purpose = purpose or purpose_for(user)
    if ROLE_PURPOSE.get(user.role) != purpose:
        return False  # a trainer reads for training, a member for learning events; no other
    if story.state == StoryState.FAILED:
        return False  # held back: its only web copy may still hold words that were removed
    return shared_for(consent, purpose)


def can_manage(user: Any, story: ConsentedStory) -> bool:
    """Whether ``user`` may change, withdraw or retry ``story``: its teller, or staff."""
    if not _signed_in(user):
        return False
    consent = story.consent
    if consent is not None and consent.status == ConsentStatus.ERASED:
        return False
    return bool(story.storyteller_id == user.id or user.role in STORY_STAFF)


# The upload as it came, and the sound taken from it, still hold every name a curator removed
# (the web copy and the captions are made again without them).
UNREDACTED_MEDIA = frozenset({"original", "audio"})


def may_fetch_media(user: Any, story: ConsentedStory, media_role: str) -> bool:
    """Whether ``user`` may fetch ``story``'s media file of ``media_role``: the web copy and its
    picture for whoever may see the story; the unredacted files for its teller and staff only."""
    if media_role in UNREDACTED_MEDIA:
        return can_manage(user, story)
    if media_role == "thumbnail":
        return can_view(user, story)  # its picture: the card that says it can't be played yet
    # A story plays only with its captions: while its words wait for a person's check (see
    # words_need_checking), only its teller and staff may play it.
    return may_read_words(user, story)


def can_redact(user: Any, story: ConsentedStory) -> bool:
    """Whether ``user`` may remove names or places from ``story`` (staff who look after it).

    Third parties who did not agree to be in a story must be removed; deciding what identifies
    someone is a curator's job, not the teller's.
    """
    return can_manage(user, story) and user.role in STORY_STAFF


def can_tag_themes(user: Any, story: ConsentedStory) -> bool:
    """Whether ``user`` may confirm, reject or add outcome themes on ``story``'s passages.

    Confirmed themes are what search facets and the dashboard count, so confirming is the same
    editorial job as redaction: staff who look after the story. Everyone who may see the story
    sees its confirmed themes.
    """
    return can_redact(user, story)


def viewable_stories(user: Any, purpose: Purpose | None = None) -> ColumnElement[bool]:
    """A SQL condition on the stories table matching exactly the stories ``can_view`` allows.

    Joins nothing itself: it uses the story's current version through an EXISTS.
    """
    if not _signed_in(user):
        return false()
    not_erased = ~_current_consent(ConsentVersion.status == ConsentStatus.ERASED)
    own = stories().c.storyteller_id == user.id
    if user.role in STORY_STAFF:
        return not_erased
    purpose = purpose or purpose_for(user)
    audience = PURPOSE_AUDIENCE.get(purpose)
    if ROLE_PURPOSE.get(user.role) != purpose or audience is None:
        return and_(not_erased, own)
    held_back = stories().c.state == StoryState.FAILED
    return and_(not_erased, or_(own, and_(~held_back, shared_with(audience))))


def _current_consent(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A SQL condition on the stories table: the story's current consent version meets
    ``condition`` (an EXISTS on it, as ``Story.consent.has`` would write it)."""
    current = ConsentVersion.id == stories().c.consent_id
    return exists().where(current, condition).correlate_except(ConsentVersion)


def shared_with(audience: Audience) -> ColumnElement[bool]:
    """A SQL condition on ``Story``: shared for ``audience`` today (``shared_for`` as SQL)."""
    return _current_consent(
        and_(
            ConsentVersion.status == ConsentStatus.ACTIVE,
            ConsentVersion.released_at.is_not(None),
            or_(ConsentVersion.review_date.is_(None), ConsentVersion.review_date >= today()),
            ConsentVersion.people_held.is_(False),
            getattr(ConsentVersion, f"audience_{audience.value}").is_(True),
        )
    )


# --- search: what the index carries, and whom a search may reach ------------------------------
# The index is a projection that can lag, so results are checked again with ``can_view`` when
# read; these rules make the index itself leave out what the person may not see.


def listed_in_search(story: ConsentedStory) -> bool:
    """Whether ``story``'s passages belong in the search index: not withdrawn, not erased.

    A withdrawn story is taken out of search for everyone, staff included: withdrawal means
    "stop using my story", and search is where stories are found for use.
    """
    consent = story.consent
    if words_need_checking(story):
        return False  # its words are the machine's guesses until a person checks them
    return consent is None or consent.status == ConsentStatus.ACTIVE


def shared_audiences(consent: ConsentVersion | None) -> tuple[str, ...]:
    """The audiences the index may offer ``consent``'s story to: none until it is released."""
    if consent is None or consent.status != ConsentStatus.ACTIVE or consent.released_at is None:
        return ()
    if people_to_remove(consent):
        return ()
    return tuple(sorted(a.value for a in consent.audiences))


def search_scope(user: Any, purpose: Purpose | None = None) -> Scope:
    """Which indexed passages ``user`` may find: the same rule as ``viewable_stories``."""
    if not _signed_in(user):
        return Scope()
    if user.role in STORY_STAFF:
        return Scope(everything=True)
    purpose = purpose or purpose_for(user)
    audience = PURPOSE_AUDIENCE.get(purpose)
    if ROLE_PURPOSE.get(user.role) != purpose or audience is None:
        return Scope(teller_id=user.id)
    return Scope(teller_id=user.id, audience=audience.value, today=day_number(today()) or 0)


# --- clips, sessions and their exports --------------------------------------------------------
# A clip is cut for training, so the teller must share the story for training AND allow clips,
# whoever cuts it (staff too). Clips follow their story: these rules are asked every time a clip is
# shown, played or exported, never only when it was cut.

CLIP_ROLES = (Role.TRAINER, Role.CURATOR, Role.ADMIN)


def _sharing_refusal(story: ConsentedStory, audience: Audience, on: date | None) -> str | None:
    """Why ``story`` may not be shown to ``audience`` on ``on`` (today), in plain words (in the
    page's language)."""
    consent = story.consent
    if consent is None or (consent.status == ConsentStatus.ACTIVE and consent.released_at is None):
        return _("Its storyteller has not shared it yet.")
    if consent.status == ConsentStatus.ERASED:
        return _("Its storyteller erased it.")
    if consent.status == ConsentStatus.WITHDRAWN:
        return _("Its storyteller withdrew it.")
    if consent.review_date is not None and consent.review_date < (on or today()):
        return _(
            "Its sharing ended on %(date)s and has not been renewed.",
            date=format_date(consent.review_date, "d MMMM y"),
        )
    if story.state == StoryState.FAILED:
        return _("It is held back until its video is ready again.")
    if people_to_remove(consent):
        return _(
            "Someone in it has not agreed to be in it, and a curator has not removed them "
            "from it yet."
        )
    if audience not in consent.audiences:
        if audience == Audience.TRAINING:
            return _("Its storyteller no longer shares it for training.")
        if audience == Audience.LEARNING_EVENTS:
            return _(
                "Its storyteller has not chosen learning events (councillors and senior "
                "managers) for it."
            )
        return _("Its storyteller has not chosen %(audience)s for it.", audience=audience.label)
    return None


def clip_refusal(story: ConsentedStory, on: date | None = None) -> str | None:
    """Why ``story``'s clips may not be used in training now, in plain words; None if they may."""
    refusal = _sharing_refusal(story, Audience.TRAINING, on)
    if refusal is None and story.consent is not None and not story.consent.clips_allowed:
        return _("Its storyteller does not allow clips to be made from it.")
    if refusal is None and words_need_checking(story):
        return _words_refusal()
    return refusal


def can_clip(user: Any, story: ConsentedStory) -> bool:
    """Whether ``user`` may cut a new clip from ``story`` (and use clips of it) today."""
    if not _signed_in(user) or user.role not in CLIP_ROLES:
        return False
    return can_view(user, story) and clip_refusal(story) is None


# --- showcases for learning events -----------------------------------------------------------
# Elected members watch curated stories at events. A story (or a clip of it) may be in a
# showcase only while its teller shares it for learning events; asked at every view.

SHOWCASE_BUILDERS = (Role.CURATOR, Role.ADMIN)


def may_build_showcases(user: Any) -> bool:
    """Curators and administrators, and trainers an administrator has given permission to."""
    if not _signed_in(user):
        return False
    if user.role in SHOWCASE_BUILDERS:
        return True
    return user.role == Role.TRAINER and bool(getattr(user, "builds_showcases", False))


def showcase_stories(user: Any) -> ColumnElement[bool]:
    """A SQL condition on ``Story``: the stories ``user`` may consider for a showcase.

    Staff consider every story they look after (the builder says why most can't go in); a
    trainer with permission sees only stories released for learning events, for that purpose.
    """
    if not may_build_showcases(user):
        return false()
    if user.role in STORY_STAFF:
        return viewable_stories(user)
    return shared_with(Audience.LEARNING_EVENTS)


def showcase_refusal(story: ConsentedStory, on: date | None = None) -> str | None:
    """Why ``story`` may not be shown at a learning event now, in plain words; None if it may."""
    refusal = _sharing_refusal(story, Audience.LEARNING_EVENTS, on)
    if refusal is None and words_need_checking(story):
        return _words_refusal()
    return refusal


# --- the outcomes dashboard -------------------------------------------------------------------
# The dashboard counts confirmed themes in the stories whose tellers chose anonymous statistics.
# Counting needs only that choice; seeing the passages behind a count needs the viewer's own
# ``can_view`` as well, so a count never opens a passage its teller did not share with them.

DASHBOARD_ROLES = (Role.CURATOR, Role.ADMIN, Role.TRAINER, Role.MEMBER)


def may_see_dashboard(user: Any) -> bool:
    """Staff, trainers and members (managers and councillors) see the anonymous counts."""
    return _signed_in(user) and user.role in DASHBOARD_ROLES


def counted_in_statistics(story: ConsentedStory) -> bool:
    """Whether the dashboard counts ``story``'s confirmed themes today."""
    return shared_for(story.consent, Purpose.STATISTICS)


def counted_stories() -> ColumnElement[bool]:
    """``counted_in_statistics`` as a SQL condition on ``Story``."""
    return shared_with(Audience.STATISTICS)


# --- coding exported for research (REFI-QDA, CSV) ----------------------------------------------
# A researcher takes the passages' words and themes into another program, out of the archive's
# reach: staff choose what goes, and only stories whose tellers share them for training (staff in
# this organisation learning from their experience) can go.


def coding_export_stories(user: Any) -> ColumnElement[bool]:
    """A SQL condition on ``Story``: the stories whose coding ``user`` may export today.

    Staff only (curators, administrators), and only stories they look after whose current consent
    is released for training and in force: never a withdrawn, erased or expired one, nor one
    held back (until someone who did not agree is removed from it, or while it is
    ``StoryState.FAILED``), as a trainer would not see it either.
    """
    if not _signed_in(user) or user.role not in STORY_STAFF:
        return false()
    held_back = stories().c.state == StoryState.FAILED
    return and_(viewable_stories(user), ~held_back, shared_with(Audience.TRAINING))


# --- words the machine could not follow ------------------------------------------------------
# A machine transcript judged poor (media_pipeline.recognition: e.g. Whisper looping on Welsh it
# can't follow) is guesses, not the teller's words. Its teller and staff see it, with a notice,
# to correct it; nobody else is shown its words (page, captions, search, clips, showcases) until
# a person approves them. Releasing the story does not approve such words by itself.

POOR_RECOGNITION = "poor"  # media_pipeline.recognition.POOR, as stored on the transcript


def words_need_checking(story: ConsentedStory) -> bool:
    """Whether ``story``'s words are a poor machine transcript that no person has approved."""
    transcript = story.transcript
    return transcript is not None and getattr(transcript, "recognition", None) == POOR_RECOGNITION


def may_read_words(user: Any, story: ConsentedStory) -> bool:
    """Whether ``user`` may read ``story``'s words and captions: whoever may see it, except that
    words waiting to be checked are for its teller and staff only."""
    if not can_view(user, story):
        return False
    return can_manage(user, story) or not words_need_checking(story)


def _words_refusal() -> str:
    return _("Its words are waiting to be checked by its storyteller.")
