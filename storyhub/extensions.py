"""Flask extensions, created here and bound to the app in the factory (``init_app``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

from consent.records import Record

# Every table shares consent's declarative base (see consent/records.py): one metadata.
db = SQLAlchemy(model_class=Record)


def _wait_for_sqlite_writers(dbapi_connection: Any, _record: Any) -> None:
    """On SQLite the site and its worker share one file: a writer waits for the other's write
    to end (up to 30 s) instead of failing with "database is locked" after pysqlite's 5 s."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA busy_timeout = 30000")


def _has_nul(values: Any) -> bool:
    if isinstance(values, str):
        return "\x00" in values
    if isinstance(values, dict):
        return any(_has_nul(value) for value in values.values())
    if isinstance(values, list | tuple):
        return any(_has_nul(value) for value in values)
    return False


def _without_nul(values: Any) -> Any:
    """``values`` (one value, or a statement's parameters) with NUL characters taken out of text."""
    if isinstance(values, str):
        return values.replace("\x00", "")
    if isinstance(values, dict):
        return {key: _without_nul(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return type(values)(_without_nul(value) for value in values)
    return values


def _drop_nul_characters(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    """PostgreSQL can't hold the NUL character in text, so a title, a search or a username typed
    with one (only ever on purpose) would be a server error there. It is taken out of every value
    sent to the database, on every database, so they all behave alike."""
    return statement, _without_nul(parameters) if _has_nul(parameters) else parameters


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def N_(message: str) -> str:  # the name gettext tools look for
    """Mark a message for translation that is translated later, when it is shown."""
    return message


def init_app(app: Flask) -> None:
    """Bind the extensions to ``app``; the database's listeners go on this app's engines only."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # English here: Flask-Login translates it (localize_callback) in the request that flashes it.
    login_manager.login_message = N_("Please sign in to see that page.")
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "connect", _wait_for_sqlite_writers)
            event.listen(engine, "before_cursor_execute", _drop_nul_characters, retval=True)
