"""Stories: upload, lists, the story page, media bytes and job progress."""

from flask import Blueprint

bp = Blueprint("stories", __name__)

from storyhub.stories import routes  # noqa: E402,F401  (routes attach themselves to bp)
