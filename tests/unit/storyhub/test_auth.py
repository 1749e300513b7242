"""Accounts: sign-in, throttling, invitations by one-time link, roles, and the CLI."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update

from storyhub.auth.services import SignInLocked, authenticate, user_for_api_token
from storyhub.auth.throttle import SignInThrottle
from storyhub.extensions import db
from storyhub.models import ApiToken, Invitation, Role, User, utcnow
from tests.conftest import PASSWORD, csrf_token, login


def test_passwords_are_stored_as_argon2id_hashes(make_user: Callable[..., User]) -> None:
    user = make_user(Role.TRAINER)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_and_out(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.CURATOR, display_name="Sian")
    client = app.test_client()
    response = login(client, user.username)
    assert response.status_code == 302
    assert "Hello, Sian" in client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/stories").status_code == 302  # back to the sign-in page


def test_usernames_are_not_case_sensitive(app: Flask, make_user: Callable[..., User]) -> None:
    make_user(Role.TRAINER, username="tom")
    assert login(app.test_client(), "  TOM ").status_code == 302


def test_wrong_password_gets_a_plain_message(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.TRAINER)
    response = login(app.test_client(), user.username, "wrong password")
    assert response.status_code == 400
    assert "don&#39;t match" in response.get_data(as_text=True)


def test_repeated_failures_make_that_address_wait_a_while(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.TRAINER)
    client = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, user.username, "guess").status_code == 400
    # Now even the right password is refused from here, with a reason and a wait time.
    response = login(client, user.username, PASSWORD)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and "15 minutes" in page
    # Once the wait has passed, the right password works again.
    db.session.execute(update(SignInThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert login(client, user.username, PASSWORD).status_code == 302


def test_unknown_usernames_are_refused_like_wrong_passwords(app: Flask) -> None:
    assert authenticate("nobody", "whatever") is None
    response = login(app.test_client(), "nobody", "whatever")
    assert response.status_code == 400
    assert "don&#39;t match" in response.get_data(as_text=True)


def test_deactivated_accounts_cannot_sign_in(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.TRAINER)
    user.active = False
    db.session.commit()
    assert login(app.test_client(), user.username).status_code == 400


def test_next_parameter_only_allows_local_paths(app: Flask, make_user: Callable[..., User]) -> None:
    user = make_user(Role.CURATOR)
    client = app.test_client()
    token = csrf_token(client)
    data = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    client2 = app.test_client()
    data["csrf_token"] = csrf_token(client2)
    response = client2.post("/login?next=/stories", data=data)
    assert response.headers["Location"] == "/stories"


def _invite(client: Any, role: str, name: str = "Gwen") -> tuple[Any, str | None]:
    response = client.post(
        "/invitations/new",
        data={
            "display_name": name,
            "role": role,
            "note": "with her support worker",
            "csrf_token": csrf_token(client, "/invitations/new"),
        },
    )
    match = re.search(r'href="(http://storyhub\.test/join/[^"]+)"', response.get_data(as_text=True))
    return response, match.group(1) if match else None


def test_a_curator_invites_a_storyteller_who_joins_by_the_link(
    app: Flask, login_as: Callable[..., Any]
) -> None:
    curator_client, curator = login_as(Role.CURATOR)
    response, link = _invite(curator_client, "storyteller")
    assert response.status_code == 200 and link
    page = response.get_data(as_text=True)
    assert "<svg" in page  # a QR code to scan from the printed page
    # The token itself is never stored, only its hash.
    invitation = db.session.scalars(select(Invitation)).one()
    token = link.rsplit("/", 1)[-1]
    assert token not in invitation.token_hash

    newcomer = app.test_client()
    path = link.removeprefix("http://storyhub.test")
    assert "Welcome, Gwen" in newcomer.get(path).get_data(as_text=True)
    response = newcomer.post(
        path,
        data={
            "username": "gwen",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "csrf_token": csrf_token(newcomer, path),
        },
    )
    assert response.status_code == 302
    gwen = db.session.scalars(select(User).where(User.username == "gwen")).one()
    assert gwen.role == Role.STORYTELLER and gwen.display_name == "Gwen"
    assert gwen.invited_by_id == curator.id
    assert "Hello, Gwen" in newcomer.get("/").get_data(as_text=True)
    # The link works once only.
    assert app.test_client().get(path).status_code == 404
    listing = curator_client.get("/invitations").get_data(as_text=True)
    assert "Joined as gwen" in listing


def test_an_expired_invitation_is_refused(app: Flask, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.CURATOR)
    _response, link = _invite(client, "storyteller")
    assert link
    invitation = db.session.scalars(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = app.test_client().get(link.removeprefix("http://storyhub.test"))
    assert response.status_code == 404
    assert "This invitation link doesn't work" in response.get_data(as_text=True)


def test_join_explains_a_taken_username_and_a_short_password(
    app: Flask, login_as: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    make_user(Role.TRAINER, username="taken")
    client, _ = login_as(Role.CURATOR)
    _response, link = _invite(client, "storyteller")
    assert link
    path = link.removeprefix("http://storyhub.test")
    newcomer = app.test_client()
    token = csrf_token(newcomer, path)
    response = newcomer.post(
        path, data={"username": "taken", "password": "long enough", "confirm": "long enough",
                    "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 400
    assert "That username is taken" in response.get_data(as_text=True)
    response = newcomer.post(
        path, data={"username": "fresh", "password": "short", "confirm": "short",
                    "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 400
    assert db.session.scalars(select(Invitation)).one().used_at is None


def test_a_curator_cannot_forge_an_admin_invitation(login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.CURATOR)
    response, link = _invite(client, "admin")
    assert response.status_code == 400 and link is None
    assert db.session.scalars(select(Invitation)).all() == []


def test_an_admin_can_invite_any_role(login_as: Callable[..., Any]) -> None:
    client, _ = login_as(Role.ADMIN)
    for role in Role:
        response, link = _invite(client, role.value, name=f"A {role.value}")
        assert response.status_code == 200 and link, role


@pytest.mark.parametrize("role", [Role.STORYTELLER, Role.TRAINER, Role.MEMBER])
def test_other_roles_cannot_invite(role: Role, login_as: Callable[..., Any]) -> None:
    client, _ = login_as(role)
    assert client.get("/invitations/new").status_code == 403
    assert client.get("/invitations").status_code == 403


def test_cli_creates_users_and_tokens(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "trainer",
            "--username",
            "Tina",
            "--password",
            "pass-word-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created trainer 'tina'" in result.output
    user = db.session.scalars(select(User).where(User.username == "tina")).one()
    assert user.role == Role.TRAINER
    assert authenticate("tina", "pass-word-1") is not None

    result = runner.invoke(args=["users", "token", "tina"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("shk_")
    assert user_for_api_token(token) == user
    assert token not in db.session.scalars(select(ApiToken.token_hash)).one()


def test_cli_prompts_for_the_password(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "--role", "curator", "--username", "cara"],
        input="pass-word-2\npass-word-2\n",
    )
    assert result.exit_code == 0, result.output
    assert authenticate("cara", "pass-word-2") is not None


def test_cli_refuses_bad_input_clearly(
    runner: FlaskCliRunner, make_user: Callable[..., User]
) -> None:
    make_user(Role.TRAINER, username="dup")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "trainer",
            "--username",
            "dup",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code != 0 and "taken" in result.output
    result = runner.invoke(args=["users", "token", "ghost"])
    assert result.exit_code != 0 and "No account called 'ghost'" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "wizard",
            "--username",
            "x1",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code != 0


# --- throttling: atomic, per (name, address) and per address, telling nothing -----------------


def _from(app: Flask, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _without_token(page: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", page)


def test_failures_sent_at_the_same_moment_are_all_counted(
    app: Flask, make_user: Callable[..., User]
) -> None:
    """Threads against the file SQLite database: every failure is counted, none overwritten."""
    import threading

    user = make_user(Role.TRAINER)
    attempts = 8
    app.config["LOGIN_MAX_FAILURES"] = attempts
    clients = [_from(app, "198.51.100.7") for _ in range(attempts)]
    tokens = [csrf_token(c) for c in clients]
    start = threading.Barrier(attempts)
    statuses: list[int] = []

    name = user.username

    def fail(client: Any, token: str) -> None:
        data = {"username": name, "password": "a wrong guess", "csrf_token": token}
        start.wait()
        statuses.append(client.post("/login", data=data).status_code)

    pairs = zip(clients, tokens, strict=True)
    threads = [threading.Thread(target=fail, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [400] * attempts
    # All eight failures were counted, so the eighth made this address wait: even the right
    # password is refused now (a lost count would have let it in).
    refused = login(_from(app, "198.51.100.7"), user.username)
    assert refused.status_code == 400 and "Too many attempts" in refused.get_data(as_text=True)
    with pytest.raises(SignInLocked):
        authenticate(user.username, PASSWORD, "198.51.100.7")


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(
    app: Flask, make_user: Callable[..., User]
) -> None:
    owner = make_user(Role.CURATOR)
    home, stranger = _from(app, "192.0.2.10"), _from(app, "203.0.113.66")
    assert login(home, owner.username).status_code == 302  # the owner has signed in from home
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * 3):
        login(stranger, owner.username, "guess")
    # The stranger now waits...
    refused = login(stranger, owner.username, PASSWORD)
    assert refused.status_code == 400 and "Too many attempts" in refused.get_data(as_text=True)
    # ...but the owner signs in from home, and from a new place too.
    assert login(_from(app, "192.0.2.10"), owner.username).status_code == 302
    assert login(_from(app, "2001:db8:5::1"), owner.username).status_code == 302


def test_one_address_cannot_try_many_accounts(app: Flask, make_user: Callable[..., User]) -> None:
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 6
    people = [make_user(Role.TRAINER) for _ in range(4)]
    sprayer = _from(app, "2001:db8:7::1")
    for person in people[:3]:
        for _ in range(2):
            login(sprayer, person.username, "Summer2026!")
    # Six failures from this address over three names: the fourth name waits too, also from
    # elsewhere in the same IPv6 network (one household or phone holds a whole /64)...
    refused = login(_from(app, "2001:db8:7::2:99"), people[3].username, PASSWORD)
    assert refused.status_code == 400 and "Too many attempts" in refused.get_data(as_text=True)
    # ...but not from another address.
    assert login(_from(app, "192.0.2.44"), people[3].username).status_code == 302


def test_unknown_and_known_names_get_the_same_answers(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.TRAINER)
    known, unknown = _from(app, "198.51.100.20"), _from(app, "198.51.100.21")
    for attempt in range(app.config["LOGIN_MAX_FAILURES"] + 2):
        a = login(known, user.username, "guess")
        b = login(unknown, "nobody-here", "guess")
        assert a.status_code == b.status_code == 400, attempt
        page_a = _without_token(a.get_data(as_text=True)).replace(user.username, "NAME")
        page_b = _without_token(b.get_data(as_text=True)).replace("nobody-here", "NAME")
        assert page_a == page_b, attempt
    assert "Too many attempts" in page_a
