"""Friendly error pages (JSON under /api/). Nobody should ever see a bare server error page."""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from storyhub.main import bp

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") == "storyhub-upload"
    )


def _error(status: int, code: str, title: str, message: str) -> Any:
    if request.path.startswith("/api/"):
        # The API's one shape of error (storyhub.api.routes.error_response), also for what
        # Flask itself refuses there (an unknown address, a method, an id out of range).
        return jsonify(error={"code": code, "message": message}), status
    if _wants_json():  # the upload page's script
        return jsonify(ok=False, error={"code": code, "message": message}), status
    return render_template("errors/error.html", title=title, message=message), status


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(_err: Exception) -> Any:
    """An upload over the size limit, or any other request over the small one."""
    from flask import current_app

    from storyhub.uploads import is_upload_route

    if not is_upload_route(request.endpoint):
        limit_kb = current_app.config["MAX_REQUEST_KB"]
        size = (
            _("%(number)s MB", number=format_decimal(limit_kb // 1024))
            if limit_kb >= 1024
            else _("%(number)s KB", number=format_decimal(limit_kb))
        )
        return _error(
            413,
            "too_large",
            _("That was too much to send at once"),
            _(
                "This page can take up to %(size)s at a time. Please send less, for example a "
                "shorter text, and try again. Nothing was changed.",
                size=size,
            ),
        )
    limit_gb = current_app.config["MAX_UPLOAD_MB"] / 1024
    size = (
        _("%(number)s GB", number=f"{limit_gb:.0f}")
        if limit_gb >= 1
        else _("%(number)s MB", number=format_decimal(current_app.config["MAX_UPLOAD_MB"]))
    )
    return _error(
        413,
        "too_large",
        _("That file is too big"),
        _(
            "Files can be up to %(size)s. Please choose a shorter recording, or ask a curator to "
            "help make the file smaller. Nothing was saved.",
            size=size,
        ),
    )


@bp.app_errorhandler(CSRFError)
def csrf_failed(_err: CSRFError) -> Any:
    """A form sent without its security token (often a page left open a long time)."""
    return _error(
        400,
        "csrf",
        _("Please try that again"),
        _(
            "For your safety this form has to be sent from a fresh page. Please go back, reload "
            "the page and try again. Nothing was changed."
        ),
    )


@bp.app_errorhandler(403)
def forbidden(_err: Exception) -> Any:
    """Signed in, but not allowed here."""
    return _error(
        403, "forbidden", _("You can't open this page"), _("Your account can't open this page.")
    )


@bp.app_errorhandler(404)
def not_found(_err: Exception) -> Any:
    """Missing, or not available to this person (the same answer, so ids can't be probed)."""
    return _error(
        404,
        "not_found",
        _("We can't find that"),
        _("This page doesn't exist, or it isn't available to you."),
    )


@bp.app_errorhandler(405)
def wrong_method(_err: Exception) -> Any:
    """A form or link used in a way it doesn't support."""
    return _error(
        405, "method_not_allowed", _("That didn't work"), _("That action isn't possible here.")
    )


@bp.app_errorhandler(HTTPException)
def other_http(err: HTTPException) -> Any:
    """Any other HTTP error: our own words when the code gave some, else a plain apology."""
    if not err.description or err.description == type(err).description:
        # Werkzeug's stock wording is English and technical: say it plainly, in the page's language.
        message = _("That didn't work. Please go back and try again.")
    else:
        message = err.description
    return _error(err.code or 500, "error", _("That didn't work"), message)


@bp.app_errorhandler(Exception)
def server_error(err: Exception) -> Any:
    """A bug on our side: logged in full, shown as a calm apology."""
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=err)
    return _error(
        500,
        "internal",
        _("Something went wrong on our side"),
        _(
            "Sorry, that didn't work. Please try again in a minute. If it keeps happening, tell a "
            "curator or administrator."
        ),
    )
