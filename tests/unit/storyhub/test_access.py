"""Every form needs its CSRF token; every response carries the security headers; the public
pages answer. Who may open which route (visitors who have not signed in included) is declared
and checked route by route in test_authorisation.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from storyhub.models import Role


def _concrete(rule_path: str) -> str:
    """A URL for a rule, with 1 for ids and a plausible word for other parts."""
    path = re.sub(r"<int:[^>]+>", "1", rule_path)
    path = re.sub(r"<path:[^>]+>", "css/storyhub.css", path)
    return re.sub(r"<[^>]+>", "original", path)


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, _concrete(rule.rule)))
    return routes


def test_public_routes_answer_without_signing_in(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/login", "/healthz", "/api/v1/openapi.json", "/static/css/storyhub.css",
                 "/event"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert client.get("/join/not-a-real-token").status_code == 404


def test_every_form_post_needs_its_csrf_token(app: Flask, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.ADMIN)
    posts = [
        path
        for endpoint, method, path in _routes(app)
        if method == "POST" and not path.startswith("/api/")
    ]
    assert {"/login", "/logout", "/stories/new", "/invitations/new", "/join/original"} <= set(posts)
    for path in posts:
        for token in (None, "forged-token"):
            data = {"csrf_token": token} if token else {}
            response = client.post(path, data=data)
            assert response.status_code == 400, (path, token)
            assert "Please try that again" in response.get_data(as_text=True)
    # Still signed in: the refused sign-out changed nothing.
    assert client.get("/stories").status_code == 200


def test_csrf_protection_is_on_by_default(app: Flask) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


def test_security_headers_and_cookie_flags(app: Flask, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.CURATOR)
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = client.get_cookie("session", domain="storyhub.test")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


@pytest.fixture
def secure_cookies(app_config: dict[str, Any]) -> None:
    app_config["SESSION_COOKIE_SECURE"] = True


def test_cookies_are_secure_when_configured_for_https(
    secure_cookies: None, app: Flask, make_user: Callable[..., Any]
) -> None:
    from tests.conftest import csrf_token

    user = make_user(Role.CURATOR)
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": user.username, "password": "correct horse battery", "csrf_token": token},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_errors_are_friendly_pages_never_bare(app: Flask, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.STORYTELLER)
    for path, status in (("/no/such/page", 404), ("/invitations", 403)):
        response = client.get(path)
        assert response.status_code == status
        page = response.get_data(as_text=True)
        assert '<main id="main"' in page and "Go to the home page" in page
