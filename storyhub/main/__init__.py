"""The home page, health check and error pages."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from storyhub.main import errors, routes  # noqa: E402,F401  (they attach themselves to bp)
