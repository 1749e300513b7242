"""The outcomes dashboard: counts of confirmed themes, each one a way into the words behind it.

What is counted: every confirmed theme on a passage of a story whose teller chose anonymous
statistics (``consent.policy.counted_stories``: released, active, not past its review date).
Suggested and rejected themes are not counted; withdrawn, expired and unreleased stories are not
counted. A count is the number of confirmed themes (one per passage, or per span of words), and
beside it the number of stories they come from.

How: one query fetches the counted themes with their story's facts; numpy then counts every
table from the same arrays (``np.bincount`` for passages, ``np.unique`` for distinct stories), so
the cost grows with the number of themes, once, whatever the number of tables. Every cell
any request can show is counted and protected at once (``publication``: made once per state
of the archive); a table only looks its cells up there, so a page or a file never gets a
number that was hidden, and no request's answers can be set against another's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, String, and_, case, func, select, type_coerce

from consent.policy import STORY_STAFF, counted_stories, may_read_words, viewable_stories
from storyhub.dashboard.publication import (
    E,
    L,
    Pin,
    Publication,
    Q,
    S,
    T,
    V,
    merge,
    pins,
    publication,
)
from storyhub.dashboard.slices import (
    UNMARKED,
    VALENCE_CHOICES,
    VALENCE_LABELS,
    BadSlice,
    Period,
    Slice,
    month_label,
    month_number,
)
from storyhub.dashboard.suppression import Count
from storyhub.extensions import db
from storyhub.models import Language, Passage, ServiceSetting, Story, TellerKind, utcnow
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind

DEFAULT_THRESHOLD = 5
TELLERS = list(TellerKind)
SETTINGS = list(ServiceSetting)
LANGUAGES = list(Language)
KINDS = list(ThemeKind)
TOTAL = "total"


def threshold() -> int:
    """Counts under this are shown as "fewer than N" (STORYHUB_DASHBOARD_MIN_COUNT)."""
    return max(1, int(current_app.config.get("DASHBOARD_MIN_COUNT", DEFAULT_THRESHOLD)))


def subtheme_kinds() -> dict[str, ThemeKind]:
    return dict(db.session.execute(select(Subtheme.key, Subtheme.kind)).all())


def taxonomy() -> list[Subtheme]:
    """Subthemes in the taxonomy's order, grouped by kind."""
    subs = db.session.scalars(select(Subtheme).order_by(Subtheme.position, Subtheme.id)).all()
    return sorted(subs, key=lambda s: KINDS.index(s.kind))


def years_offered() -> list[tuple[str, str]]:
    """(key, label) of every year from the first counted story's to this one, newest first."""
    first = db.session.scalar(select(func.min(Story.created_at)).where(counted_stories()))
    now = utcnow().year
    start = first.year if first is not None else now
    return [(str(y), str(y)) for y in range(now, max(min(start, now), now - 100) - 1, -1)]


# -- the facts: one row per counted theme ------------------------------------------------------


def _slice_conditions(slice_: Slice) -> list[ColumnElement[bool]]:
    """The slice's filters as SQL conditions on Story, PassageTheme and Subtheme."""
    conditions: list[ColumnElement[bool]] = [PassageTheme.status == TagStatus.CONFIRMED]
    if slice_.kind is not None:
        conditions.append(Subtheme.kind == slice_.kind)
    if slice_.subtheme is not None:
        conditions.append(Subtheme.key == slice_.subtheme)
    if slice_.teller is not None:
        conditions.append(Story.teller_kind == slice_.teller)
    if slice_.setting is not None:
        conditions.append(Story.setting == slice_.setting)
    if slice_.language is not None:
        conditions.append(Story.language == slice_.language)
    if slice_.valence == UNMARKED:
        conditions.append(PassageTheme.valence.is_(None))
    elif slice_.valence is not None:
        conditions.append(type_coerce(PassageTheme.valence, String) == slice_.valence)
    if slice_.start is not None:
        year, month = divmod(slice_.start, 12)
        conditions.append(Story.created_at >= _month_start(year, month + 1))
    if slice_.end is not None:
        year, month = divmod(slice_.end + 1, 12)
        conditions.append(Story.created_at < _month_start(year, month + 1))
    return conditions


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1)


