"""The OpenAPI 3.1 document for API v1, kept beside the routes it describes.

A test compares its paths with the app's URL map, so a route can't be added without a description.
"""

from __future__ import annotations

from typing import Any

from consent.models import Audience, ConsentStatus, Naming, RecordedFor
from storyhub.finder.services import MAX_FILTER_VALUES
from storyhub.models import Language, ServiceSetting, StoryState, TellerKind
from storyhub.themes.models import ThemeKind, Valence
from storyhub.training.models import ItemKind

ERROR = {"$ref": "#/components/schemas/Error"}
CONSENT_STATE = {"$ref": "#/components/schemas/ConsentState"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "The request is malformed",
        401: "No valid token",
        403: "Not allowed for your role",
        404: "Not found, or not available to you",
        413: "The file is larger than the limit",
        409: "Not possible now (not ready yet, already withdrawn...)",
        410: "Gone: a story in it was withdrawn or is no longer shared for this",
        422: "The file was refused (not media, damaged, too long...)",
    }
    return {str(s): _json(ERROR, text[s]) for s in statuses}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


# The search and outcomes filters are the site's own forms, which send a field left empty as an
# empty value: an empty value means "no filter", and the document says so.
BLANK = {"type": "string", "pattern": "^\\s*$", "description": "Empty: no filter"}


def _filter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "array":
        return _query(name, {**schema, "items": {"anyOf": [schema["items"], BLANK]}})
    return _query(name, {"anyOf": [schema, BLANK]})


