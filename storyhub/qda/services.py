"""Taking the coding elsewhere: confirmed themes out as a REFI-QDA project or CSV, and a REFI-QDA
codebook in as subthemes.

Which stories go is consent's rule (``consent.policy.coding_export_stories``); this module only
gathers them. Words are as shown (``passage_words_text``: removed names stay removed), the teller
is named only as their consent says, and each export is audit-recorded by who and how many stories
(never titles or words, which erasure must be able to take back).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from consent.describe import name_as_consented
from consent.policy import coding_export_stories, viewable_stories
from media_pipeline.tagger import shipped_taxonomy
from storyhub import audit
from storyhub.extensions import db
from storyhub.models import Passage, Story, User, utcnow
from storyhub.qda import refi
from storyhub.spreadsheets import inert
from storyhub.themes.models import KIND_LABELS, PassageTheme, Subtheme, TagStatus, ThemeKind
from storyhub.themes.services import ThemeError, add_subtheme, all_subthemes, passage_words_text
from storyhub.words import display_words

# Between passages in a story's text: a blank line, so each passage reads as a paragraph.
PASSAGE_BREAK = "\n\n"
# Words whose times lie within a span's, as passage_words_text picks them.
_SPAN_SLACK = 0.01

CSV_COLUMNS = (
    "story_id",
    "story",
    "teller",
    "passage_start",
    "passage_end",
    "span_start",
    "span_end",
    "words",
    "kind",
    "subtheme",
    "valence",
    "decided_on",
)


# Stories read from the database at a time: an export holds plain text and numbers, not rows,
# so the rows (each passage's timed words) can be let go batch by batch.
STORIES_AT_ONCE = 50


@dataclass(frozen=True)
class Coder:
    id: int
    name: str


@dataclass(frozen=True)
class Coded:
    """A confirmed theme, as an export needs it."""

    tag_id: int
    subtheme_key: str
    subtheme: str
    kind: ThemeKind
    valence: str  # its label ("Good experience"), or "" when not marked
    decided_by: Coder | None
    decided_at: datetime | None


@dataclass
class Segment:
    """A coded passage, or a coded span of one: where it is in the story's text, and its themes."""

    passage_id: int
    position: int
    passage_start: float
    passage_end: float
    span: tuple[float, float] | None
    start: int  # characters into the story's text
    end: int
    words: str
    tags: list[Coded] = field(default_factory=list)


@dataclass
class CodedStory:
    story_id: int
    title: str
    teller: str  # as the teller's consent lets them be named
    text: str  # the passages' words as shown, one paragraph each
    segments: list[Segment]


def _has_confirmed_theme() -> Any:
    return exists().where(
        Passage.story_id == Story.id,
        PassageTheme.passage_id == Passage.id,
        PassageTheme.status == TagStatus.CONFIRMED,
    )


def exportable_story_ids(user: User) -> list[int]:
    """The stories with confirmed themes whose coding ``user`` may export, oldest first."""
    return list(
        db.session.scalars(
            select(Story.id)
            .where(coding_export_stories(user), _has_confirmed_theme())
            .order_by(Story.id)
        )
    )


@dataclass(frozen=True)
class ExportSize:
    """What an export would hold now, counted in the database (the page shows it)."""

    stories: int
    themes: int  # confirmed themes on their passages
    left_out: int  # stories with confirmed themes that ``user`` looks after but may not export


def export_size(user: User) -> ExportSize:
    """How many stories and confirmed themes ``user`` may export, and how many are left out."""
    coded = select(func.count()).select_from(Story).where(_has_confirmed_theme())
    looked_after = db.session.scalar(coded.where(viewable_stories(user))) or 0
    stories = db.session.scalar(coded.where(coding_export_stories(user))) or 0
    themes = db.session.scalar(
        select(func.count())
        .select_from(PassageTheme)
        .join(Passage, PassageTheme.passage_id == Passage.id)
        .join(Story, Passage.story_id == Story.id)
        .where(PassageTheme.status == TagStatus.CONFIRMED, coding_export_stories(user))
    )
    return ExportSize(stories, themes or 0, max(0, looked_after - stories))


def _word_places(passage: Passage) -> tuple[str, list[tuple[int, int]]]:
    """The passage's text as shown (``passage_words_text``) and each shown word's characters."""
    parts = [str(w["text"]).strip() for w in display_words(passage)]
    places, at = [], 0
    for part in parts:
        places.append((at, at + len(part)))
        at += len(part) + 1
    joined = " ".join(parts)
    text = joined.strip()
    lead = len(joined) - len(joined.lstrip())
    if lead:  # empty words first (rare): the text starts at the first one with characters
        places = [(max(0, a - lead), max(0, b - lead)) for a, b in places]
    return text, places


