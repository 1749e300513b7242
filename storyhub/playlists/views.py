"""The one way a builder's page changes a playlist: read the form, make the change, commit, and
go back to the page with a plain message (or, for the page's own script, a JSON answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, jsonify, redirect, request
from werkzeug.wrappers import Response

from storyhub.extensions import db
from storyhub.forms import PageForm
from storyhub.playlists.core import PlaylistError
from storyhub.playlists.forms import require_valid

P = TypeVar("P")


def answers_script() -> bool:
    """Whether the page's own script sent this (dragging to reorder): it wants JSON back."""
    return request.headers.get("X-Requested-With") == "storyhub"


def apply_change(
    playlist: P, form: PageForm, change: Callable[[P], Any], done: str, back: str
) -> Response:
    """Run ``change`` on ``playlist`` with what ``form`` read, then go ``back``.

    A refused form or change is rolled back and said in plain words; a change may return its
    own message (a new event code) to say instead of ``done``.
    """
    try:
        require_valid(form)
        said = change(playlist)
    except PlaylistError as error:
        db.session.rollback()
        # Flashed for the script too: it reloads the page, which then says why.
        flash(str(error), "error")
        if answers_script():
            refused = jsonify(ok=False, error=str(error))
            refused.status_code = 400
            return refused
    else:
        db.session.commit()
        if answers_script():
            return jsonify(ok=True)
        flash(said if isinstance(said, str) and said else done, "success")
    return redirect(back)