def _list(values: list[str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string"}
    if values:
        item["enum"] = values
    return {"type": "array", "items": item, "maxItems": MAX_FILTER_VALUES}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NO_CONTENT = {"204": {"description": "Done"}}


def training_paths() -> dict[str, Any]:
    """Clips and training sessions (trainers, curators and administrators; others get 403)."""
    story_id, clip_id = _path_id("story_id"), _path_id("clip_id")
    session_id, item_id = _path_id("session_id"), _path_id("item_id")
    return {
        "/clips": {
            "get": {
                "operationId": "listClips",
                "summary": "Your clips, newest first, each saying whether it can be used now",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["clips"],
                            "properties": {"clips": {"type": "array", "items": _ref("Clip")}},
                        },
                        "Your clips",
                    ),
                    **_errors(401, 403),
                },
            },
            "post": {
                "operationId": "createClip",
                "summary": "Cut a clip from a story, from one word number to another",
                "description": "Word numbers are the `index` values of "
                "`GET /stories/{story_id}/words`: the clip runs from the start of `start_word` "
                "to the end of `end_word` (at most 5 minutes). Times in seconds are not accepted. "
                "A story you can't see is 404; one whose storyteller does not allow clips (or "
                "no longer shares it for training) is 400 with the reason.",
                "requestBody": _body(_ref("ClipCreate")),
                "responses": {
                    "201": _json(_ref("Clip"), "The new clip"),
                    **_errors(400, 401, 403, 404),
                },
            },
        },
        "/clips/{clip_id}": {
            "get": {
                "operationId": "getClip",
                "summary": "One clip: yours, or one in a session shared with you",
                "parameters": [clip_id],
                "responses": {"200": _json(_ref("Clip"), "The clip"), **_errors(401, 403, 404)},
            },
            "patch": {
                "operationId": "updateClip",
                "summary": "Change your clip's words, title or note (fields left out stay)",
                "parameters": [clip_id],
                "requestBody": _body(_ref("ClipUpdate")),
                "responses": {
                    "200": _json(_ref("Clip"), "The changed clip"),
                    **_errors(400, 401, 403, 404),
                },
            },
            "delete": {
                "operationId": "deleteClip",
                "summary": "Delete your clip; it leaves every session that held it",
                "parameters": [clip_id],
                "responses": {**NO_CONTENT, **_errors(401, 403, 404)},
            },
        },
        "/clips/{clip_id}/file": {
            "post": {
                "operationId": "requestClipFile",
                "summary": "Ask for your clip as a file, cut exactly on its words",
                "description": "202 with the job while it is cut (follow it with "
                "`GET /jobs/{job_id}`); 200 when an up-to-date file is ready. 400 (with the "
                "reason) when the clip can't be used now.",
                "parameters": [clip_id],
                "responses": {
                    "200": _json(_ref("ClipFile"), "The file is ready"),
                    "202": _json(
                        {
                            "allOf": [
                                _ref("ClipFile"),
                                {
                                    "type": "object",
                                    "required": ["job"],
                                    "properties": {"job": _ref("Job")},
                                },
                            ]
                        },
                        "Being cut",
                    ),
                    **_errors(400, 401, 403, 404),
                },
            },
            "get": {
                "operationId": "downloadClipFile",
                "summary": "Your clip as a file (MP4, or M4A for a sound-only story)",
                "description": "410 (with the reason) once the clip can't be used; 404 until "
                "a file has been made.",
                "parameters": [clip_id],
                "responses": {
                    "200": {
                        "description": "The clip",
                        "content": {
                            "video/mp4": {"schema": {"type": "string", "format": "binary"}},
                            "audio/mp4": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_errors(401, 403, 404, 410),
                },
            },
        },
        "/stories/{story_id}/words": {
            "get": {
                "operationId": "getStoryWords",
                "summary": "A story's numbered words, to choose where a clip starts and ends",
                "description": "A run of words a curator removed is one word, "
                '"[name removed]", with `redacted` true. 400 (with the reason) when the '
                "story's consent does not allow clips.",
                "parameters": [story_id],
                "responses": {
                    "200": _json(_ref("StoryWords"), "The words"),
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/sessions": {
            "get": {
                "operationId": "listSessions",
                "summary": "Your sessions and those shared with you, most recently changed first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["owned", "shared"],
                            "properties": {
                                "owned": {"type": "array", "items": _ref("SessionSummary")},
                                "shared": {"type": "array", "items": _ref("SessionSummary")},
                            },
                        },
                        "Sessions",
                    ),
                    **_errors(401, 403),
                },
            },
            "post": {
                "operationId": "createSession",
                "summary": "Make a new, empty session",
                "requestBody": _body(_ref("SessionDetails")),
                "responses": {
                    "201": _json(_ref("Session"), "The new session"),
                    **_errors(400, 401, 403),
                },
            },
        },
        "/sessions/{session_id}": {
            "get": {
                "operationId": "getSession",
                "summary": "A session with its items in order",
                "parameters": [session_id],
                "responses": {
                    "200": _json(_ref("Session"), "The session"),
                    **_errors(401, 403, 404),
                },
            },
            "patch": {
                "operationId": "updateSession",
                "summary": "Change your session's title or summary (fields left out stay)",
                "parameters": [session_id],
                "requestBody": _body(_ref("SessionDetails")),
                "responses": {
                    "200": _json(_ref("Session"), "The session"),
                    **_errors(400, 401, 403, 404),
                },
            },
            "delete": {
                "operationId": "deleteSession",
                "summary": "Delete your session and its exports",
                "parameters": [session_id],
                "responses": {**NO_CONTENT, **_errors(401, 403, 404)},
            },
        },
        "/sessions/{session_id}/items": {
            "post": {
                "operationId": "addSessionItem",
                "summary": "Add a heading, a discussion prompt or a clip at the end",
                "parameters": [session_id],
                "requestBody": _body(_ref("SessionItemCreate")),
                "responses": {
                    "201": _json(_ref("LessonItem"), "The new item"),
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/sessions/{session_id}/items/{item_id}": {
            "patch": {
                "operationId": "updateSessionItem",
                "summary": "Change an item's text (headings, prompts) or notes",
                "parameters": [session_id, item_id],
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "text": {"type": "string", "maxLength": 2000},
                            "notes": {"type": "string", "maxLength": 2000},
                        },
                    }
                ),
                "responses": {
                    "200": _json(_ref("LessonItem"), "The item"),
                    **_errors(400, 401, 403, 404),
                },
            },
            "delete": {
                "operationId": "removeSessionItem",
                "summary": "Take an item out of the session",
                "parameters": [session_id, item_id],
                "responses": {**NO_CONTENT, **_errors(401, 403, 404)},
            },
        },
        "/sessions/{session_id}/order": {
            "put": {
                "operationId": "reorderSession",
                "summary": "Put the items in a new order",
                "description": "`items` must name every item of the session exactly once; "
                "an order made before the session last changed is refused (400).",
                "parameters": [session_id],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["items"],
                        "additionalProperties": False,
                        "properties": {"items": {"type": "array", "items": {"type": "integer"}}},
                    }
                ),
                "responses": {
                    "200": _json(_ref("Session"), "The session in its new order"),
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/sessions/{session_id}/duplicate": {
            "post": {
                "operationId": "duplicateSession",
                "summary": "Copy a session (yours or one shared with you) into a new one of yours",
                "parameters": [session_id],
                "responses": {
                    "201": _json(_ref("Session"), "Your copy"),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/sessions/{session_id}/exports": {
            "get": {
                "operationId": "listSessionExports",
                "summary": "The session's exports, newest first",
                "parameters": [session_id],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["exports"],
                            "properties": {"exports": {"type": "array", "items": _ref("Export")}},
                        },
                        "Exports",
                    ),
                    **_errors(401, 403, 404),
                },
            },
            "post": {
                "operationId": "exportSession",
                "summary": "Export the session as one video with captions, and a handout",
                "description": "Clips that can't be used now are left out. Follow the job with "
                "`GET /jobs/{job_id}`, then list the exports for the file links.",
                "parameters": [session_id],
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "burn_captions": {
                                "type": "boolean",
                                "description": "Put the captions into the picture",
                            }
                        },
                    }
                ),
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "required": ["export", "job"],
                            "properties": {"export": _ref("Export"), "job": _ref("Job")},
                        },
                        "Queued",
                    ),
                    **_errors(400, 401, 403, 404),
                },
            },
        },
        "/sessions/{session_id}/exports/{export_id}/{kind}": {
            "get": {
                "operationId": "downloadExport",
                "summary": "One file of an export: the video, its captions, or the handout",
                "description": "Answered only while every story in the export may still be used "
                "for training; otherwise 410 says why. Supports range requests.",
                "parameters": [
                    session_id,
                    _path_id("export_id"),
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "enum": ["video", "captions", "handout", "pdf"],
                        },
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {
                            "video/mp4": {"schema": {"type": "string", "format": "binary"}},
                            "text/vtt": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_errors(401, 403, 404, 410),
                },
            },
        },
    }


