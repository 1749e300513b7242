"""Theme views: curators confirm, reject and add themes on a transcript; admins edit the list.

Views stay thin: who may tag is asked of consent/ (can_tag_themes), the rules live in
``services``. Every form works as a plain POST; the transcript's script sends the same forms with
``X-Requested-With: storyhub-themes`` and swaps in the passage's new theme panel, so the video
keeps playing while a curator works.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from consent import can_tag_themes
from media_pipeline.tagger import shipped_taxonomy
from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.forms import first_error
from storyhub.lookup import passage_or_404, story_or_404
from storyhub.models import Passage, Role, Story
from storyhub.themes import services
from storyhub.themes.forms import AddThemeForm, NewSubthemeForm, SubthemeForm, ValenceForm
from storyhub.themes.models import PassageTheme, Subtheme, ThemeKind, Valence
from storyhub.words import find_phrase

bp = Blueprint("themes", __name__)


@bp.app_context_processor
def _theme_helpers() -> dict[str, Any]:
    return {
        "valences": list(Valence),
        "theme_span_text": lambda passage, tag: services.passage_words_text(
            passage, tag.span_start, tag.span_end
        ),
        "theme_reason_words": lambda passage, tag: services.reason_words(
            passage, tag.reason_times or []
        ),
    }


def _wants_panel() -> bool:
    return request.headers.get("X-Requested-With") == "storyhub-themes"


def _curated_story(story_id: int) -> Story:
    story = story_or_404(story_id)
    if not can_tag_themes(current_user, story):
        abort(403)
    return story


def _tag(story: Story, tag_id: int) -> PassageTheme:
    tag = next((t for p in story.passages for t in p.themes if t.id == tag_id), None)
    if tag is None:
        abort(404)
    return tag


def _valence(form: ValenceForm) -> Valence | None:
    """The valence chosen; one the page never offers is a forged request (400)."""
    if form.valence_is_forged():
        abort(400)
    return form.chosen_valence()


def _done(story: Story, passage: Passage, message: str, *, error: bool = False) -> Any:
    """Answer the script with the passage's new panel, or a plain form with a redirect."""
    if _wants_panel():
        html = render_template(
            "themes/_panel.html",
            story=story,
            passage=passage,
            can_tag=True,
            theme_choices=services.subthemes_by_kind(),
        )
        return jsonify(ok=not error, message=message, html=html.strip()), (422 if error else 200)
    flash(message, "error" if error else "success")
    return redirect(url_for("stories.show", story_id=story.id, _anchor=f"passage-{passage.id}"))


def _first_problem(form: AddThemeForm) -> str:
    # The theme's IdField keeps its lazy (translated when shown) message as it is, which
    # first_error, looking for plain strings, would pass over.
    for messages in form.errors.values():
        return str(messages[0]) if messages else first_error(form)
    return first_error(form)


@bp.route("/stories/<int:story_id>/themes/<int:tag_id>/confirm", methods=["POST"])
@login_required
def confirm(story_id: int, tag_id: int) -> Any:
    story = _curated_story(story_id)
    tag = _tag(story, tag_id)
    services.confirm(tag, current_user, _valence(ValenceForm()))
    db.session.commit()
    return _done(story, tag.passage, _("Confirmed “%(name)s”.", name=tag.subtheme.shown_label))


@bp.route("/stories/<int:story_id>/themes/<int:tag_id>/reject", methods=["POST"])
@login_required
def reject(story_id: int, tag_id: int) -> Any:
    story = _curated_story(story_id)
    tag = _tag(story, tag_id)
    services.reject(tag, current_user)
    db.session.commit()
    return _done(story, tag.passage, _("Removed “%(name)s”.", name=tag.subtheme.shown_label))


@bp.route("/stories/<int:story_id>/themes/<int:tag_id>/valence", methods=["POST"])
@login_required
def valence(story_id: int, tag_id: int) -> Any:
    story = _curated_story(story_id)
    tag = _tag(story, tag_id)
    services.set_valence(tag, _valence(ValenceForm()), current_user)
    db.session.commit()
    return _done(story, tag.passage, _("Saved."))


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>/themes", methods=["POST"])
@login_required
def add(story_id: int, passage_id: int) -> Any:
    """Add a theme to the passage, or to the words typed (or selected) in it."""
    story = _curated_story(story_id)
    passage = passage_or_404(story, passage_id)
    form = AddThemeForm()
    valence = _valence(form)
    if not form.validate_on_submit():
        return _done(story, passage, _first_problem(form), error=True)
    subtheme = db.session.get(Subtheme, form.subtheme.data)
    if subtheme is None:
        return _done(story, passage, _("Please choose a theme from the list."), error=True)
    phrase = (form.words.data or "").strip()
    span = None
    if phrase:
        places = find_phrase(passage, phrase)
        if not places:
            return _done(
                story,
                passage,
                _(
                    "“%(words)s” isn't in this passage. Type it as it appears, or leave it "
                    "empty to tag the whole passage.",
                    words=phrase,
                ),
                error=True,
            )
        first, last = places[0]
        if (first, last) != (0, len(passage.words) - 1):
            span = (float(passage.words[first]["start"]), float(passage.words[last]["end"]))
    try:
        services.add_tag(
            passage,
            subtheme,
            current_user,
            span=span,
            valence=valence,
        )
    except services.ThemeError as problem:
        db.session.rollback()
        return _done(story, passage, str(problem), error=True)
    db.session.commit()
    return _done(story, passage, _("Added “%(name)s”.", name=subtheme.shown_label))


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>/themes/confirm-all", methods=["POST"])
@login_required
def confirm_all(story_id: int, passage_id: int) -> Any:
    story = _curated_story(story_id)
    passage = passage_or_404(story, passage_id)
    count = services.confirm_all(passage, current_user)
    db.session.commit()
    return _done(
        story, passage, ngettext("Confirmed %(num)d theme.", "Confirmed %(num)d themes.", count)
    )


