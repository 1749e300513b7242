"""storyhub: a consented archive of digital stories for health and social care."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

from storyhub.paths import templates_folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Why these headers: the archive holds sensitive stories, so pages load only our own scripts and
# styles, can't be framed by another site, and never leak their address to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
}


# The largest id an integer column holds (PostgreSQL's integer; SQLite's is larger still).
MAX_ID = 2**31 - 1


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie (HttpOnly, SameSite=Lax by config) is also Secure whenever the request
    came over HTTPS, and always when SESSION_COOKIE_SECURE says so.

    Behind a proxy that ends TLS, whether a request came over HTTPS is the server's to say:
    gunicorn (`flask --app storyhub serve`) takes it from X-Forwarded-Proto, but only from the
    proxies it trusts (FORWARDED_ALLOW_IPS: by default this machine). So the app trusts no
    forwarded header itself, and needs no setting for the common case.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings, extensions, blueprints. Nothing else happens here."""
    from storyhub import cli, filters, storage
    from storyhub.config import apply_derived, load_config
    from storyhub.extensions import csrf, db, login_manager, migrate
    from storyhub.jobs import init_app as init_jobs
    from storyhub.uploads import StreamingRequest

    instance_path = os.environ.get("STORYHUB_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(templates_folder()),
    )
    app.request_class = StreamingRequest
    app.session_interface = SessionCookies()
    app.config.from_mapping(load_config(Path(app.instance_path)))
    apply_derived(app.config, test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    storage.init_app(app)
    from storyhub.finder import indexing  # noqa: F401  (its task must exist before the queue)

    init_jobs(app)

    from storyhub import processing, retention  # noqa: F401  (register job handlers and hooks)
    from storyhub.api import bp as api_bp
    from storyhub.auth import bp as auth_bp
    from storyhub.dashboard.routes import bp as dashboard_bp
    from storyhub.finder.routes import bp as search_bp
    from storyhub.main import bp as main_bp
    from storyhub.showcases import pack  # noqa: F401  (its job handler)
    from storyhub.showcases.routes import bp as showcases_bp
    from storyhub.stories import bp as stories_bp
    from storyhub.themes.routes import bp as themes_bp
    from storyhub.training import clip_files, exports  # noqa: F401  (job handlers, hooks)
    from storyhub.training.routes import bp as training_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(stories_bp)
    app.register_blueprint(themes_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(showcases_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    cli.init_app(app)
    filters.init_app(app)

    @app.url_value_preprocessor
    def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        # A larger id names nothing: "not found" here, before it reaches the database, where
        # SQLite overflows and PostgreSQL refuses it (a server error either way).
        if values and any(type(v) is int and v > MAX_ID for v in values.values()):
            abort(404)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        from consent.describe import sharing
        from storyhub.models import Role

        return {"Role": Role, "max_upload_mb": app.config["MAX_UPLOAD_MB"], "sharing_of": sharing}

    from storyhub import instance  # its table, and whether this is a demonstration site

    # Every page of a demonstration site says so (templates/_demo_banner.html). A global, not a
    # context variable, so the room's macro (imported without context) sees it too.
    app.jinja_env.globals["demo_instance"] = instance.is_demo

    return app
