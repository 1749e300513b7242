"""The OpenAPI 3.1 document for API v1, kept beside the routes it describes.

A test compares its paths with the app's URL map, so a route can't be added without a description.
"""

from __future__ import annotations

from typing import Any

from storyhub.models import Language, StoryState, TellerKind

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "The request is malformed",
        401: "No valid token",
        403: "Not allowed for your role",
        404: "Not found, or not available to you",
        413: "The file is larger than the limit",
        422: "The file was refused (not media, damaged, too long...)",
    }
    return {str(s): _json(ERROR, text[s]) for s in statuses}


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
                        "job": {"oneOf": [{"$ref": "#/components/schemas/Job"}, {"type": "null"}]},
                        "links": {"type": "object"},
                    },
                },
                "StoryUpload": {
                    "type": "object",
                    "required": ["media", "title"],
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
                    },
                },
            },
        },
    }
