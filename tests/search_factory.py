"""Stories with words, for the search tests: real rows, real consent, real confirmed themes.

Search starts where processing ends (passages in the database), so these stories are written
as processing would leave them, without spending a minute of Whisper on each; the media path is
tested on its own elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from consent.models import Audience
from consent.services import Choices, release, take_part
from storyhub.extensions import db
from storyhub.models import (
    Language,
    MediaFile,
    MediaRole,
    Passage,
    ServiceSetting,
    Story,
    StoryState,
    TellerKind,
    Transcript,
    User,
)
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus


def words_of(text: str, start: float) -> list[dict[str, Any]]:
    """Word timings for ``text`` at two words a second."""
    return [
        {"start": start + i * 0.5, "end": start + i * 0.5 + 0.4, "text": w, "redacted": False}
        for i, w in enumerate(text.split())
    ]


def make_story(
    teller: User,
    passages: Sequence[str],
    *,
    title: str = "A story",
    audiences: set[Audience] | None = None,
    language: Language = Language.ENGLISH,
    teller_kind: TellerKind = TellerKind.SERVICE_USER,
    setting: ServiceSetting = ServiceSetting.NOT_SAID,
    created: date | None = None,
    themes: dict[int, Sequence[str]] | None = None,
    suggested: dict[int, Sequence[str]] | None = None,
    clips_allowed: bool = False,
) -> Story:
    """A ready story with ``passages`` (30 s each), released to ``audiences`` (None: private).

    ``themes`` maps a passage's position to subtheme keys confirmed on it; ``suggested`` to keys
    only suggested (which search must not count).
    """
    story = Story(
        title=title,
        language=language,
        teller_kind=teller_kind,
        setting=setting,
        storyteller=teller,
        uploaded_by=teller,
        kind="audio",
        duration=30.0 * len(passages),
        state=StoryState.READY,
    )
    if created is not None:
        story.created_at = datetime(created.year, created.month, created.day, 12, tzinfo=UTC)
    db.session.add(story)
    # A web copy's record, so releasing it does not ask for one to be made from media it lacks.
    story.media.append(
        MediaFile(
            role=MediaRole.RENDITION,
            storage_key=f"search-tests/{uuid.uuid4().hex}.m4a",
            content_type="audio/mp4",
            size_bytes=0,
        )
    )
    story.transcript = Transcript(language=language.value, model="test")
    for position, text in enumerate(passages):
        start = 30.0 * position
        story.passages.append(
            Passage(
                position=position,
                start=start,
                end=start + 30.0,
                text=text,
                words=words_of(text, start),
            )
        )
    db.session.flush()
    subthemes = {s.key: s for s in db.session.scalars(select(Subtheme))}
    for status, chosen in ((TagStatus.CONFIRMED, themes), (TagStatus.SUGGESTED, suggested)):
        for position, keys in (chosen or {}).items():
            for key in keys:
                story.passages[position].themes.append(
                    PassageTheme(subtheme=subthemes[key], status=status)
                )
    take_part(story, teller)
    if audiences is not None:
        release(
            story,
            teller,
            Choices(audiences=set(audiences), clips_allowed=clips_allowed),
            watched=True,
        )
    db.session.commit()
    return story
