"""What part of the archive a dashboard page counts: its filters, read from and written to URLs.

A ``Slice`` is the dashboard's filters (kind, subtheme, who tells the story, setting, language,
good or bad experience, a range of months) plus how time is grouped. Every number on the
dashboard links to the passages behind it with the same slice narrowed to that number's cell,
so ``Slice.args`` and ``Slice.parse`` must round-trip exactly.

Counts are given for fixed, aligned periods only (every year, or one whole calendar year; the
time table by quarter or by year) and narrowed one way at a time (``counting_problem``): any
finer or freer choice would let answers be subtracted from each other to reveal hidden counts.
The passages behind a number may be narrowed further (to a quarter, and a filter and a cell).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import get_month_names
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from storyhub.models import Language, ServiceSetting, TellerKind
from storyhub.themes.models import VALENCE_LABELS as EXPERIENCE_NAMES
from storyhub.themes.models import ThemeKind, Valence

UNMARKED = "unmarked"  # a confirmed theme the curator has not marked good or bad
VALENCE_CHOICES = (*(v.value for v in Valence), UNMARKED)
# Labels are lazy: made at import, they are written in the language of each page that shows them.
# Lazy: made once, at import, and read on each page in that page's language.
VALENCE_LABELS = {
    **{v.value: lazy_gettext(EXPERIENCE_NAMES[v.value]) for v in Valence},
    UNMARKED: lazy_gettext("Not marked"),
}
GROUPINGS = {"quarter": lazy_gettext("By quarter"), "year": lazy_gettext("By year")}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
ONE_WAY = lazy_gettext(
    "To keep storytellers from being recognised, counts can be narrowed one way at a time: "
    "by who tells the story, where, language, good or bad, or one year. "
    "Please choose just one of these."
)
WHOLE_YEARS = lazy_gettext(
    "Counts are given for every year or for one whole year, so that no one can be picked out "
    "by comparing dates. Please choose a year."
)


class BadSlice(ValueError):
    """A filter value that isn't one of the choices; the message is shown as it is."""


def month_number(day: date) -> int:
    """Months since year 0, so that ranges and groups are plain integer arithmetic."""
    return day.year * 12 + day.month - 1


