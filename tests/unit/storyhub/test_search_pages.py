"""The search page, its API twin and the admin page, on the embedded engine (the default).

The engines' behaviour is the contract suite's (tests/integration/test_search_contract.py);
these check what a person and an API client get: pages, links, errors, the rebuild job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from consent.models import Audience
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.finder.indexing import get_backend, index_lag
from storyhub.models import Job, JobState, Role, User
from storyhub.transcripts import edit_passage
from tests.conftest import csrf_token
from tests.search_factory import make_story


@pytest.fixture
def garden(app: Flask, make_user: Callable[..., User]) -> Any:
    teller = make_user(Role.STORYTELLER, "mary")
    return make_story(
        teller,
        ["I love my garden in the spring.", "My neighbour visits on Sundays."],
        title="My garden",
        audiences={Audience.TRAINING},
        themes={0: ["things-to-do"]},
    )


def test_a_trainer_finds_a_passage_and_can_play_it_from_its_start(
    garden: Any, login_as: Callable[..., Any]
) -> None:
    client, _ = login_as(Role.TRAINER)
    page = client.get("/search?q=gardens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "1 passage in 1 story" in html
    assert "<mark>garden</mark>" in html
    passage = garden.passages[0]
    assert f"/stories/{garden.id}?t=0.00#passage-{passage.id}" in html
    assert "Things to do" in html or "things to do" in html.lower()  # its confirmed theme
    assert 'name="kind" value="maintenance"' in html  # the facet, with its count
    assert page.headers["Server-Timing"].startswith("engine;dur=")
    narrowed = client.get("/search?q=garden&kind=maintenance").get_data(as_text=True)
    assert "Showing only: Quality of life." in narrowed
    assert 'value="maintenance" checked' in narrowed
    story_page = client.get(f"/stories/{garden.id}?t=0.00")
    assert story_page.status_code == 200


def test_the_page_shows_words_as_they_are_now(garden: Any, login_as: Callable[..., Any]) -> None:
    edit_passage(garden.passages[1], "My neighbour Alun visits on Sundays.", garden.storyteller)
    db.session.commit()
    client, _ = login_as(Role.TRAINER)
    html = client.get("/search?q=alun").get_data(as_text=True)
    assert "<mark>Alun</mark>" in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("kind=happiness", "There is no outcome called"),
        ("setting=moon", "There is no service setting called"),
        ("page=abc", "whole numbers"),
        ("page=100000", "Pages go from 1"),
        ("from=yesterday", "should look like 2026-03-31"),
        ("from=2026-02-01&to=2026-01-01", "after the"),
        ("year=20x6", "four digits"),
    ],
)
def test_forged_or_odd_values_get_a_plain_answer(
    garden: Any, login_as: Callable[..., Any], query: str, message: str
) -> None:
    client, _ = login_as(Role.TRAINER)
    response = client.get(f"/search?q=garden&{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_search_needs_an_account(client: Any) -> None:
    response = client.get("/search?q=garden")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_api_answers_like_the_page(app: Flask, garden: Any, make_user: Any) -> None:
    trainer = make_user(Role.TRAINER)
    token = issue_api_token(trainer, "test")
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/search?q=garden&kind=maintenance", headers=headers)
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["total_passages"] == 1
    story = data["stories"][0]
    assert story["id"] == garden.id
    passage = story["passages"][0]
    assert passage["start"] == 0.0
    assert [p["text"] for p in passage["snippet"] if p["match"]] == ["garden"]
    assert passage["themes"][0]["key"] == "things-to-do"
    assert data["facets"]["kind"][0] == {
        "value": "maintenance", "label": "Quality of life", "count": 1,
        "selected": True,
    }  # fmt: skip
    bad = client.get("/api/v1/search?teller=robot", headers=headers)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "bad_search"
    assert client.get("/api/v1/search?q=garden").status_code == 401
    member = make_user(Role.MEMBER)
    member_token = issue_api_token(member, "test")
    db.session.commit()
    hidden = client.get(
        "/api/v1/search?q=garden", headers={"Authorization": f"Bearer {member_token}"}
    )
    assert hidden.get_json()["total_passages"] == 0  # shared for training, not learning events


def test_admin_sees_index_health_and_rebuilds_it(garden: Any, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.ADMIN)
    html = client.get("/admin/search").get_data(as_text=True)
    assert "Working" in html
    assert "Passages in the index</th><td>2" in html
    assert index_lag()["waiting"] == 0

    response = client.post(
        "/admin/search/rebuild", data={"csrf_token": csrf_token(client, "/admin/search")}
    )
    assert response.status_code == 302
    job = db.session.query(Job).filter_by(kind="reindex_search").one()
    assert job.state == JobState.DONE  # the test queue runs jobs at once
    assert job.message == "Finished"
    assert get_backend().stats().documents == 2
    assert client.get(f"/jobs/{job.id}").status_code == 200

    trainer, _ = login_as(Role.TRAINER)
    assert trainer.get("/admin/search").status_code in (403, 404)
    assert trainer.get(f"/jobs/{job.id}").status_code == 404
