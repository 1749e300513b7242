"""Safe defaults in `setup`: accounts with the published demo password are made only on an
instance that asked to be a demo (`setup --demo`, STORYHUB_DEMO=1, `make run`), never on an
archive with real stories; and a demo says so on every page, a real archive on none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from storyhub.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, accounts_with_public_password
from storyhub.extensions import db
from storyhub.instance import is_demo
from storyhub.models import Role, User
from storyhub.training import services as training
from tests.conftest import login

BANNER = "This is a demonstration site:</strong> the accounts and passwords are public"
DEMO_USERNAMES = [username for username, _name, _role in DEMO_ACCOUNTS]


@pytest.fixture(autouse=True)
def no_demo_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORYHUB_DEMO", raising=False)


@pytest.fixture
def no_demo_stories(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's accounts without its spoken stories (test_demo.py makes those, slowly)."""
    monkeypatch.setattr("storyhub.demo.DEMO_STORIES", [])


def demo_accounts() -> list[str]:
    return list(db.session.scalars(select(User.username).where(User.username.in_(DEMO_USERNAMES))))


@pytest.mark.parametrize("archive", ["empty", "with a real story"])
def test_setup_makes_no_account_with_the_published_password(
    archive: str,
    runner: FlaskCliRunner,
    make_story: Callable[..., Any],
    no_demo_stories: None,
) -> None:
    if archive == "with a real story":
        make_story(title="My first year at the day centre")
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert demo_accounts() == [] and accounts_with_public_password() == []
    assert DEMO_PASSWORD not in result.output
    assert not is_demo()


@pytest.mark.parametrize(
    ("args", "env"),
    [(["setup", "--demo"], {}), (["setup"], {"STORYHUB_DEMO": "1"}), (["demo"], {})],
    ids=["setup --demo", "STORYHUB_DEMO=1", "demo"],
)
def test_an_archive_with_real_stories_is_never_made_a_demo(
    args: list[str],
    env: dict[str, str],
    app: Flask,
    runner: FlaskCliRunner,
    make_story: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:
    make_story(title="My first year at the day centre")
    result = runner.invoke(args=args, env=env)
    assert result.exit_code != 0
    assert "already holds real stories" in result.output
    assert demo_accounts() == [] and not is_demo()
    # And its pages carry no demo banner.
    client = app.test_client()
    assert BANNER not in client.get("/login").get_data(as_text=True)


def test_a_demo_says_so_on_every_page_and_a_real_archive_on_none(
    app: Flask, runner: FlaskCliRunner, no_demo_stories: None, make_user: Callable[..., Any]
) -> None:
    trainer = make_user(Role.TRAINER)
    session = training.create_session(trainer, "Listening well")
    db.session.commit()
    pages = ["/", "/stories", "/search", "/no-such-page", f"/training/sessions/{session.id}/play"]

    def seen() -> dict[str, bool]:
        client = app.test_client()
        assert login(client, trainer.username).status_code == 302
        anonymous = app.test_client().get("/login").get_data(as_text=True)
        shown = {"/login (signed out)": BANNER in anonymous}
        for page in pages:
            shown[page] = BANNER in client.get(page).get_data(as_text=True)
        return shown

    assert not any(seen().values()), seen()

    result = runner.invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output
    assert is_demo() and sorted(demo_accounts()) == sorted(DEMO_USERNAMES)
    assert accounts_with_public_password() == sorted(DEMO_USERNAMES)
    shown = seen()
    assert all(shown.values()), shown
    # Setting up again (every `make run` does) keeps it a demo and adds nothing twice.
    again = runner.invoke(args=["setup", "--demo"])
    assert again.exit_code == 0, again.output
    assert sorted(demo_accounts()) == sorted(DEMO_USERNAMES)


def test_setup_names_accounts_left_with_the_published_password(
    runner: FlaskCliRunner, make_user: Callable[..., Any]
) -> None:
    # As an instance set up before demos had to be asked for would have them.
    make_user(Role.ADMIN, "admin", password=DEMO_PASSWORD)
    make_user(Role.CURATOR, "curator", password="a password of their own")
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "still have the public demo password: admin." in result.output
