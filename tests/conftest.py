"""Shared fixtures: an app on a fresh database (built by the real migrations), clients, a CLI
runner, a signed-in user of each role, and real media made at test time."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade

from storyhub import create_app
from storyhub.auth.services import create_user
from storyhub.extensions import db
from storyhub.models import Role, User
from tests import media_factory

TESTS = Path(__file__).resolve().parent
PASSWORD = "correct horse battery"
CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what a test needs from where it lives and what it asks for, so nobody has to
    remember: the fast lane (``make test-fast``) leaves out e2e, elastic and slow tests."""
    for item in items:
        if Path(item.path).resolve().relative_to(TESTS).parts[0] == "e2e":
            item.add_marker(pytest.mark.e2e)
        if "elasticsearch_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.elastic)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """Settings for a test app; a test may change them before asking for ``app``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        # Jobs run in-process as soon as the upload commits (the real handler code, no worker).
        "QUEUE_URL": "immediate",
        # Real Whisper, its faster English model (Welsh stories still use "base").
        "WHISPER_MODEL": "tiny.en",
        "SERVER_NAME": "storyhub.test",
    }


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    Without this, requests would share the test's app context: one ``g`` and one database session
    for every client, so a user signed in on one client would leak into another.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Buffered, so streamed file responses (media bytes) are read and closed at once.
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # Werkzeug's test client spools big bodies to a temporary file and leaves it open when
        # the app refuses the body unread (a 413); close it as a real connection would be.
        body = response.request.environ.get("wsgi.input")
        if body is not None and hasattr(body, "close"):
            body.close()
        return response


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database built by the real migrations, once per run: each test's app starts
    from a copy of it. The migrations stay the only source of the schema (test_migrations checks
    they make exactly the models' tables); running all of them for every test cost 2-4 s each.
    """
    folder = tmp_path_factory.mktemp("migrated")
    database = folder / "migrated.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORYHUB_INSTANCE_PATH", str(folder / "instance"))
        application = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "MEDIA_ROOT": str(folder / "media"),
                "QUEUE_URL": "immediate",
            }
        )
        with application.app_context():
            upgrade(directory=application.extensions["migrate"].directory)
            db.session.remove()
            db.engine.dispose()  # the last connection closed: nothing left in a journal
    return database


@pytest.fixture
def app(
    app_config: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Flask]:
    """A fresh app whose database was built by running the migrations."""
    monkeypatch.setenv("STORYHUB_INSTANCE_PATH", str(tmp_path / "instance"))
    # On the test's own SQLite file, a copy of the run's migrated database; a test that chose
    # another database (PostgreSQL) has the migrations run on it.
    own_file = tmp_path / "test.sqlite3"
    copied = app_config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{own_file}"
    if copied:
        shutil.copyfile(request.getfixturevalue("migrated_database"), own_file)
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        if not copied:
            upgrade(directory=application.extensions["migrate"].directory)
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create an account: ``make_user(Role.CURATOR, "name")``."""
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.STORYTELLER, username: str | None = None, **kw: Any) -> User:
        name = username or f"{role.value}{next(counter)}"
        user = create_user(name, kw.pop("password", PASSWORD), role, kw.pop("display_name", ""))
        db.session.commit()
        return user

    return make


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of ``client``'s session, read from a page's form."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form."""
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def login_as(
    app: Flask, make_user: Callable[..., User]
) -> Callable[[Role], tuple[FlaskClient, User]]:
    """A new client signed in as a new user with ``role``."""

    def sign_in(role: Role) -> tuple[FlaskClient, User]:
        user = make_user(role)
        client = app.test_client()
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client, user

    return sign_in


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-samples")


@pytest.fixture(scope="session")
def valid_media(media_dir: Path) -> dict[str, Path]:
    """One small real file of every accepted upload format, keyed by extension."""
    folder = media_dir / "valid"
    folder.mkdir()
    return media_factory.make_all_valid(folder)


@pytest.fixture
def make_story(
    app: Flask, make_user: Callable[..., User], valid_media: dict[str, Path]
) -> Callable[..., Any]:
    """Store a real story through the upload service: ``make_story(owner, fmt="mp4")``."""
    from storyhub.models import Language, TellerKind
    from storyhub.uploads import StoryDetails, store_story_file

    def make(owner: User | None = None, fmt: str = "mp4", title: str = "A story") -> Any:
        teller = owner or make_user(Role.STORYTELLER)
        details = StoryDetails(title, "", Language.ENGLISH, TellerKind.SERVICE_USER)
        return store_story_file(
            valid_media[fmt],
            details,
            uploader=teller,
            storyteller=teller,
            original_filename=valid_media[fmt].name,
        )

    return make
