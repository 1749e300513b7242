"""The search pages and the index's upkeep: the application side of the ``search`` package."""

from flask import Blueprint

bp = Blueprint("search", __name__)
