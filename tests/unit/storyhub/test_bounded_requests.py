"""Bounded work for every request: small bodies everywhere but the uploads, refused before they
are read, with a friendly answer; lists a request can ask for are capped with a clear message."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import Role, Story, User
from tests.conftest import csrf_token

SignIn = Callable[[Role], tuple[FlaskClient, User]]
MB = 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of ``size`` bytes made as it is read, counting what the app reads."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.read_bytes)
        buffer[:count] = b"x" * count
        self.read_bytes += count
        return count


def test_a_huge_form_body_is_refused_unread_with_a_friendly_page(
    app: Flask, login_as: SignIn
) -> None:
    client, _ = login_as(Role.CURATOR)
    # A body that says it is 1.5 GB (made only as far as it is read, up to 8 MB).
    body = CountingBody(8 * MB)
    response = client.post(
        "/showcases",
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(1536 * MB)},
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "That was too much to send at once" in page and "up to 1 MB" in page
    assert "Nothing was changed" in page and "<html" in page
    assert body.read_bytes == 0  # refused on its stated size, before any of it was read


def test_a_body_sent_without_its_size_is_cut_off_at_the_limit(app: Flask, login_as: SignIn) -> None:
    client, _ = login_as(Role.CURATOR)
    token = csrf_token(client, "/showcases")
    big = "x" * (2 * MB)
    response = client.post(
        "/showcases",
        data=f"csrf_token={token}&title=A&introduction={big}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "too much to send at once" in response.get_data(as_text=True)


def test_the_api_refuses_a_huge_json_body_in_its_own_shape(app: Flask, login_as: SignIn) -> None:
    _, trainer = login_as(Role.TRAINER)
    token = issue_api_token(trainer, "bounds")
    db.session.commit()
    body = json.dumps({"title": "Loneliness", "summary": "x" * (2 * MB)})
    response = app.test_client().post(
        "/api/v1/sessions",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "up to 1 MB" in error["message"]
    # And the API's document says so, for every operation that takes a body.
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


@pytest.fixture
def tiny_requests(app_config: dict[str, Any]) -> None:
    app_config["MAX_REQUEST_KB"] = 16


def test_uploads_still_take_large_files(
    tiny_requests: None,
    app: Flask,
    login_as: SignIn,
    valid_media: dict[str, Path],
) -> None:
    """Only the upload routes take a body past MAX_REQUEST_KB (here 16 KB), streamed to disk."""
    client, _ = login_as(Role.STORYTELLER)
    media = valid_media["mp4"]
    assert media.stat().st_size > 16 * 1024
    response = client.post(
        "/stories/new",
        data={
            "media": (media.open("rb"), "story.mp4"),
            "title": "Finding the club",
            "language": "en",
            "teller_kind": "service_user",
            "take_part": "y",
            "csrf_token": csrf_token(client, "/stories/new"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Story)) == 1
    # Anywhere else, the same size is refused.
    refused = client.post(
        "/showcases",
        data={"title": "x" * (20 * 1024)},
        content_type="application/x-www-form-urlencoded",
    )
    assert refused.status_code == 413 and "up to 16 KB" in refused.get_data(as_text=True)


# --- lists a request can make long are capped, with a clear message ------------------------------

PASSAGES = ["Nobody asked me what I wanted", "Then a social worker listened to me"]


def test_a_search_takes_a_bounded_number_of_filter_values(app: Flask, login_as: SignIn) -> None:
    client, trainer = login_as(Role.TRAINER)
    years = "&".join(f"year={y}" for y in range(1950, 2011))  # 61 years at once
    page = client.get(f"/search?q=club&{years}")
    assert page.status_code == 400
    assert "Please choose up to 50 of “Year added” at a time." in page.get_data(as_text=True)
    token = issue_api_token(trainer, "bounds")
    db.session.commit()
    api = app.test_client().get(
        f"/api/v1/search?q=club&{years}", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 400 and "up to 50" in api.get_json()["error"]["message"]
    # Fifty is fine.
    fifty = "&".join(f"year={y}" for y in range(1950, 2000))
    assert client.get(f"/search?q=club&{fifty}").status_code == 200


def test_a_showcase_holds_a_bounded_number_of_items(
    app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent.models import Audience
    from storyhub.showcases import services
    from tests.training_factory import clip_story

    monkeypatch.setattr(services, "MAX_ITEMS", 2, raising=False)
    curator, teller = make_user(Role.CURATOR), make_user(Role.STORYTELLER)
    story = clip_story(teller, PASSAGES, audiences={Audience.LEARNING_EVENTS})
    showcase = services.create_showcase(curator, "Council learning day")
    services.add_item(showcase, story)
    services.add_item(showcase, story)
    with pytest.raises(services.ShowcaseError, match="can hold up to 2 items"):
        services.add_item(showcase, story)
    assert len(showcase.items) == 2


def test_clips_and_sessions_per_person_are_bounded(
    app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from storyhub.training import services
    from tests.training_factory import clip_story

    monkeypatch.setattr(services, "MAX_CLIPS_PER_PERSON", 1, raising=False)
    monkeypatch.setattr(services, "MAX_SESSIONS_PER_PERSON", 1, raising=False)
    trainer, teller = make_user(Role.TRAINER), make_user(Role.STORYTELLER)
    story = clip_story(teller, PASSAGES)
    services.create_clip(trainer, story, 0, 2, "First")
    with pytest.raises(services.TrainingError, match="keep up to 1 clips"):
        services.create_clip(trainer, story, 0, 2, "Second")
    services.create_session(trainer, "Loneliness")
    with pytest.raises(services.TrainingError, match="keep up to 1 sessions"):
        services.create_session(trainer, "Another")


def test_the_story_list_says_when_it_shows_only_the_newest(
    app: Flask, login_as: SignIn, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from storyhub.stories import routes
    from tests.search_factory import make_story

    monkeypatch.setattr(routes, "STORY_LIST_LIMIT", 2, raising=False)
    client, curator = login_as(Role.CURATOR)
    for title in ("Oldest", "Middle", "Newest"):
        make_story(curator, PASSAGES, title=title)
    page = client.get("/stories").get_data(as_text=True)
    assert "These are the newest 2 stories" in page
    assert "Newest" in page and "Middle" in page and "Oldest" not in page
