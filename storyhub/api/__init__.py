"""JSON API v1: bearer-token auth, JSON errors, an OpenAPI document made from the schemas.

Why flask-smorest (marshmallow + apispec): it keeps Flask blueprints and views, so the API stays a
normal part of the app (the same auth, CSRF exemption and error pages), and one marshmallow schema
per resource (storyhub/api/schemas.py) checks the request (``@bp.arguments``), shapes the answer
(``@bp.response``) and is the OpenAPI document, so the three can't drift apart.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.spec.plugins import FlaskPlugin

from storyhub.api.schemas import Error, blankable2properties

PREFIX = "/api/v1"
DESCRIPTION = (
    "Upload and read consented digital stories. Authenticate with "
    "`Authorization: Bearer <token>` (`flask --app storyhub users token NAME`). "
    "Readable documentation: /api/v1/docs."
)

bp = Blueprint(
    "api",
    __name__,
    url_prefix=PREFIX,
    description="Stories, consent, search, outcome counts, clips and training sessions",
)


class _Paths(FlaskPlugin):
    """Paths relative to the document's server (/api/v1), each operation named after its view
    (`api.get_story` is `get_story`) and holding its own path parameters: two views may share a
    path, and a path-level list would keep only the last one's."""

    def path_helper(self, rule: Any, operations: Any, parameters: Any, **kwargs: Any) -> str:
        path: str = super().path_helper(rule, operations, parameters, **kwargs)
        for operation in operations.values():
            operation.setdefault("operationId", rule.endpoint.rsplit(".", 1)[-1])
            if parameters:
                operation["parameters"] = [*parameters, *operation.get("parameters", [])]
        parameters.clear()
        return path.removeprefix(PREFIX)


class StoryhubApi(Api):
    """flask-smorest's Api, answering errors in the API's own shape and only under /api/v1."""

    ERROR_SCHEMA = Error
    # Each operation lists the errors it can answer, so a client (and the fuzzer) can rely on it.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """flask-smorest would answer every HTTP error of the whole site in JSON: the API's
        blueprint has its own handlers (routes.py), the site keeps its pages (main/errors.py)."""


def _spec_options() -> dict[str, Any]:
    return {
        "title": "storyhub API",
        "version": "1",
        # 3.1: nullable fields are "type": [..., "null"], as JSON Schema says them.
        "openapi_version": "3.1.0",
        "flask_plugin": _Paths(),
        "info": {"description": DESCRIPTION},
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
    }


def init_app(app: Flask) -> StoryhubApi:
    """Register the API (its routes, its document and its docs page) on ``app``."""
    from storyhub.api import docs, routes  # noqa: F401  (the routes attach themselves to bp)

    api = StoryhubApi(spec_kwargs=_spec_options())
    # No doc blueprint from flask-smorest: the document is one of the API's own routes and the
    # docs page is ours (docs.py), for the site's Content-Security-Policy.
    app.config.setdefault("OPENAPI_URL_PREFIX", None)
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(blankable2properties)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(bp)
    app.register_blueprint(docs.bp)
    app.extensions["storyhub-api"] = api
    return api


def openapi_document(app: Flask | None = None) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s API; without an app, of a bare app holding only the API
    (it is the same: the document comes from the schemas and routes alone)."""
    if app is None:
        app = Flask(__name__)
        init_app(app)
    document: dict[str, Any] = app.extensions["storyhub-api"].spec.to_dict()
    return document
