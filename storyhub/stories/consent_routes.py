"""Consent views: the release wizard, changing, renewing, withdrawing, erasing, the history and
"where my story has been used". Rules live in consent/; these views only ask and show."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent.describe import audience_list, sharing
from consent.models import ConsentStatus
from consent.policy import STORY_STAFF, today
from consent.services import (
    ConsentError,
    change,
    default_review_months,
    erase,
    release,
    renew,
    reviews_due,
    uses_by_audience,
    withdraw,
)
from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.lookup import story_or_404
from storyhub.models import Role, StoryState
from storyhub.stories import bp
from storyhub.stories.consent_forms import ConsentForm, EraseForm, RenewForm, WithdrawForm


def _is_teller(story: Any) -> bool:
    """Whether the person signed in told ``story`` (the summary then says "you")."""
    return bool(story.storyteller_id == current_user.id)


@bp.route("/stories/<int:story_id>/consent", methods=["GET", "POST"])
@login_required
def consent_wizard(story_id: int) -> Any:
    """Choose who may see the story: release it (step 2), or change the choices."""
    story = story_or_404(story_id, manage=True)
    current = story.consent
    changing = bool(current and current.status == ConsentStatus.ACTIVE and current.released)
    if story.state != StoryState.READY:
        flash(_("You can choose who may see your story once it is ready to watch."), "info")
        return redirect(url_for("stories.show", story_id=story.id))
    form = ConsentForm()
    form.offer_review(default_review_months())
    if not form.is_submitted() and changing and current is not None:
        form.fill_from(current)
    error = None
    if form.validate_on_submit() and not form.edit.data:
        choices = form.choices()
        try:
            choices.check()
            if not changing and not form.watched.data:
                raise ConsentError(
                    _("Please watch your finished story before you choose who may see it.")
                )
        except ConsentError as problem:
            error = str(problem)
        else:
            if not form.confirm.data:
                # Show everything on one page to check before anything is saved.
                return render_template(
                    "consent/confirm.html", story=story, form=form, choices=choices,
                    changing=changing, audience_list=audience_list,
                )  # fmt: skip
            try:
                if changing:
                    change(story, current_user, choices)
                else:
                    release(story, current_user, choices, watched=bool(form.watched.data))
            except ConsentError as problem:
                error = str(problem)
            else:
                db.session.commit()
                flash(sharing(story, viewer_is_teller=_is_teller(story)).text, "success")
                return redirect(url_for("stories.show", story_id=story.id))
    status = 400 if form.is_submitted() and not form.edit.data else 200
    return (
        render_template(
            "consent/wizard.html", story=story, form=form, error=error, changing=changing
        ),
        status,
    )


@bp.route("/stories/<int:story_id>/renew", methods=["POST"])
@login_required
def consent_renew(story_id: int) -> Response:
    """Keep sharing with the same choices for another period."""
    story = story_or_404(story_id, manage=True)
    form = RenewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        renew(story, current_user, int(form.months.data))
    except (ConsentError, ValueError) as problem:
        flash(str(problem), "error")
    else:
        db.session.commit()
        flash(sharing(story, viewer_is_teller=_is_teller(story)).text, "success")
    return redirect(url_for("stories.show", story_id=story.id))


@bp.route("/stories/<int:story_id>/withdraw", methods=["GET", "POST"])
@login_required
def consent_withdraw(story_id: int) -> Any:
    """Stop sharing a story everywhere, at once (as easy as giving consent)."""
    story = story_or_404(story_id, manage=True)
    form = WithdrawForm()
    error = None
    if form.validate_on_submit():
        try:
            withdraw(story, current_user, form.reason.data or "")
        except ConsentError as problem:
            error = str(problem)
        else:
            db.session.commit()
            flash(_("Your story is no longer shared with anyone."), "success")
            return redirect(url_for("stories.show", story_id=story.id))
    status = 400 if form.is_submitted() else 200
    return render_template("consent/withdraw.html", story=story, form=form, error=error), status


@bp.route("/stories/<int:story_id>/erase", methods=["GET", "POST"])
@login_required
def consent_erase(story_id: int) -> Any:
    """Erase a story: its media and words are deleted; a bare record remains for the audit."""
    story = story_or_404(story_id, manage=True)
    form = EraseForm()
    error = None
    if form.validate_on_submit():
        try:
            erase(story, current_user, form.reason.data or "")
        except ConsentError as problem:
            error = str(problem)
        else:
            db.session.commit()
            flash(_("The story has been erased."), "success")
            home = "stories.mine" if current_user.role == Role.STORYTELLER else "stories.index"
            return redirect(url_for(home))
    status = 400 if form.is_submitted() else 200
    return render_template("consent/erase.html", story=story, form=form, error=error), status


@bp.route("/stories/<int:story_id>/used")
@login_required
def story_uses(story_id: int) -> str:
    """Where the story has been used, and the history of its consent."""
    story = story_or_404(story_id, manage=True)
    return render_template(
        "consent/used.html",
        story=story,
        uses=uses_by_audience(story),
        sharing=sharing(story, viewer_is_teller=_is_teller(story)),
        audience_list=audience_list,
    )


@bp.route("/consent/reviews")
@roles_required(*STORY_STAFF)
def reviews() -> str:
    """Shared stories whose review date is within the next month, or has passed."""
    return render_template("consent/reviews.html", stories=reviews_due(), today=today())
