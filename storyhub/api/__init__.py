"""JSON API v1: bearer-token auth, JSON errors, an OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    """The JSON API under /api/v1."""
    from storyhub.api import routes  # noqa: F401  (its views add themselves to bp)

    app.register_blueprint(bp)