def training_schemas() -> dict[str, Any]:
    text = {"type": "string", "maxLength": 2000}
    return {
        "ClipFile": {
            "type": "object",
            "required": ["ready", "url"],
            "properties": {
                "ready": {"type": "boolean"},
                "url": {"type": ["string", "null"], "format": "uri"},
            },
        },
        "Clip": {
            "type": "object",
            "required": ["id", "story_id", "start", "end", "title", "usable", "reason", "text"],
            "properties": {
                "id": {"type": "integer"},
                "story_id": {"type": "integer"},
                "story_title": {"type": "string"},
                "start": {"type": "number", "description": "Seconds into the story"},
                "end": {"type": "number"},
                "duration": {"type": "number"},
                "start_word": {
                    "type": ["integer", "null"],
                    "description": "Its first word's number (null when it can't be used)",
                },
                "end_word": {"type": ["integer", "null"]},
                "title": {"type": "string"},
                "note": {"type": ["string", "null"], "description": "Its maker's only"},
                "mine": {"type": "boolean"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "usable": {
                    "type": "boolean",
                    "description": "Whether its story's consent lets you be shown it now",
                },
                "reason": {"type": ["string", "null"], "description": "Why it can't be used"},
                "redacted": {"type": "boolean", "description": "A name or place was removed"},
                "text": {"type": ["string", "null"], "description": "Its words, when usable"},
                "links": {"type": "object"},
            },
        },
        "ClipCreate": {
            "type": "object",
            "required": ["story_id", "start_word", "end_word", "title"],
            "additionalProperties": False,
            "properties": {
                "story_id": {"type": "integer"},
                "start_word": {"type": "integer", "minimum": 0},
                "end_word": {"type": "integer", "minimum": 0},
                "title": {"type": "string", "maxLength": 200},
                "note": text,
            },
        },
        "ClipUpdate": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "start_word": {"type": "integer", "minimum": 0},
                "end_word": {"type": "integer", "minimum": 0},
                "title": {"type": "string", "maxLength": 200},
                "note": text,
            },
        },
        "StoryWords": {
            "type": "object",
            "required": ["story_id", "words"],
            "properties": {
                "story_id": {"type": "integer"},
                "story_title": {"type": "string"},
                "state": {"type": "string", "enum": [x.value for x in StoryState]},
                "max_clip_seconds": {"type": "number"},
                "words": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "start", "end", "text", "redacted"],
                        "properties": {
                            "index": {"type": "integer"},
                            "start": {"type": "number"},
                            "end": {"type": "number"},
                            "text": {"type": "string"},
                            "redacted": {"type": "boolean"},
                            "passage_id": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "SessionSummary": {
            "type": "object",
            "required": ["id", "title", "summary", "owner", "item_count", "updated_at"],
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "owner": {"type": "string", "description": "Its owner's name"},
                "editable": {"type": "boolean", "description": "Only its owner changes it"},
                "item_count": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "links": {"type": "object"},
            },
        },
        "Session": {
            "allOf": [
                _ref("SessionSummary"),
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("LessonItem")}},
                },
            ]
        },
        "SessionDetails": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"title": {"type": "string", "maxLength": 200}, "summary": text},
        },
        "LessonItem": {
            "type": "object",
            "required": ["id", "position", "kind", "text", "notes", "clip"],
            "properties": {
                "id": {"type": "integer"},
                "position": {"type": "integer"},
                "kind": {"type": "string", "enum": [x.value for x in ItemKind]},
                "text": {"type": "string", "description": "The heading or the prompt"},
                "notes": {
                    "type": ["string", "null"],
                    "description": "The trainer's notes: null unless you own the session",
                },
                "clip": {"oneOf": [_ref("Clip"), {"type": "null"}]},
            },
        },
        "SessionItemCreate": {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": False,
            "properties": {
                "kind": {"type": "string", "enum": [x.value for x in ItemKind]},
                "text": {**text, "description": "Needed for a heading or a prompt"},
                "clip_id": {"type": "integer", "description": "Needed for a clip"},
                "notes": text,
            },
        },
        "Export": {
            "type": "object",
            "required": ["id", "created_at", "burn_captions", "state", "files", "refusal"],
            "properties": {
                "id": {"type": "integer"},
                "session_id": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "burn_captions": {"type": "boolean"},
                "state": {
                    "type": "string",
                    "enum": ["queued", "running", "done", "failed", "revoked"],
                },
                "job_id": {"type": ["integer", "null"]},
                "left_out": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"title": {"type": "string"}, "reason": {"type": "string"}},
                    },
                },
                "duration": {"type": ["number", "null"]},
                "files": {
                    "type": ["object", "null"],
                    "description": "File kind to download address (a signed-in site page), "
                    "only while every story in it may still be used",
                    "additionalProperties": {"type": "string", "format": "uri"},
                },
                "refusal": {
                    "type": ["string", "null"],
                    "description": "Why the files can't be downloaded now",
                },
            },
        },
    }


