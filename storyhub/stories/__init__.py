"""Stories: upload, lists, the story page, media bytes and job progress."""

from flask import Blueprint

bp = Blueprint("stories", __name__)

from storyhub.stories import (  # noqa: E402,F401  (they attach themselves to bp)
    consent_routes,
    people_routes,
    routes,
    transcript_routes,
)
