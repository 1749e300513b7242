"""Search views: thin; the rules live in storyhub.finder.services and consent/."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from storyhub import audit, jobs
from storyhub.auth.decorators import roles_required
from storyhub.extensions import N_, db
from storyhub.finder import meaning
from storyhub.finder.indexing import REINDEX_JOB, get_backend, index_lag
from storyhub.finder.services import (
    BadSearch,
    NotUnderstood,
    SearchPage,
    passage_for_similar,
    run_search,
    run_similar,
    similar_offered,
)
from storyhub.models import Job, JobState, Role

bp = Blueprint("search", __name__)
TIMING_HEADER = "Server-Timing"  # untranslated: an HTTP header's name, read by browsers' tools


@bp.before_app_request
def _warm_search_model() -> None:
    # The first search in a web process need not wait seconds for the model to load. Tests load
    # it when a test needs it, not in every test's app.
    if not current_app.testing:
        meaning.warm_in_background()


@bp.app_context_processor
def _similar_rule() -> dict[str, Any]:
    # Search results and story pages offer "More like this" only where it can answer.
    return {"similar_offered": similar_offered}


def _timed(html: str, status: int, page: SearchPage | None) -> Any:
    response = make_response(html, status)
    if page is not None:
        # How long the engine took, for people measuring the page (see bench/search.py).
        response.headers[TIMING_HEADER] = f"engine;dur={page.engine_seconds * 1000:.2f}"
    return response


@bp.route("/search")
@login_required
def search() -> Any:
    """Find passages in the stories this person may see, with filters and counts."""
    page: SearchPage | None = None
    problem: str | None = None
    try:
        page = run_search(current_user, request.args)
    except BadSearch as err:
        problem = str(err)
    status = 400 if problem else 200
    html = render_template("search/search.html", page=page, problem=problem, args=request.args)
    return _timed(html, status, page)


@bp.route("/search/similar/<int:passage_id>")
@login_required
def similar(passage_id: int) -> Any:
    """Passages like this one in meaning, in the stories this person may see."""
    passage = passage_for_similar(current_user, passage_id)
    if passage is None:
        abort(404)  # the same answer as a passage that does not exist
    page: SearchPage | None = None
    problem: str | None = None
    status = 200
    try:
        page = run_similar(current_user, passage, request.args)
    except BadSearch as err:
        problem, status = str(err), 400
    except NotUnderstood as err:
        problem = str(err)  # nothing wrong with the request: said plainly, as an answer
    html = render_template(
        "search/similar.html", source=passage, page=page, problem=problem, args=request.args
    )
    return _timed(html, status, page)


def _rebuild_under_way() -> Job | None:
    """The rebuild job waiting or running, if there is one."""
    return db.session.scalar(
        select(Job)
        .where(Job.kind == REINDEX_JOB, Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
        .order_by(Job.id.desc())
        .limit(1)
    )


@bp.route("/admin/search")
@roles_required(Role.ADMIN)
def admin() -> Any:
    """The index's health, size and lag, and a button to rebuild it."""
    return render_template(
        "search/admin.html",
        stats=get_backend().stats(),
        lag=index_lag(),
        rebuild=_rebuild_under_way(),
    )


@bp.route("/admin/search/rebuild", methods=["POST"])
@roles_required(Role.ADMIN)
def rebuild() -> Response:
    """Rebuild the index from the database in the background; search keeps working meanwhile."""
    if _rebuild_under_way() is None:
        jobs.submit(REINDEX_JOB, message=N_("Waiting to start rebuilding the index"))
        audit.record("search.rebuild", actor=current_user)
        db.session.commit()
        flash(_("The index is being rebuilt. Search keeps working while it happens."), "success")
    else:
        flash(_("The index is already being rebuilt."), "info")
    return redirect(url_for("search.admin"))
