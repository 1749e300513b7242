"""The playlist core that sessions and showcases share: one way to order, remove and share, the
same for both kinds; and their forms answer forged values in plain words, keeping what was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.models import Audience
from storyhub.extensions import db
from storyhub.models import Role, User
from storyhub.playlists import core
from storyhub.playlists.core import PlaylistError
from storyhub.showcases import services as showcasing
from storyhub.showcases.models import Showcase
from storyhub.training import services as training
from tests.conftest import csrf_token
from tests.training_factory import clip_story

SignIn = Callable[[Role], tuple[FlaskClient, User]]
PASSAGES = ["Nobody asked me what I wanted", "Then a social worker listened to me"]


def _session_of_four(make_user: Callable[..., User]) -> tuple[Any, Any]:
    trainer = make_user(Role.TRAINER)
    session = training.create_session(trainer, "Loneliness")
    for number in range(4):
        training.add_item(trainer, session, "heading", text=f"Part {number}")
    return session, training


def _showcase_of_four(make_user: Callable[..., User]) -> tuple[Any, Any]:
    teller = make_user(Role.STORYTELLER)
    showcase = showcasing.create_showcase(make_user(Role.CURATOR), "Council day")
    for number in range(4):
        story = clip_story(
            teller, PASSAGES, title=f"Part {number}", audiences={Audience.LEARNING_EVENTS}
        )
        showcasing.add_item(showcase, story)
    return showcase, showcasing


@pytest.mark.parametrize("make", [_session_of_four, _showcase_of_four], ids=["session", "showcase"])
def test_both_kinds_order_and_remove_items_the_same_way(
    app: Flask, make_user: Callable[..., User], make: Callable[..., tuple[Any, Any]]
) -> None:
    playlist, services = make(make_user)
    db.session.flush()
    first, second, third, fourth = playlist.items
    before = playlist.updated_at

    services.move_item(playlist, third, "up")
    assert playlist.items == [first, third, second, fourth]
    services.move_item(playlist, fourth, "top")
    services.move_item(playlist, first, "bottom")
    services.move_item(playlist, fourth, "up")  # already first: stays
    assert playlist.items == [fourth, third, second, first]
    services.remove_item(playlist, third)
    assert playlist.items == [fourth, second, first]
    # Positions stay gapless, so the order survives a reload; the change counts as a change.
    assert [i.position for i in playlist.items] == [0, 1, 2]
    assert playlist.updated_at >= before
    db.session.commit()
    db.session.expire_all()
    assert [i.id for i in playlist.items] == [fourth.id, second.id, first.id]
    # Odd directions and ids are refused in the same plain words, as each kind's own error.
    with pytest.raises(PlaylistError, match="Please choose to move it up or down"):
        services.move_item(playlist, first, "sideways")
    assert services.item_of(playlist, "not a number") is None
    assert services.item_of(playlist, 10**400) is None


def test_sharing_names_exactly_the_chosen_people(
    app: Flask, make_user: Callable[..., User]
) -> None:
    session, _ = _session_of_four(make_user)
    trainers = [make_user(Role.TRAINER) for _ in range(3)]
    training.set_shares(session.owner, session, [trainers[0].id, trainers[1].id])
    training.set_shares(session.owner, session, [str(trainers[1].id), trainers[2].id])
    db.session.flush()
    assert sorted(s.user_id for s in session.shares) == sorted([trainers[1].id, trainers[2].id])
    assert core.is_shared_with(trainers[2], session.shares)
    assert not core.is_shared_with(trainers[0], session.shares)
    # Someone who isn't a candidate (a storyteller), or no number at all: nothing changes.
    for forged in ([make_user(Role.STORYTELLER).id], ["x"], [float("inf")]):
        with pytest.raises(training.TrainingError, match="Please choose people from the list"):
            training.set_shares(session.owner, session, forged)
    assert sorted(s.user_id for s in session.shares) == sorted([trainers[1].id, trainers[2].id])


def test_a_showcase_form_with_a_date_that_is_not_one_is_shown_again(
    login_as: SignIn,
) -> None:
    client, _ = login_as(Role.CURATOR)
    token = csrf_token(client, "/showcases")
    typed = {"csrf_token": token, "title": "Council day", "event_place": "Town hall"}
    page = client.post("/showcases", data={**typed, "event_date": "next Tuesday"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Please give dates as the calendar offers them." in html
    # What was typed is kept; the date that isn't one is not repeated.
    assert 'value="Council day"' in html and 'value="Town hall"' in html
    assert "next Tuesday" not in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Showcase)) == 0
    # Date boxes left empty, as a browser sends them, are simply not given.
    empty = {"event_date": "", "opens_at": "", "closes_at": ""}
    made = client.post("/showcases", data={**typed, **empty})
    assert made.status_code == 302
    showcase = db.session.scalars(db.select(Showcase)).one()
    assert showcase.event_date is None and showcase.opens_at is None


def test_forged_ids_in_the_builders_forms_get_plain_answers(
    login_as: SignIn, make_user: Callable[..., User]
) -> None:
    client, curator = login_as(Role.CURATOR)
    showcase = showcasing.create_showcase(curator, "Council day")
    db.session.commit()
    token = csrf_token(client, "/showcases")
    for forged in ({"story": "x"}, {"story": str(10**30)}, {"clip": "-1"}, {"story": ""}):
        answer = client.post(
            f"/showcases/{showcase.id}/items",
            data={"csrf_token": token, **forged},
            follow_redirects=True,
        )
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, forged
        assert (
            "Please choose a story from the list." in html
            or "Please choose one of your clips." in html
        )
    db.session.expire_all()
    assert showcase.items == []
