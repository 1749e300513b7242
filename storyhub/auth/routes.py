"""Sign in and out, invite people, and join by invitation."""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from storyhub.auth import bp
from storyhub.auth.decorators import roles_required
from storyhub.auth.forms import InviteForm, JoinForm, LoginForm, NextPageForm
from storyhub.auth.services import (
    INVITABLE_ROLES,
    AccountError,
    SignInLocked,
    accept_invitation,
    authenticate,
    client_address,
    create_invitation,
    find_invitation,
)
from storyhub.extensions import db
from storyhub.i18n import remember_on_sign_in
from storyhub.models import Invitation, Role


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Sign in with a username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.username.data or "", form.password.data or "", client_address()
            )
        except SignInLocked as locked:
            # The same words whether or not the name is an account's (nothing to learn here).
            error = ngettext(
                "Too many attempts to sign in from here. For safety, please wait "
                "%(num)d minute and try again, or ask a curator for help.",
                "Too many attempts to sign in from here. For safety, please wait "
                "%(num)d minutes and try again, or ask a curator for help.",
                locked.minutes,
            )
        else:
            if user is None:
                error = _("That username and password don't match. Please check and try again.")
            else:
                login_user(user)
                remember_on_sign_in(user)
                db.session.commit()
                target = NextPageForm(request.args).safe_target()
                return redirect(target or url_for("main.home"))
    status = 200 if error is None else 400
    return render_template("auth/login.html", form=form, error=error), status  # type: ignore[return-value]


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out (a POST, so a link elsewhere can't sign people out)."""
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/invitations", methods=["GET"])
@roles_required(Role.CURATOR, Role.ADMIN)
def invitations() -> str:
    """Invitations this person made, newest first."""
    rows = db.session.scalars(
        select(Invitation)
        .where(Invitation.created_by_id == current_user.id)
        .order_by(Invitation.created_at.desc())
    ).all()
    return render_template("auth/invitations.html", invitations=rows)


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles_required(Role.CURATOR, Role.ADMIN)
def invite() -> str | tuple[str, int]:
    """Make a one-time link that lets someone create their account."""
    form = InviteForm()
    form.set_roles(INVITABLE_ROLES[current_user.role])
    if form.validate_on_submit():
        try:
            made = create_invitation(
                current_user,
                Role(form.role.data),
                form.display_name.data or "",
                form.note.data or "",
            )
        except AccountError as err:
            form.role.errors = [str(err)]
        else:
            db.session.commit()
            link = url_for("auth.join", token=made.token, _external=True)
            qr_svg = segno.make(link, error="m").svg_inline(scale=5, dark="#000", light="#fff")
            return render_template(
                "auth/invitation_made.html", invitation=made.invitation, link=link, qr_svg=qr_svg
            )
    status = 400 if form.is_submitted() else 200
    return render_template("auth/invite.html", form=form), status


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str) -> str | Response | tuple[str, int]:
    """Create an account from an invitation link."""
    invitation = find_invitation(token)
    if invitation is None:
        return render_template("auth/join_invalid.html"), 404
    if current_user.is_authenticated:
        logout_user()  # a shared support-worker laptop: the new person starts fresh
    form = JoinForm()
    if form.validate_on_submit():
        try:
            user = accept_invitation(invitation, form.username.data or "", form.password.data or "")
        except AccountError as err:
            form.username.errors = [str(err)]
        else:
            remember_on_sign_in(user)
            db.session.commit()
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
            return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/join.html", form=form, invitation=invitation), status
