"""The consent pages: the release wizard with its summary, sharing visible where the story plays,
withdrawal as easy as consent, renewals, erasure, "where used", and forged requests refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.models import Audience, ConsentStatus, ConsentVersion, StoryUse
from consent.services import Choices, release
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import Role
from tests.conftest import csrf_token, login

WIZARD = {
    "watched": "y",
    "audiences": ["training", "learning_events"],
    "clips_allowed": "yes",
    "naming": "first",
    "review_months": "12",
    "recorded_for": "self",
    "others-0-name": "Gwen",
    # Gwen agreed: these tests are about audiences; someone who hasn't agreed holds a story back
    # (the first test, and tests/unit/consent/test_people.py).
    "others-0-agreed": "yes",
}


def versions(story: Any) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ConsentVersion)
            .where(ConsentVersion.story_id == story.id)
        )
        or 0
    )


def submit_wizard(client: FlaskClient, story: Any, **changes: Any) -> Any:
    data: dict[str, Any] = {**WIZARD, **changes}
    data["csrf_token"] = csrf_token(client, f"/stories/{story.id}/consent")
    return client.post(f"/stories/{story.id}/consent", data=data)


@pytest.fixture
def teller_story(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> tuple[FlaskClient, Any, Any]:
    client, teller = login_as(Role.STORYTELLER)
    return client, teller, make_story(teller, "mp4", title="The day centre")


def test_the_wizard_shows_a_summary_before_anything_changes(
    app: Flask, teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    page = client.get(f"/stories/{story.id}/consent").get_data(as_text=True)
    assert "Who may see your story?" in page and "data-wizard" in page
    for audience in Audience:
        assert f'value="{audience.value}"' in page

    summary = submit_wizard(client, story, **{"others-0-agreed": "no"})
    assert summary.status_code == 200
    text = summary.get_data(as_text=True)
    assert "Check your answers" in text and "Training, Learning events" in text
    assert "Gwen (name will be removed)" in text
    assert versions(story) == 1  # nothing saved yet

    confirmed = submit_wizard(client, story, confirm="1", **{"others-0-agreed": "no"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    consent = story.consent
    assert consent.version == 2 and consent.released
    assert consent.audiences == {Audience.TRAINING, Audience.LEARNING_EVENTS}
    assert consent.clips_allowed and consent.third_parties == [{"name": "Gwen", "agreed": False}]

    # Gwen hasn't agreed: the wizard promised she is removed before anyone else sees the story,
    # so a trainer and a member can't find it yet (this is what once leaked).
    audience = [login_as(role)[0] for role in (Role.TRAINER, Role.MEMBER)]
    for viewer in audience:
        assert viewer.get(f"/stories/{story.id}").status_code == 404
        assert viewer.get(f"/stories/{story.id}/media/rendition").status_code == 404
        assert "The day centre" not in viewer.get("/stories").get_data(as_text=True)
    assert "Held back" in client.get(f"/stories/{story.id}").get_data(as_text=True)

    # The teller records later that Gwen agreed: a new version, and the story is shared.
    agreed = client.post(
        f"/stories/{story.id}/people/0/agreed",
        data={"csrf_token": csrf_token(client, f"/stories/{story.id}/people")},
    )
    assert agreed.status_code == 302
    db.session.expire_all()
    assert story.consent.version == 3
    assert story.consent.third_parties == [{"name": "Gwen", "agreed": True}]

    # Now a trainer and a member find it, and see who it is shared with, where it plays.
    for role in (Role.TRAINER, Role.MEMBER):
        viewer, _ = login_as(role)
        page = viewer.get(f"/stories/{story.id}").get_data(as_text=True)
        assert "Shared for: training, learning events · until" in page
        assert viewer.get(f"/stories/{story.id}/media/rendition").status_code == 200
        # The original still holds any name a curator removed: the teller and staff only.
        assert viewer.get(f"/stories/{story.id}/media/original").status_code == 404
        assert "The day centre" in viewer.get("/stories").get_data(as_text=True)
        assert "Stop sharing" not in page  # only the teller and staff manage consent


def test_the_release_needs_the_watched_box(teller_story: tuple[FlaskClient, Any, Any]) -> None:
    client, _teller, story = teller_story
    response = submit_wizard(client, story, watched="", confirm="1")
    assert response.status_code == 400
    assert "Please watch your finished story" in response.get_data(as_text=True)
    assert versions(story) == 1


def test_a_trainer_sees_only_training_and_a_member_only_learning_events(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, audiences=["training"], confirm="1")
    trainer, _ = login_as(Role.TRAINER)
    member, _ = login_as(Role.MEMBER)
    assert trainer.get(f"/stories/{story.id}").status_code == 200
    assert member.get(f"/stories/{story.id}").status_code == 404
    assert member.get(f"/stories/{story.id}/media/original").status_code == 404


@pytest.mark.parametrize("forged", [["training", "everyone"], ["; DROP TABLE stories"]])
def test_a_forged_audience_value_is_refused_and_changes_nothing(
    forged: list[str], teller_story: tuple[FlaskClient, Any, Any]
) -> None:
    client, _teller, story = teller_story
    response = submit_wizard(client, story, audiences=forged, confirm="1")
    assert response.status_code == 400
    assert versions(story) == 1


def test_another_tellers_story_cannot_be_released_or_withdrawn(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    _client, _teller, story = teller_story
    other, _ = login_as(Role.STORYTELLER)
    token = csrf_token(other, "/")
    for path in ("consent", "withdraw", "erase", "renew"):
        response = other.post(f"/stories/{story.id}/{path}", data={**WIZARD, "csrf_token": token,
                                                                    "confirm": "1"})  # fmt: skip
        assert response.status_code == 404, path
        assert other.get(f"/stories/{story.id}/{path}").status_code in (404, 405), path
    assert versions(story) == 1


@pytest.mark.parametrize("role", [Role.TRAINER, Role.MEMBER])
def test_a_curator_action_by_a_trainer_or_member_is_refused(
    role: Role, teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, confirm="1")
    viewer, _ = login_as(role)  # may watch it, but not manage it
    assert viewer.get(f"/stories/{story.id}").status_code == 200
    token = csrf_token(viewer, "/")
    for path in ("withdraw", "erase", "consent", "renew"):
        data = {"csrf_token": token, "reason": "forged", "understood": "y", "months": "12"}
        assert viewer.post(f"/stories/{story.id}/{path}", data=data).status_code == 404, path
    assert viewer.get("/consent/reviews").status_code == 403
    assert versions(story) == 2


def test_consent_forms_need_their_csrf_token(teller_story: tuple[FlaskClient, Any, Any]) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, confirm="1")
    for path in ("consent", "withdraw", "erase", "renew"):
        response = client.post(f"/stories/{story.id}/{path}", data={**WIZARD, "confirm": "1"})
        assert response.status_code == 400, path
    assert versions(story) == 2


def test_withdrawal_is_one_clear_action_and_takes_effect_at_once(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, confirm="1")
    trainer, _ = login_as(Role.TRAINER)
    assert trainer.get(f"/stories/{story.id}").status_code == 200

    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Stop sharing my story" in page
    confirm_page = client.get(f"/stories/{story.id}/withdraw").get_data(as_text=True)
    assert "can&#39;t be called back" in confirm_page or "can't be called back" in confirm_page
    response = client.post(
        f"/stories/{story.id}/withdraw", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302
    for path in (f"/stories/{story.id}", f"/stories/{story.id}/media/original", "/stories"):
        response = trainer.get(path)
        assert response.status_code == 404 or "The day centre" not in response.get_data(
            as_text=True
        ), path
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Withdrawn by the storyteller" in page and "Choose who may see it" in page


def test_a_curator_withdraws_for_the_teller_with_a_reason(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, confirm="1")
    curator, _ = login_as(Role.CURATOR)
    token = csrf_token(curator, "/")
    response = curator.post(f"/stories/{story.id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Please say why" in response.get_data(as_text=True)
    response = curator.post(
        f"/stories/{story.id}/withdraw", data={"csrf_token": token, "reason": "Phoned us"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert story.consent.status == ConsentStatus.WITHDRAWN and story.consent.reason == "Phoned us"


def test_renew_and_change_from_the_story_page(
    teller_story: tuple[FlaskClient, Any, Any],
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, review_months="6", confirm="1")
    response = client.post(
        f"/stories/{story.id}/renew", data={"months": "12", "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert story.consent.action.value == "renew"
    # Changing starts from the current choices.
    page = client.get(f"/stories/{story.id}/consent").get_data(as_text=True)
    assert re.search(r'value="training"[^>]*checked|checked[^>]*value="training"', page)
    response = submit_wizard(client, story, audiences=["statistics"], confirm="1")
    assert response.status_code == 302
    db.session.expire_all()
    assert story.consent.audiences == {Audience.STATISTICS} and story.consent.version == 4


@pytest.fixture
def review_24(app_config: dict[str, Any]) -> None:
    app_config["CONSENT_REVIEW_MONTHS"] = 24


def test_the_offered_review_period_is_configurable(
    review_24: None, teller_story: tuple[FlaskClient, Any, Any]
) -> None:
    client, _teller, story = teller_story
    page = client.get(f"/stories/{story.id}/consent").get_data(as_text=True)
    assert re.search(r'value="24"[^>]*checked|checked[^>]*value="24"', page)


def test_erasure_needs_a_confirmation_and_removes_the_story_from_every_page(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    token = csrf_token(client, "/")
    response = client.post(f"/stories/{story.id}/erase", data={"csrf_token": token})
    assert response.status_code == 400 and versions(story) == 1
    response = client.post(
        f"/stories/{story.id}/erase", data={"csrf_token": token, "understood": "y"}
    )
    assert response.status_code == 302
    assert client.get(f"/stories/{story.id}").status_code == 404
    assert "The day centre" not in client.get("/stories/mine").get_data(as_text=True)
    curator, _ = login_as(Role.CURATOR)
    assert curator.get(f"/stories/{story.id}").status_code == 404


def test_where_my_story_has_been_used_counts_views_by_audience(
    teller_story: tuple[FlaskClient, Any, Any], login_as: Callable[..., Any]
) -> None:
    client, _teller, story = teller_story
    submit_wizard(client, story, confirm="1")
    trainer, _ = login_as(Role.TRAINER)
    member, _ = login_as(Role.MEMBER)
    # A view is counted when the player really starts (the page POSTs it); opening the page
    # records nothing, so a link on another site can't forge one.
    for viewer in (trainer, member, client):
        assert viewer.get(f"/stories/{story.id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(StoryUse)) == 0
    played = f"/stories/{story.id}/played"
    for _ in range(3):
        trainer.post(played, data={"csrf_token": csrf_token(trainer, "/")})
    member.post(played, data={"csrf_token": csrf_token(member, "/")})
    client.post(played, data={"csrf_token": csrf_token(client, "/")})  # the teller's: not counted
    counts = dict(
        db.session.execute(
            select(StoryUse.audience, func.count()).group_by(StoryUse.audience)
        ).all()
    )
    assert counts == {"training": 3, "learning_event": 1}
    page = client.get(f"/stories/{story.id}/used").get_data(as_text=True)
    assert re.search(r"Training</td><td>3<", page) and re.search(
        r"Learning events</td><td>1<", page
    )
    assert "Shared" in page and "Agreed to take part" in page
    assert trainer.get(f"/stories/{story.id}/used").status_code == 404


# Month ends, a leap day, and the day a fixed 30-day window first failed (31 days to 7 January).
# Each day makes two stories (about 5 s): the fast lane keeps the leap day, make test runs all.
@pytest.mark.parametrize(
    "on",
    [
        pytest.param(date(2026, 1, 31), marks=pytest.mark.slow),
        pytest.param(date(2026, 2, 28), marks=pytest.mark.slow),
        date(2028, 2, 29),
        pytest.param(date(2026, 7, 31), marks=pytest.mark.slow),
        pytest.param(date(2026, 12, 7), marks=pytest.mark.slow),
        pytest.param(date(2026, 12, 31), marks=pytest.mark.slow),
    ],
    ids=str,
)
def test_curators_see_reviews_due(
    on: date,
    login_as: Callable[..., Any],
    make_story: Callable[..., Any],
    make_user: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The one clock every consent rule reads (consent.policy.today()), moved to ``on``.
    monkeypatch.setattr("consent.policy.utcnow", lambda: datetime.combine(on, time(12), tzinfo=UTC))
    teller = make_user(Role.STORYTELLER)
    soon = make_story(teller, "wav", title="Due soon")
    later = make_story(teller, "wav", title="Due later")
    release(soon, teller, Choices(audiences={Audience.TRAINING}, review_months=1), watched=True)
    release(later, teller, Choices(audiences={Audience.TRAINING}, review_months=2), watched=True)
    db.session.commit()
    curator, _ = login_as(Role.CURATOR)
    page = curator.get("/consent/reviews").get_data(as_text=True)
    # A one-month release is due within the next month on every day of the year; two is not yet.
    assert "Due soon" in page, soon.consent.review_date
    assert "Due later" not in page, later.consent.review_date


def test_consent_api_release_change_renew_withdraw(
    app: Flask, make_user: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = make_story(teller, "wav")
    token = issue_api_token(teller)
    db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/stories/{story.id}/consent"

    response = api.post(url, json={"audiences": ["training"]}, headers=headers)
    assert response.status_code == 409  # not watched
    response = api.post(url, json={"audiences": ["everyone"], "watched": True}, headers=headers)
    assert response.status_code == 400 and "everyone" in response.get_json()["error"]["message"]
    response = api.post(
        url, json={"audiences": ["training"], "watched": True, "review_months": 12}, headers=headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["current"]["audiences"] == ["training"] and body["current"]["released"]
    assert body["sharing"].startswith("Shared for: training")

    response = api.post(url, json={"audiences": ["training", "statistics"]}, headers=headers)
    assert response.get_json()["current"]["action"] == "change"
    assert api.post(f"{url}/renew", json={"months": 24}, headers=headers).status_code == 200
    assert api.post(f"{url}/withdraw", json={}, headers=headers).status_code == 200
    assert api.post(f"{url}/withdraw", json={}, headers=headers).status_code == 409
    history = api.get(url, headers=headers).get_json()["history"]
    assert [v["action"] for v in history] == ["take_part", "release", "change", "renew", "withdraw"]

    stranger = make_user(Role.STORYTELLER)
    trainer = make_user(Role.TRAINER)
    for user, status in ((stranger, 404), (trainer, 404)):
        other = {"Authorization": f"Bearer {issue_api_token(user)}"}
        db.session.commit()
        assert api.get(url, headers=other).status_code == status
        assert api.post(f"{url}/withdraw", json={}, headers=other).status_code == status
    assert api.post(url, data="not json", headers=headers).status_code == 400


@pytest.mark.parametrize(
    "naming,shown,hidden",
    [
        ("full", "Mary Jones", None),
        ("first", "told by Mary", "Jones"),
        ("anonymous", "anonymous", "Mary"),
    ],
)
def test_the_teller_is_named_as_they_chose(
    naming: str,
    shown: str,
    hidden: str | None,
    app: Flask,
    make_user: Callable[..., Any],
    make_story: Callable[..., Any],
    login_as: Callable[..., Any],
) -> None:
    teller = make_user(Role.STORYTELLER, display_name="Mary Jones")
    story = make_story(teller, "wav")
    client = app.test_client()
    login(client, teller.username)
    submit_wizard(client, story, naming=naming, confirm="1")
    trainer, _ = login_as(Role.TRAINER)
    page = trainer.get(f"/stories/{story.id}").get_data(as_text=True)
    assert shown in page
    if hidden:
        assert hidden not in page
    curator, _ = login_as(Role.CURATOR)
    assert "Mary Jones" in curator.get(f"/stories/{story.id}").get_data(as_text=True)


def test_the_story_list_takes_the_same_few_queries_however_long_it_is(
    app: Flask, login_as: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    """Each card shows its picture and its sharing: read for the whole list at once, not per card
    (500 cards made 1,000 queries, 4 s under load)."""
    from sqlalchemy import event

    from tests.search_factory import make_story

    client, _ = login_as(Role.CURATOR)
    teller = make_user(Role.STORYTELLER)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def queries_for_the_list() -> int:
        statements.clear()
        assert client.get("/stories").status_code == 200
        return len(statements)

    for n in range(3):
        make_story(teller, [f"Story {n}"], title=f"Story {n}", audiences={Audience.TRAINING})
    few = queries_for_the_list()
    for n in range(3, 20):
        make_story(teller, [f"Story {n}"], title=f"Story {n}")
    assert queries_for_the_list() == few
