"""Flask extensions, created here and bound to the app in the factory (``init_app``)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase, registry

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Times are stored as UTC with their zone on PostgreSQL; SQLite keeps them naive (see as_utc).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: DateTime(timezone=True)},
    )


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
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


@event.listens_for(Engine, "before_cursor_execute", retval=True)
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


@login_manager.user_loader
def _load_user(user_id: str) -> object | None:
    from storyhub.models import User

    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
