"""Stories: upload, lists, the story page, media bytes and job progress."""

from flask import Blueprint

bp = Blueprint("stories", __name__)

from storyhub.stories import consent_routes, routes  # noqa: E402,F401  (they attach to bp)
