"""storyhub: a consented archive of digital stories for health and social care."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

from storyhub.paths import instance_folder, templates_folder

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
    """Build the Flask app: its settings, its extensions, then each feature, in order.

    Each feature's ``init_app`` registers everything it owns (blueprint, job handlers, tasks,
    consent hooks, listeners): read them to see what the app does. Nothing is registered by
    importing a module.
    """
    from storyhub import (
        agreement,
        api,
        auth,
        cli,
        consent_binding,
        dashboard,
        extensions,
        filters,
        finder,
        i18n,
        instance,
        jobs,
        main,
        processing,
        qda,
        registry,
        retention,
        showcases,
        storage,
        stories,
        themes,
        training,
    )
    from storyhub.config import apply_derived, load_config
    from storyhub.uploads import StreamingRequest

    instance_path = os.environ.get("STORYHUB_INSTANCE_PATH") or str(instance_folder())
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(templates_folder()),
    )
    app.request_class = StreamingRequest
    app.session_interface = SessionCookies()
    app.config.from_mapping(load_config(Path(app.instance_path)))
    apply_derived(app.config, test_config)

    # The foundations every feature stands on.
    extensions.init_app(app)  # database, migrations, CSRF, sign-in
    i18n.init_app(app)  # Welsh and English: each request's language, the catalogues
    storage.init_app(app)
    registry.init_app(app)  # where the features below register their jobs and hooks
    jobs.init_app(app)  # the queue; it finds handlers in the registry when a job runs
    consent_binding.init_app(app)  # consent's means, and the upkeep of copies

    # The features, each registering what it owns.
    main.init_app(app)
    auth.init_app(app)
    stories.init_app(app)  # upload, consent, people, transcripts
    processing.init_app(app)  # preparing a story: the worker's jobs
    retention.init_app(app)  # what withdrawal and erasure delete
    themes.init_app(app)
    qda.init_app(app)  # the coding out to research tools (REFI-QDA, CSV), codebooks in
    finder.init_app(app)  # search, and the index kept in step
    training.init_app(app)  # clips and lessons
    showcases.init_app(app)
    agreement.init_app(app)  # blind double coding and agreement figures
    dashboard.init_app(app)
    api.init_app(app)
    instance.init_app(app)  # whether this is a demonstration site
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

    return app
