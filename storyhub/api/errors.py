"""The API's one shape of error, {"error": {"code", "message", ...}}, and how requests are read.

Bad input is answered with a 400 in that shape and plain words, never a 500 and never
flask-smorest's own shape: the parser below turns schema problems into ApiError. The words are
in the language the request's ``Accept-Language`` asks for (storyhub/i18n.py); codes and field
names stay English, for programs to read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request, Response, jsonify
from flask_babel import gettext
from webargs.flaskparser import FlaskParser

from storyhub.extensions import N_

# What each status means, as the document says it beside every operation that may answer it.
MEANINGS = {
    400: "The request is malformed",  # untranslated: developer docs
    401: "No valid token",  # untranslated: developer docs
    403: "Not allowed for your role",  # untranslated: developer docs
    404: "Not found, or not available to you",  # untranslated: developer docs
    409: "Not possible now (not ready yet, already withdrawn...)",  # untranslated: developer docs
    410: (
        "Gone: a story in it was withdrawn or is no longer shared for this"  # untranslated: docs
    ),
    413: "The request is larger than this operation takes",  # untranslated: developer docs
    422: "The file was refused (not media, damaged, too long...)",  # untranslated: developer docs
    503: "The search engine is not answering",  # untranslated: developer docs
}


# marshmallow's own messages that a request can meet (the schemas give most fields their own),
# listed so the catalogue has them: the parser translates every message it answers with.
MARSHMALLOW_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Not a valid list."),
    N_("Not a valid date."),
    N_("Not a valid integer."),
    N_("Not a valid string."),
    N_("Not a valid mapping type."),
    N_("Invalid type."),
    N_("Invalid input type."),
    N_("Unknown field."),
    N_("Must be one of: {choices}."),
    N_("Longer than maximum length {max}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
)


def in_language(message: str, **values: Any) -> str:
    """``message`` (a "{name}"-style template) in the request's language, values put in after."""
    return gettext(message).format(**values)


def _translated(messages: Any) -> Any:
    """A marshmallow error's messages, however deep, each in the request's language."""
    if isinstance(messages, str):
        return gettext(messages)
    if isinstance(messages, dict):
        return {key: _translated(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translated(value) for value in messages]
    return messages


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
            raise ApiError(400, "bad_request", gettext("Send a JSON object."))
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
        messages = _translated(
            error.messages if isinstance(error.messages, dict) else {"": error.messages}
        )
        location, found = next(iter(messages.items()))
        # A query string's schema may say how its filters name their problems.
        code = "invalid" if location == "json" else getattr(schema, "error_code", "bad_request")
        said = list(dict.fromkeys(_said(found)))
        fields = found if isinstance(found, dict) else {}
        raise ApiError(error_status_code or 400, code, " ".join(said), fields=fields)
