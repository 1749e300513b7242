"""Agreement views: start a blind coding, code alone, compare and settle, and the figures page.

Views stay thin: who may code a story is asked of consent/ (``can_tag_themes``, through
``services.round_for``), the rules live in ``services``. A round that isn't yours is "not found".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_login import current_user

from consent import can_tag_themes
from consent.policy import viewable_stories
from storyhub.agreement import services
from storyhub.agreement.forms import StartForm, coding_form, settle_form
from storyhub.agreement.models import BlindRound
from storyhub.agreement.services import AgreementError
from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.forms import first_error
from storyhub.lookup import story_or_404
from storyhub.models import Role, Story
from storyhub.themes.services import passage_words_text

bp = Blueprint("agreement", __name__)

STAFF = (Role.CURATOR, Role.ADMIN)
# Lazy: written in the language of the page that flashes them.
STARTED = lazy_gettext("Started. Code each passage on your own; your colleague does the same.")
SAVED = lazy_gettext("Saved. You can come back to it at any time.")
BOTH_FINISHED = lazy_gettext("Thank you. You have both finished: here is where you differ.")
FINISHED_FIRST = lazy_gettext(
    "Thank you. We'll show you both where you differ once your colleague has finished."
)


def _story_to_code(story_id: int) -> Story:
    story = story_or_404(story_id)
    if not can_tag_themes(current_user, story):
        abort(404)
    return story


def _round_or_404(round_id: int) -> BlindRound:
    blind = services.round_for(current_user, round_id)
    if blind is None:
        abort(404)
    return blind


@bp.route("/stories/<int:story_id>/blind", methods=["GET", "POST"])
@roles_required(*STAFF)
def start(story_id: int) -> Any:
    """Code this story blind with a colleague: choose who."""
    story = _story_to_code(story_id)
    problem = None
    form = StartForm()
    if form.is_submitted():
        try:
            if not form.validate():
                raise AgreementError(first_error(form))
            blind = services.start_round(story, current_user, form.colleague.data)
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
        else:
            db.session.commit()
            flash(str(STARTED), "success")
            return redirect(url_for("agreement.code", round_id=blind.id))
    html = render_template(
        "agreement/start.html",
        story=story,
        colleagues=services.colleagues(story, current_user),
        open_round=services.open_round(story),
        problem=problem,
    )
    return html, (400 if problem else 200)


@bp.route("/blind/<int:round_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def code(round_id: int) -> Any:
    """One coder's page: every passage, the themes as checkboxes, no one else's choices."""
    blind = _round_or_404(round_id)
    if blind.both_finished and request.method == "GET":
        return redirect(url_for("agreement.compare", round_id=blind.id))
    problem = None
    chosen = services.choices_of(blind, current_user.id)
    passages = services.passages_of(blind)
    offered = [sub.id for sub in services.offered_subthemes(blind)]
    form = coding_form([p.id for p in passages], offered)
    if form.is_submitted():
        try:
            if not form.validate():
                raise AgreementError(first_error(form))
            # A passage with nothing ticked sends no field: it is "no themes", not "unchanged".
            services.save_choices(blind, current_user, form.chosen(), finished=form.finishing)
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
        else:
            db.session.commit()
            if form.finishing and blind.both_finished:
                flash(str(BOTH_FINISHED), "success")
                return redirect(url_for("agreement.compare", round_id=blind.id))
            flash(str(FINISHED_FIRST if form.finishing else SAVED), "success")
            return redirect(url_for("agreement.code", round_id=blind.id))
    other = blind.second_coder if current_user.id == blind.first_coder_id else blind.first_coder
    html = render_template(
        "agreement/code.html",
        blind=blind,
        story=blind.story,
        colleague=other,
        passages=[(p, passage_words_text(p)) for p in passages],
        groups=services.subthemes_by_kind(blind),
        chosen=chosen,
        finished=services.is_finished(blind, current_user),
        problem=problem,
    )
    return html, (400 if problem else 200)


@bp.route("/blind/<int:round_id>/compare", methods=["GET", "POST"])
@roles_required(*STAFF)
def compare(round_id: int) -> Any:
    """Where the two codings differ; either coder settles one version."""
    blind = _round_or_404(round_id)
    if not blind.both_finished:
        flash(_("You can compare once you have both finished coding."), "error")
        return redirect(url_for("agreement.code", round_id=blind.id))
    problem = None
    comparison = services.compare(blind)
    form = settle_form(
        (row.passage.id, sub.id)
        for row in comparison.passages
        for sub in row.only_first + row.only_second
    )
    if form.is_submitted():
        try:
            if not form.validate():
                raise AgreementError(first_error(form))
            settled = services.settle(blind, current_user, form.answers())
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
        else:
            db.session.commit()
            settled_message = ngettext(
                "Settled. %(num)d theme is confirmed on the story.",
                "Settled. %(num)d themes are confirmed on the story.",
                settled,
            )
            flash(settled_message, "success")
            return redirect(url_for("agreement.compare", round_id=blind.id))
    html = render_template(
        "agreement/compare.html",
        blind=blind,
        story=blind.story,
        comparison=comparison,
        answers=form.sent(),
        problem=problem,
        min_passages=services.MIN_PASSAGES,
    )
    return html, (400 if problem else 200)


@bp.route("/agreement")
@roles_required(*STAFF)
def figures() -> str:
    """How far curators agree with each other, and how far the tagger agrees with curators."""
    stories = viewable_stories(current_user)
    return render_template(
        "agreement/figures.html",
        table=services.curator_agreement(stories),
        months=services.tagger_agreement(stories),
        rounds=services.rounds_of(current_user),
        min_passages=services.MIN_PASSAGES,
    )