def coded_story(story: Story) -> CodedStory:
    """``story``'s text and its confirmed themes, grouped by the passage or span they are on."""
    pieces: list[str] = []
    segments: list[Segment] = []
    at = 0
    for passage in sorted(story.passages, key=lambda p: p.position):
        text, places = _word_places(passage)
        if not text:
            continue
        if pieces:
            at += len(PASSAGE_BREAK)
        confirmed = sorted(
            (t for t in passage.themes if t.status == TagStatus.CONFIRMED), key=lambda t: t.id
        )
        groups: dict[tuple[float, float] | None, Segment] = {}
        for tag in confirmed:
            span = (float(tag.span_start), float(tag.span_end)) if tag.is_span else None  # type: ignore[arg-type]
            if span not in groups:
                found = _segment(passage, span, text, places, at)
                if found is None:
                    continue  # its words were edited away: nothing left to point at
                groups[span] = found
            groups[span].tags.append(_coded(tag))
        segments.extend(groups.values())
        pieces.append(text)
        at += len(text)
    teller = name_as_consented(story)
    return CodedStory(story.id, story.title, teller, PASSAGE_BREAK.join(pieces), segments)


def _coded(tag: PassageTheme) -> Coded:
    who = tag.decided_by
    return Coded(
        tag_id=tag.id,
        subtheme_key=tag.subtheme.key,
        subtheme=tag.subtheme.label,
        kind=tag.subtheme.kind,
        valence=tag.valence.label if tag.valence is not None else "",
        decided_by=Coder(who.id, who.display_name) if who is not None else None,
        decided_at=tag.decided_at,
    )


def _segment(
    passage: Passage,
    span: tuple[float, float] | None,
    text: str,
    places: list[tuple[int, int]],
    offset: int,
) -> Segment | None:
    if span is None:
        return Segment(
            passage.id, passage.position, passage.start, passage.end,
            None, offset, offset + len(text), text,
        )  # fmt: skip
    start, end = span
    chosen = [
        i
        for i, w in enumerate(display_words(passage))
        if w["start"] >= start - _SPAN_SLACK and w["end"] <= end + _SPAN_SLACK
    ]
    words = passage_words_text(passage, start, end)
    if not chosen or not words:
        return None
    first, last = places[chosen[0]][0], places[chosen[-1]][1]
    return Segment(
        passage.id, passage.position, passage.start, passage.end,
        span, offset + first, offset + last, words,
    )  # fmt: skip


def coded_stories(user: User) -> list[CodedStory]:
    """Every story ``user`` may export, with its coding (stories left with none are dropped)."""
    ids = exportable_story_ids(user)
    found: list[CodedStory] = []
    for at in range(0, len(ids), STORIES_AT_ONCE):
        batch = db.session.scalars(
            select(Story)
            .where(Story.id.in_(ids[at : at + STORIES_AT_ONCE]))
            .options(selectinload(Story.passages))
            .order_by(Story.id)
        )
        found += [c for c in map(coded_story, batch) if c.segments]
    return found


def _record(user: User, file_format: str, stories: Sequence[CodedStory]) -> None:
    audit.record(
        "coding.exported",
        actor=user,
        object_type="coding",
        format=file_format,
        stories=len(stories),
        segments=sum(len(c.segments) for c in stories),
    )


# -- REFI-QDA -----------------------------------------------------------------------------------


def codebook() -> list[refi.Code]:
    """The live taxonomy as REFI-QDA codes: each kind a top-level code, its subthemes under it.

    GUIDs come from the kind and the subtheme's key (which never changes), so every export gives
    a theme the same GUID, renamed or not.
    """
    by_kind: dict[ThemeKind, list[Subtheme]] = {kind: [] for kind in ThemeKind}
    for sub in all_subthemes():
        by_kind[sub.kind].append(sub)
    described = {k.key: k.description for k in shipped_taxonomy().kinds}
    return [
        refi.Code(
            guid=refi.guid("kind", kind.value),
            name=kind.label,
            description=described.get(kind.value, ""),
            codable=False,
            children=[
                refi.Code(refi.guid("subtheme", s.key), s.label, s.description) for s in subs
            ],
        )
        for kind, subs in by_kind.items()
    ]


def _user(person: User | Coder) -> refi.User:
    name = person.display_name if isinstance(person, User) else person.name
    return refi.User(refi.guid("user", person.id), name)


def _selection(segment: Segment) -> refi.Selection:
    where = f"{segment.span[0]:.2f}" if segment.span else f"{segment.passage_start:.2f}"
    deciders = [t.decided_by for t in segment.tags if t.decided_by is not None]
    decided = [t.decided_at for t in segment.tags if t.decided_at is not None]
    valences = [f"{t.subtheme}: {t.valence}" for t in segment.tags if t.valence]
    return refi.Selection(
        guid=refi.guid("selection", segment.passage_id, *(segment.span or ("whole",))),
        name=_("Passage %(number)d at %(seconds)s s", number=segment.position + 1, seconds=where),
        start=segment.start,
        end=segment.end,
        description="; ".join(valences),
        user_guid=_user(deciders[0]).guid if deciders else None,
        when=min(decided) if decided else None,
        codings=[
            refi.Coding(
                guid=refi.guid("coding", tag.tag_id),
                code_guid=refi.guid("subtheme", tag.subtheme_key),
                user_guid=_user(tag.decided_by).guid if tag.decided_by is not None else None,
                when=tag.decided_at,
            )
            for tag in segment.tags
        ],
    )


