"""The declarative base every table of the archive shares, and the column helpers they use.

It lives here, in the lowest package that has tables, so that consent's tables and the app's
(``storyhub.models`` and each feature's ``models``) share one SQLAlchemy registry and metadata
while consent never imports the app. Plain SQLAlchemy: no Flask. The app hands it to
Flask-SQLAlchemy as ``SQLAlchemy(model_class=Record)``, so ``db.Model`` is this same base.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.orm import DeclarativeBase, registry

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Record(DeclarativeBase):
    # Times are stored as UTC with their zone on PostgreSQL; SQLite keeps them naive (see as_utc).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: DateTime(timezone=True)},
    )


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def str_enum(cls: type[enum.Enum]) -> Enum:
    """A portable enum column: short strings with a CHECK constraint (no native DB enum type)."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        name=cls.__name__.lower(),
    )
