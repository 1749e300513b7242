"""Accounts: passwords, sign-in with throttling, invitations and API tokens.

Passwords are hashed with Argon2id (argon2-cffi), the KDF OWASP recommends first. Invitation and
API tokens are random, shown once, and stored only as SHA-256 hashes: a stolen database copy
cannot be used to sign in.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from storyhub import audit
from storyhub.auth import throttle
from storyhub.extensions import db
from storyhub.models import ApiToken, Invitation, Role, User, as_utc, utcnow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 8

# Who may invite whom: curators bring in storytellers; administrators anyone.
INVITABLE_ROLES: dict[Role, tuple[Role, ...]] = {
    Role.CURATOR: (Role.STORYTELLER,),
    Role.ADMIN: tuple(Role),
}


class AccountError(ValueError):
    """A problem with what someone typed, worded for them."""


class SignInLocked(Exception):
    """Too many failed attempts; sign-in is refused until ``minutes`` have passed."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"locked for {minutes} minutes")
        self.minutes = minutes


def normalise_username(username: str) -> str:
    """Usernames are compared without case or surrounding spaces."""
    return username.strip().lower()


def check_new_credentials(username: str, password: str) -> str:
    """Return the normalised username, or raise AccountError saying what to change."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            _(
                "A username needs 3 to 64 letters or numbers "
                "(dots, dashes and underscores are fine)."
            )
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Please choose a password of at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
        )
    if db.session.scalar(select(func.count()).where(User.username == name)):
        raise AccountError(_("That username is taken. Please choose another."))
    return name


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def create_user(
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    *,
    invited_by: User | None = None,
) -> User:
    """Add a new account to the session (the caller commits)."""
    name = check_new_credentials(username, password)
    user = User(
        username=name,
        display_name=display_name.strip() or name,
        role=role,
        password_hash=hash_password(password),
        invited_by_id=invited_by.id if invited_by else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=invited_by, object_type="user", object_id=user.id)
    return user


def authenticate(username: str, password: str, address: str | None = None) -> User | None:
    """The user these credentials belong to, or None; raises SignInLocked while throttled.

    Failures are counted per (name, address), per address and per name (storyhub.auth.throttle):
    a short wait stops password guessing, without letting a stranger lock the owner out. The
    name typed is counted and checked whether or not such an account exists, and a wait is
    decided before any password is checked, so the answers can't tell who has an account.
    """
    name = normalise_username(username)
    keys = throttle.keys_for(name, address)
    minutes = throttle.wait_minutes(keys)
    if minutes is not None:
        raise SignInLocked(minutes)
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None or user.password_hash is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        throttle.count_failure(keys)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        throttle.count_failure(keys)
        return None
    now = utcnow()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.count_success(keys, now)
    user.last_login_at = now
    audit.record("user.signed_in", actor=user, object_type="user", object_id=user.id)
    db.session.commit()
    return user


def client_address() -> str | None:
    """The address a request came from, as sign-in throttling counts it.

    The connection's address, unless ``PROXY_HOPS`` proxies in front of the site each add one to
    X-Forwarded-For: then the one the nearest of them saw (never a value the client could
    write, so nobody can pick the address they are counted under).
    """
    hops = int(current_app.config.get("PROXY_HOPS", 0))
    if hops > 0:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops]
    return request.remote_addr


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # shown once, in the link; never stored


def can_invite(inviter: User, role: Role) -> bool:
    """Whether ``inviter`` may invite someone with ``role``."""
    return role in INVITABLE_ROLES.get(inviter.role, ())


def create_invitation(
    inviter: User, role: Role, display_name: str, note: str = ""
) -> NewInvitation:
    """Make a one-time sign-up link for a new person (the caller commits)."""
    if not can_invite(inviter, role):
        raise AccountError(_("You can't invite someone with that role."))
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        token_hash=_token_hash(token),
        role=role,
        display_name=display_name.strip(),
        note=note.strip(),
        created_by_id=inviter.id,
        expires_at=utcnow() + timedelta(days=current_app.config["INVITE_VALID_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "invitation.created", actor=inviter, object_type="invitation", object_id=invitation.id
    )
    return NewInvitation(invitation, token)


def find_invitation(token: str) -> Invitation | None:
    """The unused, unexpired invitation for ``token``, or None."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None or invitation.used_at is not None:
        return None
    if as_utc(invitation.expires_at) <= utcnow():
        return None
    return invitation


def accept_invitation(invitation: Invitation, username: str, password: str) -> User:
    """Create the invited person's account and use up the invitation (the caller commits)."""
    inviter = db.session.get(User, invitation.created_by_id)
    user = create_user(
        username, password, invitation.role, invitation.display_name, invited_by=inviter
    )
    invitation.used_at = utcnow()
    invitation.used_by_id = user.id
    return user


def issue_api_token(user: User, name: str = "") -> str:
    """Create an API token for ``user`` and return it (shown once; the caller commits)."""
    token = "shk_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name))
    audit.record("api_token.created", actor=user, object_type="user", object_id=user.id)
    return token


def user_for_api_token(token: str) -> User | None:
    """The active user owning a valid, unrevoked API token, or None."""
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    record.last_used_at = utcnow()
    db.session.commit()
    return record.user
