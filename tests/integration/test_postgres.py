"""The same models, migrations and consent queries on a real PostgreSQL, as organisations that
outgrow SQLite will run them. The test starts its own throwaway server on loopback."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import select

from consent import can_view, viewable_stories
from consent.models import Audience
from consent.services import Choices, release, withdraw
from storyhub.extensions import db
from storyhub.models import Role, Story, StoryState, User
from tests.live_site import free_port

pytestmark = pytest.mark.slow


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL is needed for this test; `make test` installs it (Debian package)")
    return found[-1]


def _as_server_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as the "postgres" account the package made.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on a free loopback port; yields its admin URL (trust auth)."""
    # Its own folder under /tmp: the server's account can't enter pytest's root-only folders.
    root = Path(tempfile.mkdtemp(prefix="storyhub-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(
        _as_server_user([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = root / "server.log"
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
    subprocess.run(
        _as_server_user(
            [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_server_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(postgres: str, app_config: dict[str, Any]) -> Iterator[str]:
    """A fresh database for one test, used by the ``app`` fixture."""
    name = f"storyhub_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    app_config["SQLALCHEMY_DATABASE_URI"] = url
    yield url
    deadline = time.monotonic() + 10
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        while True:
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def test_migrations_build_the_models_schema_on_postgresql(pg_database: str, app: Flask) -> None:
    from flask_migrate import downgrade, upgrade

    assert db.engine.dialect.name == "postgresql"
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
    directory = app.extensions["migrate"].directory
    db.session.remove()
    downgrade(directory=directory, revision="base")
    upgrade(directory=directory)
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_stories_and_consent_work_on_postgresql(
    pg_database: str,
    app: Flask,
    make_user: Callable[..., Any],
    make_story: Callable[..., Any],
) -> None:
    teller = make_user(Role.STORYTELLER)
    trainer = make_user(Role.TRAINER)
    story = make_story(teller, "wav", title="On PostgreSQL")
    assert story.state == StoryState.READY, story.failure_message
    assert story.created_at.tzinfo is not None  # stored with its time zone
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    db.session.commit()
    listed = db.session.scalars(select(Story).where(viewable_stories(trainer))).all()
    assert listed == [story] and can_view(trainer, story)
    withdraw(story, teller)
    db.session.commit()
    assert db.session.scalars(select(Story).where(viewable_stories(trainer))).all() == []
    assert not can_view(trainer, story)
    # PostgreSQL can't hold a NUL in text: one typed into a field, or a lookup, loses it instead
    # of failing with a server error.
    story.description = "Typed\x00 with a NUL"
    db.session.commit()
    db.session.expire_all()
    assert story.description == "Typed with a NUL"
    assert db.session.scalar(select(User).where(User.username == "no\x00body")) is None
    # JSON columns round-trip: the probe's facts and the passages' words.
    db.session.expire_all()
    assert story.media_file("original").info["container"] == "wav"


def test_the_people_hold_migrates_on_postgresql(
    pg_database: str, app: Flask, make_user: Callable[..., Any]
) -> None:
    """Migration 0009 works out which current versions hold a story back, on PostgreSQL too."""
    from flask_migrate import downgrade, upgrade

    from tests.unit.consent.test_people import held_story

    held = held_story(make_user(Role.STORYTELLER)).id
    fine = held_story(make_user(Role.STORYTELLER), agreed=True).id
    directory = app.extensions["migrate"].directory
    db.session.remove()
    downgrade(directory=directory, revision="0008")
    upgrade(directory=directory)
    trainer = make_user(Role.TRAINER)
    assert set(db.session.scalars(select(Story.id).where(viewable_stories(trainer)))) == {fine}
    for story_id, wanted in ((held, True), (fine, False)):
        story = db.session.get(Story, story_id)
        assert story is not None and story.consent is not None
        assert story.consent.people_held is wanted


def test_sign_in_throttling_counts_every_failure_on_postgresql(
    pg_database: str, app: Flask, make_user: Callable[..., Any]
) -> None:
    """The throttle's INSERT … ON CONFLICT and its one-statement counting, on PostgreSQL, with
    failures sent at the same moment (threads, each with its own connection)."""
    import threading

    from storyhub.auth.services import SignInLocked, authenticate
    from tests.conftest import PASSWORD

    user = make_user(Role.TRAINER)
    name, attempts = user.username, 8
    app.config["LOGIN_MAX_FAILURES"] = attempts
    start = threading.Barrier(attempts)
    results: list[object] = []

    def fail() -> None:
        with app.app_context():
            start.wait()
            results.append(authenticate(name, "a wrong guess", "198.51.100.7"))
            db.session.remove()

    threads = [threading.Thread(target=fail) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [None] * attempts
    with pytest.raises(SignInLocked):  # all eight counted: this address waits now
        authenticate(name, PASSWORD, "198.51.100.7")
    assert authenticate(name, PASSWORD, "192.0.2.1") is not None  # the owner elsewhere: fine
