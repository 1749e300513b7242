"""Outcome themes in the archive: the live taxonomy, suggestions, curators' decisions, learning.

Tables are in ``models``; rules in ``services``; views in ``routes``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The curators' theme pages; suggesting themes for a story; refitting the tagger."""
    from storyhub.registry import job_handler
    from storyhub.themes import services
    from storyhub.themes.routes import bp

    app.register_blueprint(bp)
    job_handler(app, services.SUGGEST_THEMES, services.suggest_job)
    job_handler(app, services.REFIT_TAGGER, services.refit_job)
