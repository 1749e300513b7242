"""Home: a welcome for visitors, and each role's starting point once signed in."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user
from sqlalchemy import select, text
from werkzeug.wrappers import Response

from consent import viewable_stories
from consent.describe import sharing
from storyhub.extensions import db
from storyhub.main import bp
from storyhub.models import Role, Story, StoryState


@bp.route("/")
def home() -> str:
    """The front page: a welcome, or what this person is likely to want next."""
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    recent = db.session.scalars(
        select(Story)
        .where(viewable_stories(current_user))
        .order_by(Story.created_at.desc())
        .limit(6)
    ).all()
    failed = 0
    if current_user.role in (Role.CURATOR, Role.ADMIN):
        failed = len(
            db.session.scalars(select(Story.id).where(Story.state == StoryState.FAILED)).all()
        )
    renewals = []
    if current_user.role == Role.STORYTELLER:
        # Ask the teller to renew when a review date is near or has passed.
        own = db.session.scalars(
            select(Story).where(
                Story.storyteller_id == current_user.id, viewable_stories(current_user)
            )
        ).all()
        renewals = [story for story in own if sharing(story).renewal_due]
    return render_template(
        "main/home.html", recent=recent, failed=failed, renewals=renewals, Role=Role
    )


@bp.route("/healthz")
def healthz() -> Response:
    """For load balancers and `make run`: is the app up and its database reachable?"""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
