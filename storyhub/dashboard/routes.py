"""Dashboard views: thin; counting lives in services, who may see what in consent/."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required

from consent.policy import may_see_dashboard
from storyhub.dashboard import charts, services
from storyhub.dashboard.forms import PassagesForm, SliceForm
from storyhub.dashboard.slices import GROUPINGS, VALENCE_CHOICES, VALENCE_LABELS, BadSlice, Slice
from storyhub.models import Language, ServiceSetting, TellerKind, utcnow
from storyhub.spreadsheets import inert
from storyhub.themes.models import ThemeKind

bp = Blueprint("dashboard", __name__)
bp.add_app_template_global(charts.heat_top, "heat_top")
bp.add_app_template_global(charts.heat_level, "heat_level")


def _slice_or_problem() -> tuple[Slice | None, str | None]:
    if not may_see_dashboard(current_user):
        abort(403)
    form = SliceForm(request.args, services.subtheme_kinds())
    return (form.slice, None) if form.validate() else (None, form.problem())


def _board() -> tuple[services.Dashboard | None, str | None]:
    """The counts the request asks for, or why they can't be given (in plain words)."""
    slice_, problem = _slice_or_problem()
    if slice_ is None:
        return None, problem
    try:
        return services.dashboard(slice_), None
    except BadSlice as err:
        return None, str(err)


def _choices() -> dict[str, Any]:
    """What the filter form offers."""
    return {
        "kinds": list(ThemeKind),
        "subthemes": services.taxonomy(),
        "tellers": list(TellerKind),
        "settings": list(ServiceSetting),
        "languages": list(Language),
        "valences": [(v, VALENCE_LABELS[v]) for v in VALENCE_CHOICES],
        "groupings": GROUPINGS,
        "years": services.years_offered(),
    }


def _page(template: str, **extra: Any) -> Any:
    board, problem = _board()
    slice_ = board.slice if board else None
    html = render_template(
        template,
        board=board,
        problem=problem,
        choices=_choices(),
        time_chart=charts.time_chart(board) if board else None,
        theme_chart=charts.theme_chart(board) if board else None,
        described=services.describe(slice_, services.taxonomy()) if slice_ else [],
        today=utcnow().date(),
        **extra,
    )
    return make_response(html, 400 if problem else 200)


@bp.route("/dashboard")
@login_required
def dashboard() -> Any:
    """Counts of confirmed outcome themes, as charts and tables; every number is a link."""
    return _page("dashboard/dashboard.html")


@bp.route("/dashboard/print")
@login_required
def printable() -> Any:
    """The same counts on a page made for printing or saving as PDF from the browser."""
    return _page("dashboard/print.html")


@bp.route("/dashboard/passages")
@login_required
def passages() -> Any:
    """The passages behind one number, as far as this person may see them."""
    if not may_see_dashboard(current_user):
        abort(403)
    form = PassagesForm(request.args, services.subtheme_kinds())
    problem = None if form.validate() else form.problem()
    slice_, behind = form.slice, None
    if slice_ is not None and not problem:
        behind = services.passages_behind(current_user, slice_, form.page.data or 1)
    html = render_template(
        "dashboard/passages.html",
        slice=slice_,
        behind=behind,
        problem=problem,
        described=services.describe(slice_, services.taxonomy()) if slice_ else [],
    )
    return make_response(html, 400 if problem else 200)


@bp.route("/dashboard/outcomes.csv")
@login_required
def export_csv() -> Any:
    """The aggregates as CSV: counts only, no names, no words; small counts hidden as on screen."""
    board, _problem = _board()
    if board is None:
        return _page("dashboard/dashboard.html")
    slice_ = board.slice
    filters = "; ".join(services.describe(slice_, services.taxonomy())) or _("everything")
    out = io.StringIO()
    writer = csv.writer(out)
    # Headers for people reading the file in a spreadsheet: in the language of whoever downloads
    # it (the context keeps these short words apart from the same words elsewhere).
    writer.writerow(
        [
            pgettext("outcomes CSV column", "table"),
            pgettext("outcomes CSV column", "outcome"),
            pgettext("outcomes CSV column", "column"),
            pgettext("outcomes CSV column", "passages"),
            pgettext("outcomes CSV column", "stories"),
            pgettext("outcomes CSV column", "filters"),
        ]
    )
    for table in board.tables.values():
        labels = [c.label for c in table.columns] + [_("All")]
        for row in [*table.rows, table.totals]:
            for label, cell in zip(labels, row.cells, strict=True):
                count = cell.count
                writer.writerow(
                    [
                        inert(table.title),
                        inert(row.label),
                        inert(label),
                        count.csv_value,
                        count.csv_stories,
                        inert(filters),
                    ]
                )
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"  # untranslated: an HTTP header
    name = f"storyhub-outcomes-{utcnow().date().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'  # untranslated: HTTP
    return response
