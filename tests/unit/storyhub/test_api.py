"""JSON API v1: token auth, JSON errors, uploads, and an OpenAPI document that matches the app."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import Role, User
from tests import media_factory


@pytest.fixture
def api(
    app: Flask, make_user: Callable[..., User]
) -> Callable[..., tuple[FlaskClient, User, dict[str, str]]]:
    """A client, a user of ``role`` and the headers carrying their API token."""

    def make(role: Role = Role.STORYTELLER) -> tuple[FlaskClient, User, dict[str, str]]:
        user = make_user(role)
        token = issue_api_token(user, "test")
        db.session.commit()
        return app.test_client(), user, {"Authorization": f"Bearer {token}"}

    return make


def test_openapi_document_is_public_and_describes_every_api_route(app: Flask) -> None:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api_docs."):
            continue  # (the readable docs page and its files are not API operations)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        routed |= {(path, m) for m in rule.methods or () if m not in {"HEAD", "OPTIONS"}}
    assert routed == documented


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer "])
def test_api_needs_a_valid_token(app: Flask, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/stories", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorised"


def test_a_session_cookie_is_not_enough_for_the_api(login_as: Callable[..., Any]) -> None:
    """Only tokens authenticate the API, so no other site can use a signed-in browser."""
    client, _ = login_as(Role.CURATOR)
    assert client.get("/api/v1/stories").status_code == 401


def test_a_revoked_token_stops_working(api: Callable[..., Any]) -> None:
    from storyhub.models import ApiToken, utcnow

    client, user, headers = api(Role.TRAINER)
    assert client.get("/api/v1/stories", headers=headers).status_code == 200
    token = db.session.query(ApiToken).filter_by(user_id=user.id).one()
    token.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/stories", headers=headers).status_code == 401


def test_upload_list_get_and_job_progress(
    api: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, _user, headers = api(Role.STORYTELLER)
    response = client.post(
        "/api/v1/stories",
        headers=headers,
        data={
            "media": (valid_media["mp3"].open("rb"), "voice.mp3"),
            "title": "By the API",
            "language": "cy",
            "teller_kind": "carer",
            "take_part": "true",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    story = response.get_json()
    assert story["title"] == "By the API" and story["language"] == "cy"
    assert story["kind"] == "audio" and story["state"] == "ready"
    assert response.headers["Location"].endswith(f"/api/v1/stories/{story['id']}")

    listed = client.get("/api/v1/stories", headers=headers).get_json()
    assert [s["id"] for s in listed["stories"]] == [story["id"]]
    got = client.get(f"/api/v1/stories/{story['id']}", headers=headers).get_json()
    assert got["id"] == story["id"] and got["job"]["state"] == "done"
    job = client.get(f"/api/v1/jobs/{got['job']['id']}", headers=headers).get_json()
    assert job["progress"] == 1.0 and job["finished"] is True


def test_api_upload_refuses_bad_media_with_a_reason(
    api: Callable[..., Any], tmp_path: Path
) -> None:
    client, _, headers = api(Role.STORYTELLER)
    bad = media_factory.make_text_as_mp4(tmp_path)
    response = client.post(
        "/api/v1/stories",
        headers=headers,
        data={"media": (bad.open("rb"), "notes.mp4"), "title": "t", "take_part": "yes"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "not_media" and "video or a sound recording" in error["message"]


def test_api_upload_explains_missing_fields(api: Callable[..., Any]) -> None:
    client, _, headers = api(Role.STORYTELLER)
    response = client.post(
        "/api/v1/stories", headers=headers, data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert {"media", "title", "take_part"} <= set(error["fields"])


@pytest.mark.parametrize("role", [Role.TRAINER, Role.MEMBER])
def test_api_upload_is_refused_for_roles_that_do_not_upload(
    role: Role, api: Callable[..., Any], valid_media: dict[str, Path]
) -> None:
    client, _, headers = api(role)
    response = client.post(
        "/api/v1/stories",
        headers=headers,
        data={"media": (valid_media["wav"].open("rb"), "a.wav"), "title": "t"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_other_peoples_stories_and_jobs_are_not_found(
    api: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    story = make_story(None, "wav")
    client, _, headers = api(Role.STORYTELLER)
    assert client.get(f"/api/v1/stories/{story.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{story.latest_job.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/stories", headers=headers).get_json()["stories"] == []
    staff_client, _, staff_headers = api(Role.CURATOR)
    assert staff_client.get(f"/api/v1/stories/{story.id}", headers=staff_headers).status_code == 200


@pytest.mark.parametrize("query", ["limit=abc", "offset=-x"])
def test_bad_paging_values_get_a_json_error(api: Callable[..., Any], query: str) -> None:
    client, _, headers = api(Role.CURATOR)
    response = client.get(f"/api/v1/stories?{query}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_unknown_api_paths_answer_in_json(api: Callable[..., Any]) -> None:
    client, _, headers = api(Role.CURATOR)
    response = client.get("/api/v1/nothing-here", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/stories", headers=headers)
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_the_api_docs_page_and_its_files_are_served_by_the_site_under_its_own_csp(
    app: Flask,
) -> None:
    """Readable docs at /api/v1/docs without a token or a CDN: every script and style the page
    names is one of ours and loads, and no script is inline (the site's CSP forbids it)."""
    from storyhub import SECURITY_HEADERS

    client = app.test_client()
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    assets = re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', html)
    assert {Path(a).name for a in assets} == {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "api-docs.js",
    }
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.mimetype == ("text/css" if asset.endswith(".css") else "text/javascript")
        assert len(answer.get_data()) > 100, asset
    # The start-up script reads the document from the page, which names the served one.
    document = re.search(r'data-document="([^"]+)"', html)
    assert document and client.get(document.group(1)).get_json()["openapi"].startswith("3.1")
    assert client.get("/api/v1/docs/swagger-ui/../../../pyproject.toml").status_code == 404
