"""Sign-in throttling: counted per (name, address) pair, per address and per name, atomically.

Why this shape (OWASP's advice on brute force without denial of service):

* The pair (the username typed, the address it came from) is the main limit: after
  ``LOGIN_MAX_FAILURES`` failures it must wait ``LOGIN_LOCK_MINUTES``. A stranger elsewhere
  counts against their own pair, so they can't lock the owner out.
* Each address has a budget over every name (``LOGIN_ADDRESS_MAX_FAILURES``), so one machine
  can't try one password against many accounts.
* Each name has a larger budget over every address (``LOGIN_ACCOUNT_MAX_FAILURES``) against
  guessing from many machines. It never applies from an address where the owner has signed in
  before (a "known" pair), so strangers can't use it to lock the owner out at home or at work.
* Counts are kept by the name typed, whether or not such an account exists, and a refusal is
  made before any password is checked: an unknown name gets the same answer after the same
  work as a real one, so nobody can find out who has an account.
* Every count is one UPDATE of one row in the database (``failures = failures + 1``), so
  failures sent at the same moment are all counted, on SQLite and PostgreSQL alike. Waits
  are short and pass by themselves: there is no hard lock for anyone to lift.

Rows are kept by a keyed hash, so the table holds no usernames or addresses in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from storyhub.extensions import db
from storyhub.models import as_utc, utcnow

# Rows untouched this long (and not blocked) are forgotten, so the table stays small.
FORGET_AFTER = timedelta(days=30)


class SignInThrottle(db.Model):  # type: ignore[name-defined]
    """Failed sign-ins counted for one key: a (name, address) pair, an address, or a name."""

    __tablename__ = "sign_in_throttles"

    # A keyed SHA-256 of what is counted (see ``_key``), never the name or address itself.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    # Failures are counted in windows of LOGIN_LOCK_MINUTES from the first one.
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
    # Pairs only: when the owner last signed in from this address (a "known" pair).
    known_since: Mapped[datetime | None]
    seen_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class Keys:
    pair: str
    address: str
    name: str


def address_group(address: str | None) -> str:
    """The address counted: an IPv4 address, or an IPv6 address's /64 network (one household or
    phone holds a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _key(kind: str, *parts: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = "\x1f".join((kind, *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def keys_for(name: str, address: str | None) -> Keys:
    """The three rows a sign-in attempt by ``name`` from ``address`` is counted in."""
    group = address_group(address)
    return Keys(
        pair=_key("pair", name, group), address=_key("address", group), name=_key("name", name)
    )


def _limits() -> dict[str, int]:
    config = current_app.config
    return {
        "pair": int(config["LOGIN_MAX_FAILURES"]),
        "address": int(config["LOGIN_ADDRESS_MAX_FAILURES"]),
        "name": int(config["LOGIN_ACCOUNT_MAX_FAILURES"]),
    }


def _window() -> timedelta:
    return timedelta(minutes=int(current_app.config["LOGIN_LOCK_MINUTES"]))


def wait_minutes(keys: Keys, now: datetime | None = None) -> int | None:
    """Whole minutes this attempt must wait, or None when it may go ahead (reads only)."""
    now = now or utcnow()
    rows = {
        row.key: row
        for row in db.session.scalars(
            select(SignInThrottle).where(
                SignInThrottle.key.in_((keys.pair, keys.address, keys.name))
            )
        )
    }
    pair = rows.get(keys.pair)
    known = pair is not None and pair.known_since is not None
    # The name's budget (guessing from many machines) doesn't hold back a known pair.
    counted = [keys.pair, keys.address] + ([] if known else [keys.name])
    until = [
        as_utc(rows[k].blocked_until)  # type: ignore[arg-type]
        for k in counted
        if k in rows and rows[k].blocked_until is not None
    ]
    latest = max((u for u in until if u > now), default=None)
    if latest is None:
        return None
    return max(1, int((latest - now).total_seconds() // 60) + 1)


def _ensure_rows(keys: list[str], now: datetime) -> None:
    """Create the rows if missing, without a race: INSERT … ON CONFLICT DO NOTHING."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = [{"key": k, "failures": 0, "window_started_at": now, "seen_at": now} for k in keys]
    db.session.execute(insert(SignInThrottle).values(values).on_conflict_do_nothing())


def count_failure(keys: Keys, now: datetime | None = None) -> None:
    """Count one failed attempt in each of its rows, atomically, and commit.

    One UPDATE per row does the arithmetic in the database, so concurrent failures can't
    overwrite each other's counts. A row that reaches its limit waits LOGIN_LOCK_MINUTES and
    starts counting afresh.
    """
    now = now or utcnow()
    window = _window()
    limits = _limits()
    _ensure_rows([keys.pair, keys.address, keys.name], now)
    T = SignInThrottle
    fresh = T.window_started_at < now - window  # the last window is over: start again at 1
    counted = case((fresh, 1), else_=T.failures + 1)
    for key, limit in (
        (keys.pair, limits["pair"]),
        (keys.address, limits["address"]),
        (keys.name, limits["name"]),
    ):
        reached = counted >= limit
        db.session.execute(
            update(T)
            .where(T.key == key)
            .values(
                failures=case((reached, 0), else_=counted),
                window_started_at=case((fresh, now), (reached, now), else_=T.window_started_at),
                blocked_until=case((reached, now + window), else_=T.blocked_until),
                seen_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        delete(T)
        .where(
            T.seen_at < now - FORGET_AFTER,
            or_(T.blocked_until.is_(None), T.blocked_until < now),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def count_success(keys: Keys, now: datetime | None = None) -> None:
    """The owner signed in from here: their pair starts afresh and becomes "known" (the caller
    commits). The address's and the name's counts are left as they are, so signing in to one
    account can't reset the budget for guessing at others."""
    now = now or utcnow()
    _ensure_rows([keys.pair], now)
    db.session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == keys.pair)
        .values(failures=0, blocked_until=None, known_since=now, seen_at=now)
        .execution_options(synchronize_session=False)
    )