def month_key(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def month_name(month: int) -> str:
    """The month's short name in the page's language ("Jan", "Ion"), from Babel's CLDR data."""
    locale = get_locale() or Locale("en")
    return str(get_month_names("abbreviated", locale=locale)[month % 12 + 1])


def month_label(month: int) -> str:
    return f"{month_name(month)} {month // 12}"


@dataclass(frozen=True)
class Period:
    """A month or a quarter on the time axis."""

    first: int  # month number of its first month
    last: int  # month number of its last month

    @property
    def label(self) -> str:
        if self.first == self.last:
            return month_label(self.first)
        if self.last - self.first == 11:
            return str(self.first // 12)
        first, last = month_name(self.first), month_name(self.last)
        return f"{first}\N{EN DASH}{last} {self.last // 12}"

    @property
    def short(self) -> tuple[str, str]:
        """Two short lines for a chart's axis: ("Q1", "2025") or ("Jan", "2025")."""
        if self.first == self.last:
            return month_name(self.first), str(self.first // 12)
        if self.last - self.first == 11:
            return str(self.first // 12), ""
        return _("Q%(number)d", number=self.first % 12 // 3 + 1), str(self.first // 12)


@dataclass(frozen=True)
class Slice:
    kind: ThemeKind | None = None
    subtheme: str | None = None  # a subtheme's key
    teller: TellerKind | None = None
    setting: ServiceSetting | None = None
    language: Language | None = None
    valence: str | None = None  # one of VALENCE_CHOICES
    start: int | None = None  # first month counted (month number)
    end: int | None = None  # last month counted
    by: str = "quarter"  # how the time axis groups months

    @classmethod
    def parse(
        cls, args: Mapping[str, str], subthemes: Mapping[str, ThemeKind], counting: bool = False
    ) -> Slice:
        """The slice that URL arguments ask for; ``BadSlice`` for anything not offered.

        ``counting``: the slice is for counts (page, CSV, API), not for the passages behind one.
        """

        def choice(name: str, options: Any, nothing_called: str) -> Any:
            # ``nothing_called``: the whole sentence, so each language words it its own way.
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                return options(raw)
            except ValueError:
                raise BadSlice(nothing_called % {"value": raw[:40]}) from None

        subtheme = (args.get("subtheme") or "").strip() or None
        if subtheme is not None and subtheme not in subthemes:
            raise BadSlice(_("There is no theme called “%(value)s”.", value=subtheme[:40]))
        valence = (args.get("valence") or "").strip() or None
        if valence is not None and valence not in VALENCE_CHOICES:
            raise BadSlice(_("Good or bad experience must be one of the choices offered."))
        by = (args.get("by") or "quarter").strip()
        if by not in GROUPINGS:
            raise BadSlice(_("Time can be grouped by quarter or by year."))
        start = _month_arg(args.get("from"), _("“From” must be a month written like 2025-03."))
        end = _month_arg(args.get("to"), _("“To” must be a month written like 2025-03."))
        year = (args.get("year") or "").strip()
        if year:
            found_year = _YEAR.match(year)
            if not found_year or not 1900 < int(year) < 3000:
                raise BadSlice(_("“Year” must be a year written like 2025."))
            if start is not None or end is not None:
                raise BadSlice(_("Please choose a year, or a start and an end, not both."))
            start, end = int(year) * 12, int(year) * 12 + 11
        # Whole quarters only: a month on its own, or a range cut mid-quarter, is never offered.
        if (start is not None and start % 3) or (end is not None and end % 3 != 2):
            raise BadSlice(str(WHOLE_YEARS))
        found = cls(
            kind=choice("kind", ThemeKind, _("There is no kind of outcome called “%(value)s”.")),
            subtheme=subtheme,
            teller=choice(
                "teller", TellerKind, _("There is no kind of storyteller called “%(value)s”.")
            ),
            setting=choice(
                "setting", ServiceSetting, _("There is no service setting called “%(value)s”.")
            ),
            language=choice("language", Language, _("There is no language called “%(value)s”.")),
            valence=valence,
            start=start,
            end=end,
            by=by,
        )
        if found.subtheme is not None and found.kind not in (None, subthemes[found.subtheme]):
            raise BadSlice(_("That theme belongs to another kind of outcome."))
        if found.start is not None and found.end is not None and found.start > found.end:
            raise BadSlice(_("The “From” month must come before the “To” month."))
        if counting:
            problem = found.counting_problem()
            if problem:
                raise BadSlice(problem)
        return found

    @property
    def year(self) -> int | None:
        """The calendar year this slice is narrowed to, if it is exactly one whole year."""
        if self.start is not None and self.start % 12 == 0 and self.end == self.start + 11:
            return self.start // 12
        return None

    def counting_problem(self) -> str | None:
        """Why counts can't be given for this slice (None: they can), in words for anyone.

        Counts are for fixed periods (every year, or one whole year) and one split at a time
        (a kind or an outcome may be picked as well: that only chooses rows).
        """
        if (self.start is not None or self.end is not None) and self.year is None:
            return str(WHOLE_YEARS)
        splits = [self.teller, self.setting, self.language, self.valence, self.year]
        if sum(1 for split in splits if split is not None) > 1:
            return str(ONE_WAY)
        return None

    def narrowed(self, **changes: Any) -> Slice:
        return replace(self, **changes)

    def args(self) -> dict[str, str]:
        """The URL arguments that ``parse`` reads back as this slice (defaults left out)."""
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or (field.name == "by" and value == "quarter"):
                continue
            name = {"start": "from", "end": "to"}.get(field.name, field.name)
            out[name] = month_key(value) if field.name in ("start", "end") else str(value)
        if self.year is not None:
            del out["from"], out["to"]
            out["year"] = str(self.year)
        return out

    @property
    def is_everything(self) -> bool:
        return self == Slice(by=self.by)

    def period(self, month: int) -> int:
        """The index of the period ``month`` falls in, for this slice's grouping."""
        return month // 3 if self.by == "quarter" else month // 12

    def period_bounds(self, index: int) -> Period:
        if self.by == "quarter":
            return Period(index * 3, index * 3 + 2)
        return Period(index * 12, index * 12 + 11)


def _month_arg(raw: str | None, not_a_month: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    found = _MONTH.match(raw)
    if not found or not 1 <= int(found.group(2)) <= 12 or not 1900 < int(found.group(1)) < 3000:
        raise BadSlice(not_a_month)
    return int(found.group(1)) * 12 + int(found.group(2)) - 1
