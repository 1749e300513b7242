"""What this instance is, recorded in its own database: today, whether it is a demonstration site.

A demo has accounts whose password is published (README, start-up output), so an instance is a
demo only when someone asked for one (`flask --app storyhub setup --demo`, as `make run` does),
never by default, and never once it holds real stories. A demo says so on every page.
"""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from storyhub.extensions import db

DEMO = "demo"


class InstanceSetting(db.Model):  # type: ignore[name-defined]
    """One fact about this instance, kept with its data (so every web server and worker agrees)."""

    __tablename__ = "instance_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DemoRefused(Exception):
    """This archive can't become a demonstration site; the message says why, in plain words."""


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


def make_demo() -> None:
    """Record that this instance is a demo, or raise DemoRefused if it holds real stories.

    Stories told by the demo accounts under the demo's own titles are the demo's (an instance
    set up before demos were recorded); any other story is real, and must never sit beside
    accounts whose password is public.
    """
    if db.session.get(InstanceSetting, DEMO) is not None:
        return
    from storyhub.demo import DEMO_ACCOUNTS, DEMO_STORIES
    from storyhub.models import Story, User

    demo_tellers = {username for username, _name, _role in DEMO_ACCOUNTS}
    demo_titles = {spec.title for spec in DEMO_STORIES}
    real = db.session.scalars(
        select(Story.id)
        .join(User, Story.storyteller_id == User.id)
        .where(~(User.username.in_(demo_tellers) & Story.title.in_(demo_titles)))
        .limit(1)
    ).first()
    if real is not None:
        raise DemoRefused(
            "This archive already holds real stories, so it can't become a demonstration site: "
            "the demo accounts' passwords are public. To keep using this archive, run "
            "`flask --app storyhub setup` (without --demo). For a demo, use a new, empty "
            "instance folder (STORYHUB_INSTANCE_PATH)."
        )
    db.session.add(InstanceSetting(name=DEMO, value="1"))
    db.session.commit()
    if has_app_context():
        g.pop("storyhub_demo", None)