@dataclass
class Facts:
    """The counted themes as parallel arrays of small integers (codes into the lists above)."""

    story: np.ndarray[Any, np.dtype[np.int64]]  # index into the counted stories
    stories: int  # how many counted stories there are
    subtheme: np.ndarray[Any, np.dtype[np.int64]]  # index into ``subthemes``
    kind: np.ndarray[Any, np.dtype[np.int64]]
    valence: np.ndarray[Any, np.dtype[np.int64]]  # index into VALENCE_CHOICES
    month: np.ndarray[Any, np.dtype[np.int64]]
    teller: np.ndarray[Any, np.dtype[np.int64]]
    setting: np.ndarray[Any, np.dtype[np.int64]]
    language: np.ndarray[Any, np.dtype[np.int64]]
    subthemes: list[Subtheme]

    def __len__(self) -> int:
        return len(self.story)


def load_facts(slice_: Slice) -> Facts:
    """Every confirmed theme the dashboard counts within ``slice_``, with its story's facts."""
    subthemes = taxonomy()
    sub_index = {s.id: i for i, s in enumerate(subthemes)}
    kind_of = [KINDS.index(s.kind) for s in subthemes]
    codes = {
        "valence": {v: i for i, v in enumerate(VALENCE_CHOICES)},
        "teller": {t.value: i for i, t in enumerate(TELLERS)},
        "setting": {s.value: i for i, s in enumerate(SETTINGS)},
        "language": {lang.value: i for i, lang in enumerate(LANGUAGES)},
    }
    # Story facts once per story, themes as bare integers and strings: converting a datetime
    # and three enums for each of 100,000 themes would cost more than the whole query.
    stories = list(
        db.session.execute(
            select(
                Story.id,
                Story.created_at,
                type_coerce(Story.teller_kind, String),
                type_coerce(Story.setting, String),
                type_coerce(Story.language, String),
            ).where(counted_stories(), *_story_conditions(slice_))
        )
    )
    stories.sort(key=lambda row: row[0])
    story_ids = np.array([row[0] for row in stories], dtype=np.int64)
    story_facts = np.array(
        [
            (
                month_number(created),
                codes["teller"][teller],
                codes["setting"][setting],
                codes["language"][language],
            )
            for _, created, teller, setting, language in stories
        ],
        dtype=np.int64,
    ).reshape(-1, 4)
    unmarked = codes["valence"][UNMARKED]
    valence_code = case(
        *((type_coerce(PassageTheme.valence, String) == v, i) for v, i in codes["valence"].items()),
        else_=unmarked,
    )
    query = (
        select(Passage.story_id, PassageTheme.subtheme_id, valence_code)
        .join(Passage, Passage.id == PassageTheme.passage_id)
        # The counted stories once, as a set, rather than the consent rule once per theme.
        .where(Passage.story_id.in_(_counted_ids(slice_)), *_tag_conditions(slice_))
    )
    if slice_.kind is not None or slice_.subtheme is not None:
        query = query.join(Subtheme, Subtheme.id == PassageTheme.subtheme_id)
    with _collector_paused():
        rows = db.session.execute(query).all()
        # Whole columns at once: a Python step per theme is what would make 10,000 stories slow.
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows))
        del rows
    table = flat.reshape(-1, 3)
    tag_story, valence = table[:, 0], table[:, 2]
    sub_lookup = np.zeros(max(sub_index, default=0) + 1, dtype=np.int64)
    for sub_id, index in sub_index.items():
        sub_lookup[sub_id] = index
    subtheme = sub_lookup[table[:, 1]]
    # A story can start being counted between the two queries (each reads the database as it
    # is then); its themes wait for the next page rather than borrow another story's facts.
    where = np.searchsorted(story_ids, tag_story)
    known = where < len(story_ids)
    known[known] = story_ids[where[known]] == tag_story[known]
    if not known.all():
        subtheme, valence, where = (a[known] for a in (subtheme, valence, where))
    per_story = story_facts[where]
    return Facts(
        story=where,
        stories=len(story_ids),
        subtheme=subtheme,
        kind=np.asarray(kind_of, dtype=np.int64)[subtheme],
        valence=valence,
        month=per_story[:, 0],
        teller=per_story[:, 1],
        setting=per_story[:, 2],
        language=per_story[:, 3],
        subthemes=subthemes,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cycle collector while a big result is read into arrays.

    Tens of thousands of short-lived row objects would otherwise set off full collections of
    the whole process (80-100 ms each, measured by bench/dashboard.py); rows hold no cycles and
    are freed as soon as they are copied, so nothing is lost by waiting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _counted_ids(slice_: Slice) -> Select[Any]:
    return select(Story.id).where(counted_stories(), *_story_conditions(slice_))


def _tag_conditions(slice_: Slice) -> list[ColumnElement[bool]]:
    """The slice's filters that are about the theme itself (kind, subtheme, good or bad)."""
    only_tag = Slice(kind=slice_.kind, subtheme=slice_.subtheme, valence=slice_.valence)
    return _slice_conditions(only_tag)


def _story_conditions(slice_: Slice) -> list[ColumnElement[bool]]:
    """The slice's filters that are about the story alone."""
    only_story = slice_.narrowed(kind=None, subtheme=None, valence=None)
    return _slice_conditions(only_story)[1:]


# -- counting ----------------------------------------------------------------------------------


@dataclass
class Column:
    label: str


@dataclass
class Cell:
    count: Count
    link: dict[str, str]  # the drill-down's URL arguments


@dataclass
class Row:
    label: str
    cells: list[Cell]  # one per column, then the row's total
    level: int = 0  # 0: a kind (or the only level), 1: a subtheme inside a kind

    @property
    def total(self) -> Cell:
        return self.cells[-1]


@dataclass
class Table:
    """A table of counts with totals: rows, columns, a total row; every cell links down."""

    key: str
    title: str
    row_heading: str
    columns: list[Column]
    rows: list[Row]
    totals: Row
    note: str = ""

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in [*self.rows, self.totals] for cell in row.cells]