def qdpx(stories: Sequence[CodedStory], exporter: User, *, now: datetime | None = None) -> bytes:
    """A REFI-QDA project of ``stories``: the codebook, one text source each, their codings."""
    people: dict[int, refi.User] = {exporter.id: _user(exporter)}
    for coded in stories:
        for segment in coded.segments:
            for tag in segment.tags:
                if tag.decided_by is not None:
                    people.setdefault(tag.decided_by.id, _user(tag.decided_by))
    sources = [
        refi.TextSource(
            guid=refi.guid("story", c.story_id),
            name=_("Story %(number)d: %(title)s", number=c.story_id, title=c.title),
            text=c.text,
            description=_("Told by %(teller)s.", teller=c.teller),
            selections=[_selection(s) for s in c.segments],
        )
        for c in stories
    ]
    return refi.project_qdpx(
        _("Storyhub coded passages"),
        users=list(people.values()),
        codes=codebook(),
        sources=sources,
        created=now or utcnow(),
        creator=people[exporter.id],
    )


def export_qdpx(user: User) -> bytes:
    """The REFI-QDA project ``user`` may export now, audit-recorded."""
    stories = coded_stories(user)
    _record(user, "qdpx", stories)
    return qdpx(stories, user)


# -- CSV ----------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def csv_text(stories: Sequence[CodedStory]) -> str:
    """One row per confirmed theme on a passage or span (UTF-8 text, header first, no BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for coded in stories:
        for segment in coded.segments:
            for tag in segment.tags:
                span_start, span_end = segment.span or (None, None)
                writer.writerow(
                    [
                        str(coded.story_id),
                        inert(coded.title),
                        inert(coded.teller),
                        _seconds(segment.passage_start),
                        _seconds(segment.passage_end),
                        _seconds(span_start),
                        _seconds(span_end),
                        inert(segment.words),
                        inert(KIND_LABELS[tag.kind]),
                        inert(tag.subtheme),
                        tag.valence,
                        tag.decided_at.date().isoformat() if tag.decided_at else "",
                    ]
                )
    return out.getvalue()


def export_csv(user: User) -> str:
    """The CSV ``user`` may export now, audit-recorded."""
    stories = coded_stories(user)
    _record(user, "csv", stories)
    return csv_text(stories)


# -- importing a codebook -----------------------------------------------------------------------


@dataclass
class ImportReport:
    added: list[Subtheme]
    skipped: list[str]  # names already in the list of themes (or twice in the file)


def _kind_named(name: str) -> ThemeKind | None:
    """The kind a top-level code stands for, by its key ("maintenance"), its label ("Quality of
    life") or the framework's label ("Quality of life (maintenance)")."""
    wanted = name.casefold()
    framework = {k.key: k.label for k in shipped_taxonomy().kinds}
    for kind in ThemeKind:
        names = (kind.value, kind.label, framework.get(kind.value, kind.label))
        if wanted in {n.casefold() for n in names}:
            return kind
    return None


def _flatten(code: refi.ReadCode) -> list[refi.ReadCode]:
    """The code and every code under it: the archive's subthemes are one level deep."""
    found, todo = [], [code]
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo[0:0] = current.children
    return found


def planned_subthemes(
    codes: Sequence[refi.ReadCode], other_kind: ThemeKind
) -> list[tuple[ThemeKind, refi.ReadCode]]:
    """Which kind each code goes under: the kind its top-level code is named after, else
    ``other_kind`` (the top-level code itself then becomes a subtheme too)."""
    planned: list[tuple[ThemeKind, refi.ReadCode]] = []
    for top in codes:
        kind = _kind_named(top.name)
        if kind is not None:
            for child in top.children:
                planned += [(kind, c) for c in _flatten(child)]
        else:
            planned += [(other_kind, c) for c in _flatten(top)]
    return planned


def import_codebook(filename: str, data: bytes, other_kind: ThemeKind, by: User) -> ImportReport:
    """Add a REFI-QDA codebook's codes as subthemes; names already in the list are skipped.

    The file is read in full first (``refi.CodebookError`` if it can't be), so a bad file
    changes nothing.
    """
    codes = refi.read_codebook(filename, data)
    taken = {s.label.casefold() for s in all_subthemes()}
    added: list[Subtheme] = []
    skipped: list[str] = []
    for kind, code in planned_subthemes(codes, other_kind):
        label = code.name[:80].strip()
        if not label:
            continue
        if label.casefold() in taken:
            skipped.append(label)
            continue
        try:
            added.append(add_subtheme(kind, label, code.description, by))
        except ThemeError:
            skipped.append(label)
            continue
        taken.add(label.casefold())
    audit.record(
        "theme.codebook_imported",
        actor=by,
        object_type="subtheme",
        added=len(added),
        skipped=len(skipped),
    )
    return ImportReport(added, skipped)