@bp.route("/stories/<int:story_id>/themes/suggest", methods=["POST"])
@login_required
def suggest_again(story_id: int) -> WerkzeugResponse:
    """Replace the undecided suggestions with the current tagger's (it learns as you confirm)."""
    story = _curated_story(story_id)
    for passage in story.passages:
        passage.themes_suggested_at = None
    services.schedule_suggestions(story)
    db.session.commit()
    flash(_("Suggesting themes again. They will appear in a moment."), "success")
    return redirect(url_for("stories.show", story_id=story.id, _anchor="transcript"))


# -- administration: the list of themes ---------------------------------------------------------


@bp.route("/admin/themes", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def taxonomy() -> Any:
    """The list of outcome themes: add a subtheme to a kind, rename one (tags stay on it)."""
    form = NewSubthemeForm()
    if form.is_submitted():
        if not form.validate():
            flash(first_error(form), "error")
            return redirect(url_for("themes.taxonomy"))
        kind = ThemeKind(form.kind.data)
        try:
            sub = services.add_subtheme(
                kind, form.label.data or "", form.description.data or "", current_user
            )
        except services.ThemeError as problem:
            db.session.rollback()
            flash(str(problem), "error")
            return redirect(url_for("themes.taxonomy"))
        db.session.commit()
        flash(_("Added “%(name)s” to %(kind)s.", name=sub.shown_label, kind=kind.label), "success")
        return redirect(url_for("themes.taxonomy", _anchor=f"theme-{sub.id}"))
    return render_template(
        "themes/taxonomy.html",
        groups=services.subthemes_by_kind(),
        counts=services.confirmed_counts(),
        kinds=list(ThemeKind),
        kind_descriptions={k.key: k.description for k in shipped_taxonomy().kinds},
    )


@bp.route("/admin/themes/<int:subtheme_id>", methods=["POST"])
@roles_required(Role.ADMIN)
def rename(subtheme_id: int) -> WerkzeugResponse:
    sub = db.session.get(Subtheme, subtheme_id)
    if sub is None:
        abort(404)
    form = SubthemeForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return redirect(url_for("themes.taxonomy", _anchor=f"theme-{subtheme_id}"))
    try:
        services.rename_subtheme(
            sub, form.label.data or "", form.description.data or "", current_user
        )
    except services.ThemeError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("themes.taxonomy", _anchor=f"theme-{subtheme_id}"))
    db.session.commit()
    flash(_("Saved “%(name)s”. Its tags are unchanged.", name=sub.shown_label), "success")
    return redirect(url_for("themes.taxonomy", _anchor=f"theme-{subtheme_id}"))


# -- administration: what the tagger has learnt -------------------------------------------------


@bp.route("/admin/themes/learning")
@roles_required(Role.ADMIN)
def learning() -> str:
    """Each version of what the tagger learnt from curators; use an older one, or none."""
    versions = services.learnt_versions()
    return render_template(
        "themes/learning.html",
        versions=versions,
        in_use=next((v for v in versions if v.row.in_use), None),
        measure_from=services.MEASURE_FROM,
    )


@bp.route("/admin/themes/learning/<int:version_id>/use", methods=["POST"])
@roles_required(Role.ADMIN)
def use_version(version_id: int) -> WerkzeugResponse:
    try:
        services.use_version(version_id, current_user)
    except services.ThemeError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("themes.learning"))
    db.session.commit()
    flash(_("Done. New suggestions will use this version."), "success")
    return redirect(url_for("themes.learning"))


@bp.route("/admin/themes/learning/stop", methods=["POST"])
@roles_required(Role.ADMIN)
def stop_learning() -> WerkzeugResponse:
    services.use_version(None, current_user)
    db.session.commit()
    flash(
        _(
            "Done. New suggestions come from the tagger as it was shipped. "
            "You can use a version again at any time."
        ),
        "success",
    )
    return redirect(url_for("themes.learning"))