@dataclass
class Axis:
    """One side of a table: each entry's label, cell pin and slice narrowing."""

    labels: list[str]
    pins: list[list[Pin]]  # the cell each entry pins (a partial key)
    narrow: list[dict[str, Any]]  # Slice field changes for each entry


def _axis_for(name: str) -> Axis:
    # Labels as text now (they may be lazy): the page's language, and plain ``str`` for the CSV.
    if name == "teller":
        values: list[Any] = TELLERS
        field, labels = T, [str(t.label) for t in TELLERS]
    elif name == "setting":
        values, field, labels = SETTINGS, E, [str(s.label) for s in SETTINGS]
    elif name == "language":
        values, field, labels = LANGUAGES, L, [str(lang.label) for lang in LANGUAGES]
    elif name == "valence":
        values, field = list(VALENCE_CHOICES), V
        labels = [str(VALENCE_LABELS[v]) for v in VALENCE_CHOICES]
    else:
        raise ValueError(name)
    return Axis(
        labels,
        [pins([(field, (1, i))]) for i in range(len(values))],
        [{name: value} for value in values],
    )


MAX_PERIODS = 60  # columns of the time table: 15 years by quarter, 60 years by year


def _periods(slice_: Slice, facts: Facts) -> list[Period]:
    """The time axis: every period from the first to the last (within the slice's year)."""
    if slice_.start is not None and slice_.end is not None:
        first, last = slice_.start, slice_.end
    elif len(facts):
        first, last = int(facts.month.min()), int(facts.month.max())
    else:
        return []
    lo, hi = slice_.period(first), slice_.period(last)
    if hi - lo + 1 > MAX_PERIODS:
        if slice_.by == "quarter":
            too_many = _(
                "Over time by quarter would need more than %(columns)d columns. "
                "Please choose a year, or show time by year.",
                columns=MAX_PERIODS,
            )
        else:
            too_many = _(
                "Over time by year would need more than %(columns)d columns. Please choose a year.",
                columns=MAX_PERIODS,
            )
        raise BadSlice(too_many)
    return [slice_.period_bounds(i) for i in range(lo, hi + 1)]


