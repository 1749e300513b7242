"""Sign-in, invitations and roles."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from storyhub.auth import routes  # noqa: E402,F401  (routes attach themselves to bp)
