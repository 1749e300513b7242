"""Agreement views: start a blind coding, code alone, compare and settle, and the figures page.

Views stay thin: who may code a story is asked of consent/ (``can_tag_themes``, through
``services.round_for``), the rules live in ``services``. A round that isn't yours is "not found".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consent import can_tag_themes
from consent.policy import viewable_stories
from storyhub.agreement import services
from storyhub.agreement.models import BlindRound
from storyhub.agreement.services import AgreementError
from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.lookup import story_or_404
from storyhub.models import Role, Story
from storyhub.themes.services import passage_words_text

bp = Blueprint("agreement", __name__)

STAFF = (Role.CURATOR, Role.ADMIN)
STARTED = "Started. Code each passage on your own; your colleague does the same."
SETTLED = "Settled. {count} themes are confirmed on the story."
SETTLED_ONE = "Settled. 1 theme is confirmed on the story."
FINISHED_FIRST = "Thank you. We'll show you both where you differ once your colleague has finished."


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
    if request.method == "POST":
        raw = request.form.get("colleague", "")
        try:
            blind = services.start_round(story, current_user, int(raw) if raw.isdigit() else None)
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
        else:
            db.session.commit()
            flash(STARTED, "success")
            return redirect(url_for("agreement.code", round_id=blind.id))
    html = render_template(
        "agreement/start.html",
        story=story,
        colleagues=services.colleagues(story, current_user),
        open_round=services.open_round(story),
        problem=problem,
    )
    return html, (400 if problem else 200)


def _sent_choices() -> dict[int, list[str]]:
    """passage id -> ticked values, from the coding form's ``theme-<passage id>`` fields."""
    sent: dict[int, list[str]] = {}
    for name in request.form:
        if name.startswith("theme-"):
            number = name.removeprefix("theme-")
            if not number.isdigit():
                raise AgreementError("That passage is not part of this coding. Please try again.")
            sent[int(number)] = request.form.getlist(name)
    return sent


@bp.route("/blind/<int:round_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def code(round_id: int) -> Any:
    """One coder's page: every passage, the themes as checkboxes, no one else's choices."""
    blind = _round_or_404(round_id)
    if blind.both_finished and request.method == "GET":
        return redirect(url_for("agreement.compare", round_id=blind.id))
    problem = None
    chosen = services.choices_of(blind, current_user.id)
    if request.method == "POST":
        finished = request.form.get("action") == "finish"
        try:
            sent = services.parse_choices(blind, _sent_choices())
            # A passage with nothing ticked sends no field: it is "no themes", not "unchanged".
            chosen = {p.id: sent.get(p.id, set()) for p in services.passages_of(blind)}
            services.save_choices(blind, current_user, chosen, finished=finished)
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
            chosen = services.choices_of(blind, current_user.id)
        else:
            db.session.commit()
            if finished and blind.both_finished:
                flash("Thank you. You have both finished: here is where you differ.", "success")
                return redirect(url_for("agreement.compare", round_id=blind.id))
            if finished:
                flash(FINISHED_FIRST, "success")
            else:
                flash("Saved. You can come back to it at any time.", "success")
            return redirect(url_for("agreement.code", round_id=blind.id))
    other = blind.second_coder if current_user.id == blind.first_coder_id else blind.first_coder
    html = render_template(
        "agreement/code.html",
        blind=blind,
        story=blind.story,
        colleague=other,
        passages=[(p, passage_words_text(p)) for p in services.passages_of(blind)],
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
        flash("You can compare once you have both finished coding.", "error")
        return redirect(url_for("agreement.code", round_id=blind.id))
    problem = None
    answers: dict[str, str] = {}
    if request.method == "POST":
        answers = {k: v for k, v in request.form.items() if k.startswith("keep-")}
        try:
            decided = services.parse_settlement(blind, answers)
            settled = services.settle(blind, current_user, decided)
        except AgreementError as error:
            db.session.rollback()
            problem = str(error)
        else:
            db.session.commit()
            flash(SETTLED_ONE if settled == 1 else SETTLED.format(count=settled), "success")
            return redirect(url_for("agreement.compare", round_id=blind.id))
    html = render_template(
        "agreement/compare.html",
        blind=blind,
        story=blind.story,
        comparison=services.compare(blind),
        answers=answers,
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