def _period_pin(period: Period) -> list[Pin]:
    quarter = period.first // 3
    if period.last - period.first == 11:
        return pins([(Q, (1, quarter // 4))])
    return pins([(Q, (2, quarter))])


def _period_narrowing(slice_: Slice, period: Period) -> dict[str, Any]:
    start = period.first if slice_.start is None else max(slice_.start, period.first)
    end = period.last if slice_.end is None else min(slice_.end, period.last)
    return {"start": start, "end": end}


def _link(slice_: Slice, *changes: dict[str, Any]) -> dict[str, str]:
    """The drill-down's URL arguments: the slice narrowed to a row and a column."""
    merged: dict[str, Any] = {}
    for change in changes:
        merged.update(change)
    return slice_.narrowed(**merged).args()


def context_pins(slice_: Slice, subthemes: Sequence[Subtheme]) -> list[Pin]:
    """The cell a slice's filters pin (every field it doesn't narrow left "any")."""
    chosen: list[tuple[int, Pin]] = []
    if slice_.subtheme is not None:
        index = next(i for i, s in enumerate(subthemes) if s.key == slice_.subtheme)
        chosen.append((S, (2, index)))
    elif slice_.kind is not None:
        chosen.append((S, (1, KINDS.index(slice_.kind))))
    if slice_.valence is not None:
        chosen.append((V, (1, VALENCE_CHOICES.index(slice_.valence))))
    if slice_.teller is not None:
        chosen.append((T, (1, TELLERS.index(slice_.teller))))
    if slice_.setting is not None:
        chosen.append((E, (1, SETTINGS.index(slice_.setting))))
    if slice_.language is not None:
        chosen.append((L, (1, LANGUAGES.index(slice_.language))))
    if slice_.year is not None:
        chosen.append((Q, (1, slice_.year)))
    return pins(chosen)


def build_table(
    key: str,
    title: str,
    slice_: Slice,
    pub: Publication,
    subthemes: Sequence[Subtheme],
    rows_by: str,
    cols: Axis,
    row_heading: str = "",
    note: str = "",
) -> Table:
    """A table of ``rows_by`` (kind, or kind with its subthemes) against ``cols``.

    Every number is looked up in the publication, never counted here: the same cell has the
    same answer (shown or hidden) in every table, filter, file and API answer.
    """
    row_heading = row_heading or _("Kind of outcome")
    context = context_pins(slice_, subthemes)
    kind_of = pub.kind_of
    # A column the filters rule out (good experiences, when only bad ones are asked for) would
    # be empty, and its link would open passages the filters don't ask for: left out.
    shown = [c for c in range(len(cols.labels)) if merge(context, cols.pins[c], kind_of=kind_of)]

    def row(label: str, level: int, row_pin: list[Pin], narrow: dict[str, Any]) -> Row:
        cells = [
            Cell(
                pub.count(merge(context, row_pin, cols.pins[c], kind_of=kind_of)),
                _link(slice_, narrow, cols.narrow[c]),
            )
            for c in shown
        ]
        cells.append(
            Cell(pub.count(merge(context, row_pin, kind_of=kind_of)), _link(slice_, narrow))
        )
        return Row(label, cells, level)

    rows: list[Row] = []
    for k, kind in enumerate(KINDS):
        kind_pin = pins([(S, (1, k))])
        if slice_.kind not in (None, kind) or merge(context, kind_pin, kind_of=kind_of) is None:
            continue
        rows.append(row(str(kind.label), 0, kind_pin, {"kind": kind}))
        if rows_by != "subtheme":
            continue
        for r, sub in enumerate(subthemes):
            if sub.kind == kind and slice_.subtheme in (None, sub.key):
                narrow = {"kind": kind, "subtheme": sub.key}
                rows.append(row(sub.shown_label, 1, pins([(S, (2, r))]), narrow))
    totals = row(_("All outcomes"), 0, pins([]), {})
    columns = [Column(cols.labels[c]) for c in shown]
    return Table(key, title, row_heading, columns, rows, totals, note)


@dataclass
class Dashboard:
    slice: Slice
    threshold: int
    total: Count
    tables: dict[str, Table]
    periods: list[Period]
    empty: bool


def publication_for(facts: Facts, limit: int) -> Publication:
    """Every count the dashboard can show for these facts, with the hidden ones decided."""
    atoms = np.stack(
        [facts.subtheme, facts.valence, facts.teller, facts.setting, facts.language,
         facts.month // 3],
        axis=1,
    ) if len(facts) else np.empty((0, 6), dtype=np.int64)  # fmt: skip
    kind_of = [KINDS.index(s.kind) for s in facts.subthemes]
    sizes = [len(facts.subthemes), len(VALENCE_CHOICES), len(TELLERS), len(SETTINGS),
             len(LANGUAGES), 0]  # fmt: skip
    return publication(atoms, facts.story, kind_of, sizes, limit)


def dashboard(slice_: Slice, limit: int | None = None) -> Dashboard:
    """Every table of the dashboard for ``slice_``, protected and ready to show or export.

    ``BadSlice`` when counts can't be given for the slice (see ``Slice.counting_problem``).
    """
    problem = slice_.counting_problem()
    if problem:
        raise BadSlice(problem)
    limit = limit or threshold()
    # Everything counted, whatever the filters: the publication is one for every request.
    facts = load_facts(Slice())
    periods = _periods(slice_, facts)
    pub = publication_for(facts, limit)
    subs = facts.subthemes
    time_axis = Axis(
        [p.label for p in periods],
        [_period_pin(p) for p in periods],
        [_period_narrowing(slice_, p) for p in periods],
    )
    tables = {
        "themes": build_table(
            "themes",
            _("Outcomes, and whether the experience was good or bad"),
            slice_,
            pub,
            subs,
            "subtheme",
            _axis_for("valence"),
            row_heading=_("Outcome"),
            note=_("Good or bad is counted where a curator marked it."),
        ),
        "time": build_table("time", _("Outcomes over time"), slice_, pub, subs, "kind", time_axis),
        "setting": build_table(
            "setting",
            _("Outcomes by service setting"),
            slice_,
            pub,
            subs,
            "subtheme",
            _axis_for("setting"),
            row_heading=_("Outcome"),
        ),
        "teller": build_table(
            "teller", _("By who tells the story"), slice_, pub, subs, "kind", _axis_for("teller")
        ),
        "language": build_table(
            "language", _("By language"), slice_, pub, subs, "kind", _axis_for("language")
        ),
    }
    total = tables["themes"].totals.total.count
    everything = pub.tally(merge(context_pins(slice_, subs), kind_of=pub.kind_of))
    return Dashboard(slice_, limit, total, tables, periods, empty=everything.passages == 0)


# -- the passages behind a count ---------------------------------------------------------------


@dataclass
class Behind:
    """One confirmed theme behind a count, on a passage this viewer may see."""

    tag: PassageTheme
    passage: Passage
    story: Story


@dataclass
class BehindPage:
    items: list[Behind]
    page: int
    more: bool
    limited: bool  # the viewer sees only the passages shared with them, not all counted


PER_PAGE = 20


def passages_behind(user: Any, slice_: Slice, page: int = 1) -> BehindPage:
    """The passages a count stands for, as far as ``user`` may see them (never more)."""
    query = (
        select(PassageTheme, Passage, Story)
        .join(Passage, Passage.id == PassageTheme.passage_id)
        .join(Story, Story.id == Passage.story_id)
        .join(Subtheme, Subtheme.id == PassageTheme.subtheme_id)
        .where(counted_stories(), viewable_stories(user), and_(*_slice_conditions(slice_)))
        .order_by(Story.created_at.desc(), Story.id.desc(), Passage.position, PassageTheme.id)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    )
    found = db.session.execute(query).all()
    # The SQL condition is the policy's own; asking ``can_view`` again for each one costs little
    # and means a mistake in one of them can't show a passage on its own.
    # may_read_words: words the machine could not follow wait for a person's check.
    items = [Behind(t, p, s) for t, p, s in found[:PER_PAGE] if may_read_words(user, s)]
    return BehindPage(items, page, more=len(found) > PER_PAGE, limited=user.role not in STORY_STAFF)


def describe(slice_: Slice, subthemes: Sequence[Subtheme]) -> list[str]:
    """The slice's filters in words, for headings and the printed page."""
    words: list[str] = []  # plain text (labels may be lazy): the CSV joins them too
    labels = {s.key: s.shown_label for s in subthemes}
    if slice_.subtheme is not None:
        words.append(labels.get(slice_.subtheme, slice_.subtheme))
    elif slice_.kind is not None:
        words.append(str(slice_.kind.label))
    if slice_.valence is not None:
        words.append(str(VALENCE_LABELS[slice_.valence]))
    if slice_.teller is not None:
        words.append(str(slice_.teller.label))
    if slice_.setting is not None:
        words.append(str(slice_.setting.label))
    if slice_.language is not None:
        words.append(str(slice_.language.label))
    if slice_.year is not None:
        words.append(_("added in %(when)s", when=slice_.year))
    elif slice_.start is not None or slice_.end is not None:
        if slice_.start is not None and slice_.end is not None:
            if slice_.start == slice_.end:
                words.append(_("added in %(when)s", when=month_label(slice_.start)))
            else:
                words.append(
                    _(
                        "added %(start)s to %(end)s",
                        start=month_label(slice_.start),
                        end=month_label(slice_.end),
                    )
                )
        elif slice_.start is not None:
            words.append(_("added from %(when)s", when=month_label(slice_.start)))
        elif slice_.end is not None:
            words.append(_("added until %(when)s", when=month_label(slice_.end)))
    return words
