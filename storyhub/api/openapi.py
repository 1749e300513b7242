"""The OpenAPI 3.1 document for API v1, kept beside the routes it describes.

A test compares its paths with the app's URL map, so a route can't be added without a description.
"""

from __future__ import annotations

from typing import Any

from consent.models import Audience, ConsentStatus, Naming, RecordedFor
from storyhub.models import Language, ServiceSetting, StoryState, TellerKind

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
        422: "The file was refused (not media, damaged, too long...)",
    }
    return {str(s): _json(ERROR, text[s]) for s in statuses}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


def _list(values: list[str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string"}
    if values:
        item["enum"] = values
    return {"type": "array", "items": item}


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document as a dict."""
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
                            "schema": {"type": "integer", "minimum": 0},
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
                        _query("q", {"type": "string", "maxLength": 500}),
                        _query("kind", _list(["maintenance", "process", "change"])),
                        _query("subtheme", _list()),
                        _query("language", _list([x.value for x in Language])),
                        _query("teller", _list([x.value for x in TellerKind])),
                        _query("setting", _list([x.value for x in ServiceSetting])),
                        _query("year", _list()),
                        _query("from", {"type": "string", "format": "date"}),
                        _query("to", {"type": "string", "format": "date"}),
                        _query("story", {"type": "integer"}),
                        _query("page", {"type": "integer", "minimum": 1, "maximum": 100}),
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/SearchPage"}, "A page"),
                        **_errors(400, 401),
                        "503": _json(ERROR, "The search engine is not answering"),
                    },
                }
            },
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
