"""Playback: the story page and media bytes, only through the authorised route, with seeking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from storyhub.models import MediaRole, Role
from storyhub.storage import get_storage
from tests.conftest import login


def test_story_page_plays_the_story_through_the_authorised_route(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "mp4", title="Chapel lunch")
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Chapel lunch" in page
    assert f'src="/stories/{story.id}/media/rendition"' in page
    assert f'poster="/stories/{story.id}/media/thumbnail"' in page
    assert "only you and curators" in page  # who can see it, stated on the page


def test_media_supports_range_requests_so_the_player_can_seek(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "mp4")
    original = story.media_file(MediaRole.ORIGINAL)
    data = get_storage().local_path(original.storage_key).read_bytes()

    full = client.get(f"/stories/{story.id}/media/original")
    assert full.status_code == 200
    assert full.headers["Accept-Ranges"] == "bytes"
    assert full.headers["Content-Type"] == "video/mp4"
    assert full.data == data
    assert "private" in full.headers["Cache-Control"]

    part = client.get(f"/stories/{story.id}/media/original", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part.data == data[100:200]

    tail = client.get(f"/stories/{story.id}/media/original", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == data[-50:]

    beyond = client.get(
        f"/stories/{story.id}/media/original", headers={"Range": f"bytes={len(data) + 10}-"}
    )
    assert beyond.status_code == 416


def test_thumbnail_is_served_as_a_jpeg(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "m4a")
    response = client.get(f"/stories/{story.id}/media/thumbnail")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("role", [Role.STORYTELLER, Role.TRAINER, Role.MEMBER])
def test_other_peoples_stories_look_missing(
    role: Role, login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    """Before release only the teller and curators see a story; others get a plain 404."""
    story = make_story(None, "mp4", title="Private until released")
    client, _ = login_as(role)
    for path in (
        f"/stories/{story.id}",
        f"/stories/{story.id}/media/original",
        f"/stories/{story.id}/media/thumbnail",
        f"/jobs/{story.latest_job.id}",
    ):
        response = client.get(path, headers={"Range": "bytes=0-10"})
        assert response.status_code == 404, path
    assert "Private until released" not in client.get("/stories").get_data(as_text=True)
    assert "Private until released" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ADMIN])
def test_curators_can_see_every_story(
    role: Role, login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    story = make_story(None, "wav", title="Someone else's")
    client, _ = login_as(role)
    assert client.get(f"/stories/{story.id}").status_code == 200
    assert client.get(f"/stories/{story.id}/media/original").status_code == 200
    assert "Someone else" in client.get("/stories").get_data(as_text=True)


def test_media_needs_a_signed_in_user(app: Flask, make_story: Callable[..., Any]) -> None:
    story = make_story(None, "mp4")
    response = app.test_client().get(f"/stories/{story.id}/media/original")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_unknown_media_roles_and_ids_are_not_found(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "mp4")
    assert client.get(f"/stories/{story.id}/media/../../secret_key").status_code == 404
    assert client.get(f"/stories/{story.id}/media/subtitles").status_code == 404
    assert client.get("/stories/99999").status_code == 404
    assert client.get("/stories/99999/media/original").status_code == 404


def test_job_progress_is_reported_as_json(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "mp4")
    body = client.get(f"/jobs/{story.latest_job.id}").get_json()
    assert body["state"] == "done" and body["progress"] == 1.0 and body["finished"] is True
    assert body["story_id"] == story.id


def test_my_stories_lists_only_my_own(
    app: Flask, make_user: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    me = make_user(Role.STORYTELLER)
    make_story(me, "wav", title="Mine to see")
    make_story(None, "wav", title="Not mine")
    client = app.test_client()
    login(client, me.username)
    page = client.get("/stories/mine").get_data(as_text=True)
    assert "Mine to see" in page and "Not mine" not in page
