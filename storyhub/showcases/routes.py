"""Showcase views: entering an event code, presenting a showcase, and its media.

Work in progress (issue 8): the builder's pages and the offline pack are still to come.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from consent.describe import audience_list, name_as_consented
from consent.models import Audience
from consent.services import record_use
from storyhub.extensions import db
from storyhub.models import MediaRole
from storyhub.showcases import services
from storyhub.showcases.models import Showcase, ShowcaseItem
from storyhub.storage import get_storage
from storyhub.transcripts import webvtt

bp = Blueprint("showcases", __name__)


def _watchable(showcase_id: int) -> Showcase:
    """The showcase, if this person may watch it now; otherwise "not found"."""
    showcase = db.session.get(Showcase, showcase_id)
    code_id = session.get(services.CODE_SESSION_KEY)
    if showcase is None or not services.may_watch(current_user, showcase, code_id):
        abort(404)
    return showcase


def _shown_item(showcase: Showcase, item_id: int) -> ShowcaseItem:
    """One of the showcase's items whose consent still allows it; otherwise "not found"."""
    for shown in services.items_now(showcase):
        if shown.item.id == item_id and shown.refusal is None:
            return shown.item
    abort(404)


@bp.route("/event", methods=["GET", "POST"])
def event() -> Any:
    """Open a showcase with the event's access code (no account needed)."""
    problem = None
    if request.method == "POST":
        showcase = services.showcase_for_code(request.form.get("code", ""))
        if showcase is not None:
            session.clear()  # a code opens this one showcase and nothing else
            session[services.CODE_SESSION_KEY] = showcase.id
            return redirect(url_for("showcases.present", showcase_id=showcase.id))
        problem = (
            "That code doesn't open a showcase now. Codes work only during their event: "
            "please check the code with the organiser."
        )
    status = 400 if problem else 200
    return render_template("showcases/event.html", problem=problem), status


@bp.route("/showcases/<int:showcase_id>/present")
def present(showcase_id: int) -> str:
    """Presentation mode: one item at a time, introduced by its teller (as consented) and the
    audiences they chose; items whose consent no longer allows them are simply not there."""
    showcase = _watchable(showcase_id)
    items = [s.item for s in services.items_now(showcase) if s.refusal is None]
    viewer = current_user if getattr(current_user, "is_authenticated", False) else None
    for story in {item.story for item in items}:
        record_use(story, viewer, kind="showcase", audience=Audience.LEARNING_EVENTS)
    db.session.commit()
    slides = [
        {
            "item": item,
            "teller": name_as_consented(item.story),
            "audiences": audience_list(
                item.story.consent.audiences if item.story.consent else set()
            ),
            "start": item.clip.start if item.clip else 0.0,
            "end": item.clip.end if item.clip else item.story.duration,
        }
        for item in items
    ]
    return render_template("showcases/present.html", showcase=showcase, slides=slides)


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>/media")
def media(showcase_id: int, item_id: int) -> Response:
    """An item's web copy, for whoever may watch the showcase; supports range requests."""
    item = _shown_item(_watchable(showcase_id), item_id)
    rendition = item.story.media_file(MediaRole.RENDITION)
    if rendition is None:
        abort(404)
    response = send_file(
        get_storage().local_path(rendition.storage_key),
        mimetype=rendition.content_type,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>/captions.vtt")
def captions(showcase_id: int, item_id: int) -> Response:
    item = _shown_item(_watchable(showcase_id), item_id)
    response = Response(webvtt(item.story), mimetype="text/vtt")
    response.headers["Cache-Control"] = "private, no-cache"
    return response