def outcome_paths() -> dict[str, Any]:
    """The outcomes dashboard: suppressed counts, and the passages behind one."""
    filters = [
        _filter("kind", {"type": "string", "enum": [k.value for k in ThemeKind]}),
        _filter("subtheme", {"type": "string"}),
        _filter("teller", {"type": "string", "enum": [x.value for x in TellerKind]}),
        _filter("setting", {"type": "string", "enum": [x.value for x in ServiceSetting]}),
        _filter("language", {"type": "string", "enum": [x.value for x in Language]}),
        _filter("valence", {"type": "string", "enum": [*(v.value for v in Valence), "unmarked"]}),
        _filter("year", {"type": "string", "pattern": "^[0-9]{4}$"}),
        _filter("from", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
        _filter("to", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
        _filter("by", {"type": "string", "enum": ["quarter", "year"]}),
    ]
    return {
        "/outcomes": {
            "get": {
                "operationId": "outcomes",
                "summary": "Counts of confirmed outcome themes (the dashboard's tables)",
                "description": "Counts only stories whose tellers chose anonymous statistics. "
                "A count under the threshold (and any count that would give one away) has "
                "null numbers and the text 'fewer than N'. Each cell's filters open its "
                "passages at /outcomes/passages. Counts are given for every year or one whole "
                "year (year=2025, or from=2025-01&to=2025-12), narrowed one way at a time "
                "(one of teller, setting, language, valence, year; kind or subtheme may be "
                "added): anything else is refused with 400 bad_filter. Which counts are hidden "
                "is decided once for every answer this endpoint, the site and its CSV can "
                "give, so that no hidden count can be worked out by adding or subtracting "
                "shown ones, across tables, filters and years; the same cell has the same "
                "answer everywhere.",
                "parameters": filters,
                "responses": {
                    "200": _json(_ref("Outcomes"), "The tables"),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/outcomes/passages": {
            "get": {
                "operationId": "outcomePassages",
                "summary": "The passages behind a count that you may see",
                "parameters": [
                    *filters,
                    _query("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                ],
                "responses": {
                    "200": _json(_ref("OutcomePassages"), "A page of passages"),
                    **_errors(400, 401, 403),
                },
            }
        },
    }


def outcome_schemas() -> dict[str, Any]:
    nullable_int = {"type": ["integer", "null"]}
    count_properties: dict[str, Any] = {
        "passages": nullable_int,
        "stories": nullable_int,
        "text": {"type": "string"},
    }
    count = {
        "type": "object",
        "required": ["passages", "stories", "text"],
        "properties": count_properties,
    }
    cell = {
        "type": "object",
        "required": ["passages", "stories", "text", "filters"],
        "properties": {
            **count_properties,
            "filters": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    row = {
        "type": "object",
        "required": ["label", "level", "cells", "total"],
        "properties": {
            "label": {"type": "string"},
            "level": {"type": "integer"},
            "cells": {"type": "array", "items": cell},
            "total": cell,
        },
    }
    return {
        "Outcomes": {
            "type": "object",
            "required": ["threshold", "filters", "total", "tables"],
            "properties": {
                "threshold": {"type": "integer"},
                "filters": {"type": "object", "additionalProperties": {"type": "string"}},
                "total": count,
                "tables": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "title", "columns", "rows", "totals"],
                        "properties": {
                            "key": {"type": "string"},
                            "title": {"type": "string"},
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "rows": {"type": "array", "items": row},
                            "totals": row,
                        },
                    },
                },
            },
        },
        "OutcomePassages": {
            "type": "object",
            "required": ["page", "more", "limited", "passages"],
            "properties": {
                "page": {"type": "integer"},
                "more": {"type": "boolean"},
                "limited": {"type": "boolean"},
                "passages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "story_id": {"type": "integer"},
                            "story_title": {"type": "string"},
                            "passage_id": {"type": "integer"},
                            "start": {"type": "number"},
                            "end": {"type": "number"},
                            "text": {"type": "string"},
                            "subtheme": {"type": "string"},
                            "kind": {"type": "string"},
                            "valence": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document as a dict."""
    return _bodies_bounded(_nulls_as_left_out(_document()))


def _bodies_bounded(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a body may answer 413 (too large to read): the upload past
    MAX_UPLOAD_MB, any other past MAX_REQUEST_KB. Said here in one place."""
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "413", _json(ERROR, "The request is larger than this operation takes")
                )
    return document


def _nulls_as_left_out(document: dict[str, Any]) -> dict[str, Any]:
    """The routes read an optional field sent as null as if it were left out: the document says
    so for every JSON request body, here in one place."""
    schemas = document["components"]["schemas"]
    for operations in document["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            ref = body["schema"].get("$ref")
            if ref is None:
                body["schema"] = _optional_nullable(body["schema"])
            else:
                name = ref.rsplit("/", 1)[1]
                schemas[name] = _optional_nullable(schemas[name])
    return document


def _optional_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", ()))
    properties = schema["properties"].items()
    return {
        **schema,
        "properties": {n: p if n in required else _or_null(p) for n, p in properties},
    }


def _or_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``prop``, also taking null; doing it twice changes nothing (two operations may share a
    body's schema)."""
    kind = prop.get("type")
    if kind is None:  # no type of its own (a oneOf, say)
        null = {"type": "null"}
        return prop if null in prop.get("anyOf", []) else {"anyOf": [prop, null]}
    kinds = [kind] if isinstance(kind, str) else list(kind)
    nullable = {**prop, "type": kinds if "null" in kinds else [*kinds, "null"]}
    if "enum" in prop and None not in prop["enum"]:
        nullable["enum"] = [*prop["enum"], None]
    return nullable


def _document() -> dict[str, Any]:
    story_id = {"name": "story_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "storyhub API",
            "version": "1",
            "description": "Upload and read consented digital stories. Authenticate with "
            "`Authorization: Bearer <token>` (`flask --app storyhub users token NAME`).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/stories": {
                "get": {
                    "operationId": "listStories",
                    "summary": "Stories you may see, newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["stories", "limit", "offset"],
                                "properties": {
                                    "stories": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Story"},
                                    },
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                },
                            },
                            "A page of stories",
                        ),
                        **_errors(400, 401),
                    },
                },
                "post": {
                    "operationId": "uploadStory",
                    "summary": "Upload a story",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {"$ref": "#/components/schemas/StoryUpload"}
                            }
                        },
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Story"}, "Stored and queued"),
                        **_errors(400, 401, 403, 413, 422),
                    },
                },
            },
            "/stories/{story_id}": {
                "get": {
                    "operationId": "getStory",
                    "summary": "One story",
                    "parameters": [story_id],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Story"}, "The story"),
                        **_errors(401, 404),
                    },
                }
            },
            "/stories/{story_id}/consent": {
                "get": {
                    "operationId": "getConsent",
                    "summary": "The story's current consent and its history (teller and staff)",
                    "parameters": [story_id],
                    "responses": {
                        "200": _json(CONSENT_STATE, "Current consent and history"),
                        **_errors(401, 403, 404),
                    },
                },
                "post": {
                    "operationId": "setConsent",
                    "summary": "Release the story (needs watched: true) or change its choices",
                    "parameters": [story_id],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ConsentChoices"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(CONSENT_STATE, "The new consent"),
                        **_errors(400, 401, 403, 404, 409),
                    },
                },
            },
            "/stories/{story_id}/consent/renew": {
                "post": {
                    "operationId": "renewConsent",
                    "summary": "Keep sharing with the same choices for more months",
                    "parameters": [story_id],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "months": {"type": "integer", "minimum": 1, "maximum": 36}
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(CONSENT_STATE, "The new consent"),
                        **_errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/stories/{story_id}/consent/withdraw": {
                "post": {
                    "operationId": "withdrawConsent",
                    "summary": "Stop sharing the story everywhere, at once",
                    "parameters": [story_id],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"reason": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(CONSENT_STATE, "The new consent"),
                        **_errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/jobs/{job_id}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "A background job's progress",
                    "parameters": [
                        {
                            "name": "job_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Job"}, "The job"),
                        **_errors(401, 404),
                    },
                }
            },
            "/search": {
                "get": {
                    "operationId": "searchPassages",
                    "summary": "Find passages in the stories you may see, grouped by story",
                    "description": "The same search as the site's page. Every word must match "
                    '(by stem); "quoted words" match as a phrase; word* matches a prefix. '
                    "Filters repeat for several values (OR within a filter, AND across).",
                    "parameters": [
                        _query(
                            "q",
                            {
                                "type": "string",
                                "description": "Only its first 500 characters count",
                            },
                        ),
                        _filter("kind", _list(["maintenance", "process", "change"])),
                        _filter("subtheme", _list()),
                        _filter("language", _list([x.value for x in Language])),
                        _filter("teller", _list([x.value for x in TellerKind])),
                        _filter("setting", _list([x.value for x in ServiceSetting])),
                        _filter("year", _list()),
                        _filter("from", {"type": "string", "format": "date"}),
                        _filter("to", {"type": "string", "format": "date"}),
                        _filter("story", {"type": "integer"}),
                        _filter("page", {"type": "integer", "minimum": 1, "maximum": 100}),
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/SearchPage"}, "A page"),
                        **_errors(400, 401),
                        "503": _json(ERROR, "The search engine is not answering"),
                    },
                }
            },
            **training_paths(),
            **outcome_paths(),
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **training_schemas(),
                **outcome_schemas(),
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "fields": {"type": "object"},
                            },
                        }
                    },
                },
                "SearchPage": {
                    "type": "object",
                    "required": [
                        "query",
                        "page",
                        "pages",
                        "total_passages",
                        "total_stories",
                        "stories",
                        "facets",
                    ],
                    "properties": {
                        "query": {"type": "string"},
                        "page": {"type": "integer"},
                        "pages": {"type": "integer"},
                        "total_passages": {"type": "integer"},
                        "total_stories": {"type": "integer"},
                        "stories": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/SearchStory"},
                        },
                        "facets": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "value": {"type": "string"},
                                        "label": {"type": "string"},
                                        "count": {"type": "integer"},
                                        "selected": {"type": "boolean"},
                                    },
                                },
                            },
                        },
                    },
                },
                "SearchStory": {
                    "type": "object",
                    "required": ["id", "title", "passages"],
                    "properties": {
                        "id": {"type": "integer"},
                        "title": {"type": "string"},
                        "teller_kind": {"type": "string"},
                        "setting": {"type": "string"},
                        "language": {"type": "string"},
                        "passages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "start", "end", "snippet"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "start": {"type": "number"},
                                    "end": {"type": "number"},
                                    "snippet": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "text": {"type": "string"},
                                                "match": {"type": "boolean"},
                                            },
                                        },
                                    },
                                    "snippet_cut_before": {"type": "boolean"},
                                    "snippet_cut_after": {"type": "boolean"},
                                    "themes": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                        },
                    },
                },
                "Job": {
                    "type": "object",
                    "required": ["id", "kind", "state", "progress", "message", "finished"],
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string"},
                        "state": {
                            "type": "string",
                            "enum": ["queued", "running", "done", "failed"],
                        },
                        "progress": {"type": "number", "minimum": 0, "maximum": 1},
                        "message": {"type": "string"},
                        "error": {"type": ["string", "null"]},
                        "finished": {"type": "boolean"},
                        "story_id": {"type": ["integer", "null"]},
                    },
                },
                "Story": {
                    "type": "object",
                    "required": ["id", "title", "language", "teller_kind", "state", "links"],
                    "properties": {
                        "id": {"type": "integer"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "language": {"type": "string", "enum": [x.value for x in Language]},
                        "teller_kind": {"type": "string", "enum": [x.value for x in TellerKind]},
                        "state": {"type": "string", "enum": [x.value for x in StoryState]},
                        "kind": {"type": "string", "enum": ["video", "audio"]},
                        "duration": {"type": "number"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "failure_message": {"type": ["string", "null"]},
                        "sharing": {"type": "string"},
                        "job": {"oneOf": [{"$ref": "#/components/schemas/Job"}, {"type": "null"}]},
                        "links": {"type": "object"},
                    },
                },
                "Consent": {
                    "type": "object",
                    "required": ["version", "action", "status", "released", "audiences"],
                    "properties": {
                        "version": {"type": "integer"},
                        "action": {"type": "string"},
                        "status": {"type": "string", "enum": [x.value for x in ConsentStatus]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "recorded_by": {"type": "integer"},
                        "released": {"type": "boolean"},
                        "audiences": {
                            "type": "array",
                            "items": {"type": "string", "enum": [x.value for x in Audience]},
                        },
                        "clips_allowed": {"type": "boolean"},
                        "naming": {"type": "string", "enum": [x.value for x in Naming]},
                        "review_date": {"type": ["string", "null"], "format": "date"},
                        "recorded_for": {"type": "string", "enum": [x.value for x in RecordedFor]},
                        "third_parties": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "ConsentState": {
                    "type": "object",
                    "required": ["current", "sharing"],
                    "properties": {
                        "current": {"$ref": "#/components/schemas/Consent"},
                        "sharing": {"type": "string"},
                        "history": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Consent"},
                        },
                    },
                },
                "ConsentChoices": {
                    "type": "object",
                    "properties": {
                        "watched": {"type": "boolean"},
                        "audiences": {
                            "type": "array",
                            "items": {"type": "string", "enum": [x.value for x in Audience]},
                        },
                        "clips_allowed": {"type": "boolean"},
                        "naming": {"type": "string", "enum": [x.value for x in Naming]},
                        "review_months": {"type": "integer", "minimum": 1, "maximum": 36},
                        "recorded_for": {"type": "string", "enum": [x.value for x in RecordedFor]},
                        "proxy_name": {"type": "string"},
                        "proxy_relationship": {"type": "string"},
                        "best_interests_note": {"type": "string"},
                        "adult_on": {"type": ["string", "null"], "format": "date"},
                        "third_parties": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "agreed": {"type": "boolean"},
                                },
                            },
                        },
                        "notes": {"type": "string"},
                    },
                },
                "StoryUpload": {
                    "type": "object",
                    "required": ["media", "title", "take_part"],
                    "properties": {
                        "media": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": 200},
                        "description": {"type": "string", "maxLength": 2000},
                        "language": {"type": "string", "enum": [x.value for x in Language]},
                        "teller_kind": {"type": "string", "enum": [x.value for x in TellerKind]},
                        "storyteller": {
                            "type": "string",
                            "description": "Staff only: the storyteller's user id, or 'self'",
                        },
                        "take_part": {
                            "type": "string",
                            "enum": ["true", "y", "yes", "on", "1"],
                            "description": "Consent step 1: the teller agrees to take part and "
                            "have the story stored and prepared (nobody else sees it yet)",
                        },
                    },
                },
            },
        },
    }
