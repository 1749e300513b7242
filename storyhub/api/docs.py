"""Readable API documentation at /api/v1/docs: Swagger UI, served from this site (no CDN).

Swagger UI's files come from the flask-swagger-ui wheel (its dist/ folder: Swagger UI 5, which
reads OpenAPI 3.1); only its files are used, not its page, whose start-up script is inline. Our
page starts it from a static script (static/api-docs.js), so it runs under the site's
Content-Security-Policy unchanged (script-src 'self', style-src 'self').
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template, send_from_directory
from werkzeug.wrappers import Response

SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"

bp = Blueprint(
    "api_docs",
    __name__,
    url_prefix="/api/v1/docs",
    static_folder="static",
)


@bp.get("/")
def page() -> str:
    """The API's documentation, read from /api/v1/openapi.json."""
    return render_template("api/docs.html")


@bp.get("/swagger-ui/<path:filename>")
def swagger_ui(filename: str) -> Response:
    """Swagger UI's own files, as the wheel ships them."""
    return send_from_directory(SWAGGER_UI, filename, max_age=86400)
