"""The outcomes dashboard: anonymous counts of confirmed themes, each a link to its passages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The dashboard's pages."""
    from storyhub.dashboard.routes import bp

    app.register_blueprint(bp)
