"""The API's one shape of error, {"error": {"code", "message", ...}}, and how requests are read.

Bad input is answered with a 400 in that shape and plain words, never a 500 and never
flask-smorest's own shape: the parser below turns schema problems into ApiError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request, Response, jsonify
from webargs.flaskparser import FlaskParser

# What each status means, as the document says it beside every operation that may answer it.
MEANINGS = {
    400: "The request is malformed",
    401: "No valid token",
    403: "Not allowed for your role",
    404: "Not found, or not available to you",
    409: "Not possible now (not ready yet, already withdrawn...)",
    410: "Gone: a story in it was withdrawn or is no longer shared for this",
    413: "The request is larger than this operation takes",
    422: "The file was refused (not media, damaged, too long...)",
    503: "The search engine is not answering",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """The one shape of every API error: {"error": {"code", "message", ...}}."""
    return jsonify(error={"code": code, "message": message, **extra}), status


def _said(messages: Any) -> Iterator[str]:
    """Every message in a marshmallow error, however deep (a list's items, a nested object)."""
    if isinstance(messages, str):
        yield messages
    elif isinstance(messages, dict):
        for value in messages.values():
            yield from _said(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _said(value)


class ApiParser(FlaskParser):
    """webargs' Flask parser, strict about the body and answering in the API's shape."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        """The body must be a JSON object: anything else (form fields, broken JSON, a list, no
        body, JSON nested deeper than the parser goes) is refused, not read as empty."""
        try:
            body = req.get_json(silent=True)
        except RecursionError:  # silent covers only ValueError
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "Send a JSON object.")
        return body

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        """A value the schema refuses: 400, its message(s) in plain words, and each field's."""
        messages = error.messages if isinstance(error.messages, dict) else {"": error.messages}
        location, found = next(iter(messages.items()))
        # A query string's schema may say how its filters name their problems.
        code = "invalid" if location == "json" else getattr(schema, "error_code", "bad_request")
        said = list(dict.fromkeys(_said(found)))
        fields = found if isinstance(found, dict) else {}
        raise ApiError(error_status_code or 400, code, " ".join(said), fields=fields)
