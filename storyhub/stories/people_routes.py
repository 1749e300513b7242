"""Other people in a story: what holds it back, the curator's tools to remove someone, and
recording that someone agreed. Rules live in consent/ and storyhub.people; these views ask."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import can_redact
from consent.policy import STORY_STAFF, people_to_remove
from consent.services import ConsentError, person_agreed
from storyhub.auth.decorators import roles_required
from storyhub.covers import picture_covers
from storyhub.extensions import db
from storyhub.forms import first_error
from storyhub.lookup import story_or_404
from storyhub.people import cover_picture, name_places, people_waiting, record_removed, remove_name
from storyhub.stories import bp
from storyhub.stories.forms import CoverForm, PersonRemovedForm


def _back(story_id: int) -> Response:
    return redirect(url_for("stories.people", story_id=story_id))


def _curators_story(story_id: int) -> Any:
    """The story, for staff who may remove people from it (the teller gets 403, others 404)."""
    story = story_or_404(story_id, manage=True)
    if not can_redact(current_user, story):
        abort(403)
    return story


NOBODY = lazy_gettext("We couldn't find that person in this story. Please try again.")


def _name(story: Any, index: int) -> str | None:
    """The name of other person ``index`` in the story, or None if there is no such person."""
    people = story.consent.third_parties if story.consent is not None else []
    if not 0 <= index < len(people):
        return None
    return str(people[index].get("name", ""))


@bp.route("/stories/<int:story_id>/people")
@login_required
def people(story_id: int) -> str:
    """The other people in a story, and what is still to do before it may be shared."""
    story = story_or_404(story_id, manage=True)
    others = list(story.consent.third_parties) if story.consent is not None else []
    curator = can_redact(current_user, story)
    places = {
        index: name_places(story, str(person.get("name", "")))
        for index, person in enumerate(others)
        if curator
    }
    return render_template(
        "people/story.html",
        story=story,
        others=others,
        waiting={index for index, _ in people_to_remove(story.consent)},
        places=places,
        covers=picture_covers(story),
        curator=curator,
        is_teller=story.storyteller_id == current_user.id,
    )


@bp.route("/stories/<int:story_id>/people/<int:index>/agreed", methods=["POST"])
@login_required
def person_agreed_view(story_id: int, index: int) -> Response:
    """The teller (or a curator for them) records that this person has now agreed."""
    story = story_or_404(story_id, manage=True)
    name = _name(story, index)
    if name is None:
        flash(str(NOBODY), "error")
        return _back(story_id)
    try:
        person_agreed(story, current_user, index)
    except ConsentError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story_id)
    db.session.commit()
    flash(
        _("Thank you. We have noted that %(name)s agreed to be in the story.", name=name), "success"
    )
    return _back(story_id)


@bp.route("/stories/<int:story_id>/people/<int:index>/remove-name", methods=["POST"])
@login_required
def remove_name_view(story_id: int, index: int) -> Response:
    """Remove every place this person's name is still said in the words and sound."""
    story = _curators_story(story_id)
    name = _name(story, index)
    if name is None:
        flash(str(NOBODY), "error")
        return _back(story_id)
    removed = remove_name(story, name, current_user)
    db.session.commit()
    if removed:
        flash(
            ngettext(
                "Removed “%(name)s” from %(num)d place. It is hidden in the words and captions, "
                "and will be silent in the video.",
                "Removed “%(name)s” from %(num)d places. It is hidden in the words and captions, "
                "and will be silent in the video.",
                removed,
                name=name,
            ),
            "success",
        )
    else:
        flash(_("“%(name)s” isn't in the words any more.", name=name), "info")
    return _back(story_id)


@bp.route("/stories/<int:story_id>/covers", methods=["POST"])
@login_required
def cover_view(story_id: int) -> Response:
    """Cover the picture for a stretch of a video story (blanked in the copy others see)."""
    story = _curators_story(story_id)
    form = CoverForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return _back(story_id)
    try:
        cover_picture(story, form.start.data or "", form.end.data or "", current_user)
    except ConsentError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story_id)
    db.session.commit()
    flash(_("Covered. The video is being made again with that part blanked."), "success")
    return _back(story_id)


@bp.route("/stories/<int:story_id>/people/<int:index>/removed", methods=["POST"])
@login_required
def person_removed_view(story_id: int, index: int) -> Response:
    """A curator records that this person is out of the story; then the hold lifts."""
    story = _curators_story(story_id)
    name = _name(story, index)
    if name is None:
        flash(str(NOBODY), "error")
        return _back(story_id)
    try:
        record_removed(story, current_user, index, PersonRemovedForm().chosen_picture())
    except ConsentError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story_id)
    db.session.commit()
    flash(_("Done. %(name)s has been removed from the story.", name=name), "success")
    return _back(story_id)


@bp.route("/consent/people")
@roles_required(*STORY_STAFF)
def people_to_remove_view() -> str:
    """Everyone to remove before their story may be shared, across the archive."""
    return render_template("people/waiting.html", waiting=people_waiting())
