"""Sign-in, invitations and roles."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Sign-in pages, and Flask-Login's page for people who must sign in first."""
    # The views add themselves to ``bp`` in routes.py; importing it here, where the blueprint is
    # registered, keeps the feature's pages and their registration in one place.
    from storyhub.auth import routes  # noqa: F401
    from storyhub.extensions import login_manager

    app.register_blueprint(bp)
    login_manager.user_loader(_load_user)


def _load_user(user_id: str) -> object | None:
    """The signed-in person of a session cookie (Flask-Login asks on each request)."""
    from storyhub.extensions import db
    from storyhub.models import User

    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
