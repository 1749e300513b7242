"""What this instance is, recorded in its own database: today, whether it is a demonstration site.

A demo has accounts whose password is published (README, start-up output), so an instance is a
demo only when someone asked for one (`flask --app storyhub setup --demo`, as `make run` does),
never by default, and never once it holds real stories. A demo says so on every page.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context
from sqlalchemy import String, Text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from storyhub.extensions import db

DEMO = "demo"


class InstanceSetting(db.Model):  # type: ignore[name-defined]
    """One fact about this instance, kept with its data (so every web server and worker agrees)."""

    __tablename__ = "instance_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def is_demo() -> bool:
    """True when this instance was made a demonstration site (asked once per request)."""
    if has_app_context() and "storyhub_demo" in g:
        return bool(g.storyhub_demo)
    try:
        demo = db.session.get(InstanceSetting, DEMO) is not None
    except SQLAlchemyError:
        # A page shown while the database is failing (an error page) still renders; the
        # request that failed rolls back on its own.
        return False
    if has_app_context():
        g.storyhub_demo = demo
    return demo


def init_app(app: Flask) -> None:
    """Every page of a demonstration site says so (templates/_demo_banner.html)."""
    # A global, not a context variable, so the room's macro (imported without context) sees it.
    app.jinja_env.globals["demo_instance"] = is_demo
