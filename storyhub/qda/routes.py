"""Coding exchange views: staff export the coding (REFI-QDA or CSV); administrators import a
codebook. Which stories go is consent's rule; what goes in is ``services``'s."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.forms import first_error
from storyhub.models import Role, utcnow
from storyhub.qda import services
from storyhub.qda.forms import ImportCodebookForm
from storyhub.qda.refi import CodebookError
from storyhub.themes.models import ThemeKind

bp = Blueprint("qda", __name__)

STAFF = (Role.CURATOR, Role.ADMIN)


@bp.route("/coding/export")
@roles_required(*STAFF)
def export_page() -> Any:
    """What an export holds, and the two downloads."""
    return render_template("qda/export.html", size=services.export_size(current_user))


def _download(body: bytes | str, content_type: str, extension: str) -> WerkzeugResponse:
    response = make_response(body)
    response.headers["Content-Type"] = content_type  # untranslated: an HTTP header
    name = f"storyhub-coding-{utcnow().date().isoformat()}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'  # untranslated: HTTP
    # The words of stories: not kept in caches.
    response.headers["Cache-Control"] = "no-store"  # untranslated: an HTTP header
    return response


@bp.route("/coding/export.qdpx")
@roles_required(*STAFF)
def export_qdpx() -> WerkzeugResponse:
    body = services.export_qdpx(current_user)
    db.session.commit()  # the audit record
    return _download(body, "application/zip", "qdpx")


@bp.route("/coding/export.csv")
@roles_required(*STAFF)
def export_csv() -> WerkzeugResponse:
    body = services.export_csv(current_user)
    db.session.commit()  # the audit record
    return _download(body, "text/csv; charset=utf-8", "csv")


@bp.route("/admin/themes/import", methods=["POST"])
@roles_required(Role.ADMIN)
def import_codebook() -> WerkzeugResponse:
    """Add a REFI-QDA codebook's codes as themes; say what was added and what was skipped."""
    form = ImportCodebookForm()
    back = redirect(url_for("themes.taxonomy", _anchor="import-heading"))
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return back
    upload = form.codebook.data
    try:
        report = services.import_codebook(
            upload.filename or "", upload.read(), ThemeKind(form.kind.data), current_user
        )
    except CodebookError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return back
    db.session.commit()
    flash(_import_message(len(report.added), report.skipped), "success")
    return back


# Names listed as skipped; a long codebook's are summed up after these.
LIST_SKIPPED = 10


def _import_message(added: int, skipped: list[str]) -> str:
    """What an import did, in whole sentences (so they can be translated as they are)."""
    names = ", ".join(skipped[:LIST_SKIPPED])
    if len(skipped) > LIST_SKIPPED:
        more = len(skipped) - LIST_SKIPPED
        names = ngettext(
            "%(names)s and %(num)d more", "%(names)s and %(num)d more", more, names=names
        )
    if added:
        done = ngettext(
            "Added %(num)d theme from the codebook.",
            "Added %(num)d themes from the codebook.",
            added,
        )
    elif skipped:
        done = _("Nothing was added: every theme in that codebook is already in the list.")
    else:
        return _("That codebook has no themes in it, so nothing was added.")
    if not skipped:
        return done
    if len(skipped) == 1:
        left = _(
            "This one was already in the list, so it was left as it is: %(names)s.", names=names
        )
    else:
        left = _(
            "These were already in the list, so they were left as they are: %(names)s.", names=names
        )
    return f"{done} {left}"
