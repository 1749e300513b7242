"""Transcript views: captions, corrections, splits and joins, speakers, redaction (and its
audited undo), approval.

Who may see the words is asked of consent/ (through story_or_404); who may change them too.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from consent import can_redact, copies, may_read_words
from storyhub import jobs
from storyhub.extensions import N_, db
from storyhub.forms import first_error
from storyhub.lookup import passage_or_404, story_or_404
from storyhub.models import Story
from storyhub.processing import RENDER_STORY
from storyhub.stories import bp
from storyhub.stories.forms import PassageForm, RedactForm, UnredactForm
from storyhub.transcripts import (
    TranscriptError,
    approve,
    correct_passage,
    merge_with_next,
    redact_places,
    undo_redaction,
    webvtt,
)
from storyhub.words import find_phrase


@bp.route("/stories/<int:story_id>/captions.vtt")
@login_required
def captions(story_id: int) -> Response:
    """The story's captions (WebVTT), made from the current words, for those who may see it."""
    story = story_or_404(story_id)
    if not may_read_words(current_user, story):
        abort(404)  # the machine's words wait for a person's check (consent.may_read_words)
    response = Response(webvtt(story), mimetype="text/vtt")
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: HTTP header
    return response


def _back(story: Story, passage_id: int | None = None) -> WerkzeugResponse:
    anchor = f"passage-{passage_id}" if passage_id else "transcript"
    return redirect(url_for("stories.show", story_id=story.id, _anchor=anchor))


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>", methods=["POST"])
@login_required
def edit_passage_view(story_id: int, passage_id: int) -> WerkzeugResponse:
    """Correct a passage's words and speaker; an empty line in the text splits it there."""
    story = story_or_404(story_id, manage=True)
    passage = passage_or_404(story, passage_id)
    form = PassageForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return _back(story, passage_id)
    try:
        notes = correct_passage(passage, form.text.data or "", form.speaker.data, current_user)
    except TranscriptError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story, passage_id)
    db.session.commit()
    flash(_("Saved. The captions now follow your corrections."), "success")
    for note in notes:
        flash(note, "info")
    return _back(story, passage_id)


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>/join", methods=["POST"])
@login_required
def join_passage_view(story_id: int, passage_id: int) -> WerkzeugResponse:
    """Join a passage with the next one."""
    story = story_or_404(story_id, manage=True)
    try:
        merge_with_next(passage_or_404(story, passage_id), current_user)
    except TranscriptError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story, passage_id)
    db.session.commit()
    flash(_("The passages are joined."), "success")
    return _back(story, passage_id)


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>/redact", methods=["POST"])
@login_required
def redact_view(story_id: int, passage_id: int) -> WerkzeugResponse:
    """Curators remove a name or a place: hidden in words and captions, silent in the media."""
    story = story_or_404(story_id, manage=True)
    if not can_redact(current_user, story):
        abort(403)
    passage = passage_or_404(story, passage_id)
    form = RedactForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return _back(story, passage_id)
    phrase = form.phrase.data or ""
    places = find_phrase(passage, phrase)
    if not places:
        flash(
            _("“%(words)s” isn't in this passage. Type it as it appears.", words=phrase.strip()),
            "error",
        )
        return _back(story, passage_id)
    try:
        redact_places(passage, places, current_user)
    except TranscriptError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story, passage_id)
    copies.story_changed(story)  # copies made before it (exports, packs, clips) are deleted
    # The web copy is made again with the removed words silenced.
    jobs.submit(RENDER_STORY, story, message=N_("Silencing the removed words"))
    db.session.commit()
    flash(
        _("Removed. It is hidden in the words and captions, and will be silent in the video."),
        "success",
    )
    return _back(story, passage_id)


@bp.route("/stories/<int:story_id>/passages/<int:passage_id>/unredact", methods=["POST"])
@login_required
def unredact_view(story_id: int, passage_id: int) -> WerkzeugResponse:
    """A curator brings back removed words, saying why (audited); the web copy is made again."""
    story = story_or_404(story_id, manage=True)
    if not can_redact(current_user, story):
        abort(403)
    passage_or_404(story, passage_id)
    form = UnredactForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return _back(story, passage_id)
    try:
        undo_redaction(story, form.redaction.data, current_user, form.reason.data or "")
    except TranscriptError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return _back(story, passage_id)
    jobs.submit(RENDER_STORY, story, message=N_("Making the video again with the words back"))
    db.session.commit()
    flash(
        _("The words are back in the transcript and captions, and will be heard again."), "success"
    )
    return _back(story, passage_id)


@bp.route("/stories/<int:story_id>/transcript/approve", methods=["POST"])
@login_required
def approve_view(story_id: int) -> WerkzeugResponse:
    """The teller (or a curator with them) has checked the words."""
    story = story_or_404(story_id, manage=True)
    try:
        approve(story, current_user)
    except TranscriptError as problem:
        flash(str(problem), "error")
        return _back(story)
    db.session.commit()
    flash(_("Thank you for checking the words."), "success")
    return _back(story)
