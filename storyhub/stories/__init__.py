"""Stories: upload, lists, the story page, media bytes and job progress."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("stories", __name__)


def init_app(app: Flask) -> None:
    """A story's pages: upload, consent, people in it, transcript; and the upload sweep."""
    from storyhub import uploads

    # Each module adds its views to ``bp``; they are listed here, where ``bp`` is registered.
    from storyhub.stories import (  # noqa: F401
        consent_routes,
        people_routes,
        routes,
        transcript_routes,
    )

    app.register_blueprint(bp)
    uploads.init_app(app)
