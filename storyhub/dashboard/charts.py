"""Chart geometry for the dashboard, drawn as SVG by the templates: no script, no network.

Charts are drawn on the server from the same (already suppressed) tables the page shows, so a
chart can't show what a table hides. Each bar is a link to the passages behind it and says its
number in words to screen readers; nothing is told by colour alone (every bar has its label, and
the kinds are separate panels with their own headings). A hidden count is drawn as a short
dashed stub marked "<5", never as a bar whose height would give the number away.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from storyhub.dashboard.services import Dashboard, Row, Table

WIDTH = 960
THEME_WIDTH = 720  # the outcomes chart: labels and bars, no wider than a page of a report
LEFT = 56  # room for the value axis
PANEL = 150  # height of one kind's panel in the time chart
STUB = 6  # height of the stub drawn for a hidden count


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    hidden: bool
    value_text: str  # on the chart: "34" or "<5"
    spoken: str  # for screen readers: "Change, Jan to Mar 2025: 34 passages"
    link: dict[str, str]


@dataclass
class Tick:
    x: float
    lines: tuple[str, str]


@dataclass
class Panel:
    title: str
    top: float
    bars: list[Bar]
    grid: list[tuple[float, str]]  # (y, label) of the value axis


@dataclass
class TimeChart:
    width: int
    height: int
    panels: list[Panel]
    ticks: list[Tick]
    labels_on_bars: bool


def _nice_max(value: int) -> int:
    """A round top for a value axis, at least ``value``."""
    if value <= 5:
        return 5
    for power in range(0, 10):
        for step in (1, 2, 2.5, 5):
            top = int(step * 10**power)
            if top >= value:
                return top
    return value


def _panel_bars(row: Row, top: float, height: float, scale: int, columns: list[str]) -> Panel:
    bottom = top + height
    slot = (WIDTH - LEFT - 8) / max(1, len(columns))
    width = max(2.0, slot * 0.7)
    bars: list[Bar] = []
    for i, cell in enumerate(row.cells[:-1]):
        x = LEFT + i * slot + (slot - width) / 2
        count = cell.count
        if count.hidden:
            size = float(STUB)
            text = _("<%(threshold)d", threshold=count.threshold)
        else:
            size = (count.passages or 0) / scale * (height - 22)
            text = f"{count.passages:,}"
        spoken = _(
            "%(outcome)s, %(period)s: %(count)s passages",
            outcome=row.label,
            period=columns[i],
            count=count.text,
        )
        bars.append(Bar(x, bottom - size, width, size, count.hidden, text, spoken, cell.link))
    grid = [(bottom - f * (height - 22), f"{int(scale * f):,}") for f in (0, 0.5, 1)]
    return Panel(row.label, top, bars, grid)


def time_chart(board: Dashboard) -> TimeChart | None:
    """Small multiples: one bar chart over time for each kind of outcome shown."""
    table: Table = board.tables["time"]
    if not table.columns or not table.rows:
        return None
    columns = [c.label for c in table.columns]
    shown = [c.count.passages or 0 for r in table.rows for c in r.cells[:-1]]
    scale = _nice_max(max(shown, default=0))
    panels: list[Panel] = []
    top = 0.0
    for row in table.rows:
        panels.append(_panel_bars(row, top + 24, PANEL, scale, columns))
        top += PANEL + 48
    slot = (WIDTH - LEFT - 8) / len(columns)
    every = 1 if len(columns) <= 24 else 2
    ticks = [
        Tick(LEFT + i * slot + slot / 2, board.periods[i].short)
        for i in range(len(columns))
        if i % every == 0
    ]
    return TimeChart(WIDTH, int(top + 36), panels, ticks, labels_on_bars=len(columns) <= 24)


@dataclass
class HBar:
    y: float
    width: float
    hidden: bool
    label: str
    value_text: str
    spoken: str
    link: dict[str, str]
    heading: bool  # a kind's own line (bold, its total), above its subthemes


@dataclass
class ThemeChart:
    width: int
    height: int
    label_width: int
    bars: list[HBar]
    grid: list[tuple[float, str]]


def theme_chart(board: Dashboard) -> ThemeChart | None:
    """Horizontal bars: how many passages of each outcome, grouped under their kinds."""
    table = board.tables["themes"]
    if not table.rows:
        return None
    label_width, line = 280, 30
    room = THEME_WIDTH - label_width - 70
    subtheme_rows = [r for r in table.rows if r.level == 1]
    scale = _nice_max(max((r.total.count.passages or 0 for r in subtheme_rows), default=0))
    bars: list[HBar] = []
    y = 8.0
    for row in table.rows:
        count = row.total.count
        heading = row.level == 0
        if heading:
            width = 0.0  # the kind's total is written, not drawn: it would dwarf its subthemes
        elif count.hidden:
            width = float(STUB)
        else:
            width = (count.passages or 0) / scale * room
        text = (
            _("<%(threshold)d", threshold=count.threshold)
            if count.hidden
            else f"{count.passages:,}"
        )
        spoken = _("%(outcome)s: %(count)s passages", outcome=row.label, count=count.text)
        bars.append(HBar(y, width, count.hidden, row.label, text, spoken, row.total.link, heading))
        y += line + (6 if heading else 0)
    grid = [(label_width + f * room, f"{int(scale * f):,}") for f in (0, 0.5, 1)]
    return ThemeChart(THEME_WIDTH, int(y + 24), label_width, bars, grid)


def heat_top(table: Table) -> int:
    """The biggest shown count among the cells that get shaded (subthemes, else kinds)."""
    deepest = max((r.level for r in table.rows), default=0)
    return max(
        (c.count.passages or 0 for r in table.rows if r.level == deepest for c in r.cells[:-1]),
        default=0,
    )


def heat_level(top: int, passages: int | None) -> int:
    """0-4: how dark a matrix cell is shaded (its number is always written in it too)."""
    if passages is None or top <= 0:
        return 0
    return min(4, 1 + int(4 * passages / (top + 1)))
