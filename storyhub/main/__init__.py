"""The home page, health check and error pages."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("main", __name__)


def init_app(app: Flask) -> None:
    """The home page, the health check, and the error pages for the whole site."""
    from storyhub.main import errors, routes  # noqa: F401  (their views add themselves to bp)

    app.register_blueprint(bp)
