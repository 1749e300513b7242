"""Other people in a story: the tools a curator uses to remove someone who did not agree.

The teller marks each other person in the release wizard as agreed or not (consent's
``third_parties``). While anyone is not agreed and not removed, consent.policy holds the story
back from every audience. Here a curator finds and removes the person's name from the words and
sound, covers the picture where they appear (storyhub.covers) or checks that they don't, and
records that the person is removed; or the teller records later that the person agreed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from consent import copies
from consent.models import ConsentStatus, ConsentVersion
from consent.policy import people_to_remove
from consent.services import ConsentError, person_removed
from storyhub import audit, jobs
from storyhub.covers import PictureCover, picture_covers
from storyhub.extensions import N_, db
from storyhub.models import Job, JobState, Passage, Story, User
from storyhub.processing import RENDER_STORY
from storyhub.transcripts import redact
from storyhub.words import find_phrase

# What a curator says about the picture of a video story, when recording a person removed.
PICTURE_CHOICES = ("covered", "absent")


@dataclass(frozen=True)
class Waiting:
    """One person to remove before a story may be shared."""

    story: Story
    index: int
    name: str


def people_waiting() -> list[Waiting]:
    """Everyone across the archive who must be removed (or agree) before their story is shared."""
    stories = db.session.scalars(
        select(Story)
        .join(ConsentVersion, Story.consent_id == ConsentVersion.id)
        .where(ConsentVersion.people_held.is_(True))
        .where(ConsentVersion.status == ConsentStatus.ACTIVE)
        .order_by(ConsentVersion.created_at)
    )
    return [
        Waiting(story, index, str(person.get("name", "")))
        for story in stories
        for index, person in people_to_remove(story.consent)
    ]


def name_places(story: Story, name: str) -> list[tuple[Passage, int, int]]:
    """Where ``name`` is still said in the story's words: (passage, first word, last word).

    Places already removed are left out. Each word of a longer name is looked for on its own too
    (a first name is often said alone).
    """
    phrases = [name.strip(), *(w for w in re.findall(r"\S+", name) if len(w) > 1)]
    places: list[tuple[Passage, int, int]] = []
    for passage in story.passages:
        taken: set[int] = set()
        for phrase in dict.fromkeys(p for p in phrases if p):
            for first, last in find_phrase(passage, phrase):
                run = range(first, last + 1)
                if taken.intersection(run):
                    continue
                if all(passage.words[i].get("redacted") for i in run):
                    continue
                taken.update(run)
                places.append((passage, first, last))
    return places


def remove_name(story: Story, name: str, by: User) -> int:
    """Remove every place ``name`` is still said: "[name removed]" in the words and captions,
    silent in the web copy (made again). Returns how many places were removed."""
    places = name_places(story, name)
    for passage, first, last in places:
        redact(passage, first, last, by)
    if places:
        jobs.submit(RENDER_STORY, story, message=N_("Silencing the removed words"))
    return len(places)


def _seconds(value: str) -> float:
    """Seconds from "75", "1:15" or "0:01:15" (what people read off a player)."""
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
        raise ValueError(value)
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def cover_picture(story: Story, start: str, end: str, by: User) -> PictureCover:
    """Cover the picture of a video story from ``start`` to ``end`` (e.g. "1:05"): the web copy
    is made again with that stretch blanked."""
    if story.kind != "video":
        raise ConsentError(_("This story has no picture to cover."))
    try:
        begin, finish = _seconds(start), _seconds(end)
    except ValueError:
        raise ConsentError(
            _("Please give the times as minutes and seconds, for example 1:05 to 1:20.")
        ) from None
    if not begin < finish:
        raise ConsentError(_("The end time must come after the start time."))
    if begin >= story.duration:
        raise ConsentError(_("That time is after the end of the story."))
    copies.before_removal(story)  # the web copy playing now still shows this stretch
    cover = PictureCover(
        story_id=story.id, start=begin, end=min(finish, story.duration), created_by_id=by.id
    )
    db.session.add(cover)
    db.session.flush()
    audit.record("story.picture_covered", actor=by, object_type="story", object_id=story.id,
                 cover=cover.id)  # fmt: skip
    jobs.submit(RENDER_STORY, story, message=N_("Covering the picture"))
    return cover


def _copy_waiting(story: Story) -> bool:
    """Whether the web copy is being made again (or failed to be), so may still show a name."""
    latest = db.session.scalar(
        select(Job)
        .where(Job.story_id == story.id, Job.kind == RENDER_STORY)
        .order_by(Job.id.desc())
        .limit(1)
    )
    return latest is not None and latest.state != JobState.DONE


def record_removed(story: Story, by: User, index: int, picture: str | None) -> Any:
    """Record that person ``index`` is out of the story, once it is true: their name is no longer
    in the words, and for a video the picture is covered where they appear or they don't appear.
    """
    consent = story.consent
    people = consent.third_parties if consent is not None else []
    if not 0 <= index < len(people):
        raise ConsentError(_("We couldn't find that person in this story. Please try again."))
    name = str(people[index].get("name", ""))
    places = name_places(story, name)
    if places:
        raise ConsentError(
            ngettext(
                "“%(name)s” is still in the words in %(num)d place. Remove it first, then come "
                "back here.",
                "“%(name)s” is still in the words in %(num)d places. Remove it first, then come "
                "back here.",
                len(places),
                name=name,
            )
        )
    if story.kind == "video":
        if picture not in PICTURE_CHOICES:
            raise ConsentError(
                _(
                    "Please say whether you covered the picture where %(name)s appears, "
                    "or checked that they don't appear.",
                    name=name,
                )
            )
        if picture == "covered" and not picture_covers(story):
            raise ConsentError(
                _(
                    "Nothing is covered in the picture yet. Cover where %(name)s appears first.",
                    name=name,
                )
            )
    else:
        picture = None
    if _copy_waiting(story):
        raise ConsentError(
            _(
                "The video is still being made again without them (or making it didn't work). "
                "Please come back when it is ready."
            )
        )
    return person_removed(story, by, index, picture)
