"""Story views: thin; upload rules live in storyhub.uploads, consent rules in consent/."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from consent import (
    can_manage,
    can_redact,
    can_tag_themes,
    can_view,
    copies,
    may_fetch_media,
    may_read_words,
    viewable_stories,
    words_need_checking,
)
from consent.describe import sharing, teller_name
from consent.services import record_view
from storyhub import audit, jobs
from storyhub.auth.decorators import roles_required
from storyhub.extensions import N_, db
from storyhub.jobs.messages import job_text
from storyhub.lookup import story_or_404
from storyhub.models import Job, MediaRole, Role, Story, StoryState
from storyhub.processing import PROCESS_STORY
from storyhub.storage import get_storage
from storyhub.stories import bp
from storyhub.stories.forms import StoryListForm, UploadForm
from storyhub.themes.services import subthemes_by_kind
from storyhub.uploads import UploadRejected, accepts_uploads, receive_upload

UPLOADER_ROLES = (Role.STORYTELLER, Role.CURATOR, Role.ADMIN)


def wants_json() -> bool:
    """The upload page's script asks for JSON so it can show errors without reloading."""
    return request.headers.get("X-Requested-With") == "storyhub-upload"


@bp.route("/stories/new", methods=["GET", "POST"])
@accepts_uploads
@roles_required(*UPLOADER_ROLES)
def upload() -> Any:
    """Upload a story: the file, a title, the language and who is telling it."""
    form = UploadForm()
    form.offer_storytellers(current_user)
    error: UploadRejected | None = None
    if form.validate_on_submit():
        try:
            story = receive_upload(
                form.media.data,
                form.details(),
                uploader=current_user,
                storyteller=form.chosen_storyteller(current_user),
            )
        except UploadRejected as rejected:
            error = rejected
        else:
            flash(_("Thank you. Your story is uploaded and we are preparing it."), "success")
            target = url_for("stories.show", story_id=story.id)
            if wants_json():
                return jsonify(ok=True, url=target)
            return redirect(target)
    if wants_json():
        # The same shape as every other JSON error: {"error": {"code", "message"}}.
        errors = {name: list(messages) for name, messages in form.errors.items()}
        payload = {"code": error.code, "message": error.message} if error else None
        return jsonify(ok=False, error=payload, errors=errors), 400
    status = 400 if form.is_submitted() else 200
    message = error.message if error else None
    return render_template("stories/upload.html", form=form, error=message), status


# What a story's card shows (its picture, its sharing), read for the whole list at once: one query
# each rather than two per card (a list of 500 made 1,000 queries, 4 s under load).
CARD_LOADS = (selectinload(Story.media), selectinload(Story.consent))
# The most stories one page of the list shows (the newest); search finds the others.
STORY_LIST_LIMIT = 500


@bp.route("/stories/mine")
@roles_required(Role.STORYTELLER)
def mine() -> str:
    """The storyteller's own stories."""
    stories = db.session.scalars(
        select(Story)
        .where(Story.storyteller_id == current_user.id, viewable_stories(current_user))
        .order_by(Story.created_at.desc())
        .options(*CARD_LOADS)
    ).all()
    return render_template("stories/mine.html", stories=stories)


@bp.route("/stories")
@login_required
def index() -> str:
    """Every story this person may see (curators: all of them)."""
    state = StoryListForm(request.args).chosen_state()
    query = (
        select(Story)
        .where(viewable_stories(current_user))
        .order_by(Story.created_at.desc())
        .options(*CARD_LOADS)
    )
    if state is not None:
        query = query.where(Story.state == state)
    stories = db.session.scalars(query.limit(STORY_LIST_LIMIT + 1)).all()
    more = len(stories) > STORY_LIST_LIMIT  # said on the page, so nobody thinks that is all
    return render_template(
        "stories/index.html",
        stories=stories[:STORY_LIST_LIMIT],
        more=more,
        limit=STORY_LIST_LIMIT,
        state=state.value if state else "",
        states=StoryState,
    )


@bp.route("/stories/<int:story_id>")
@login_required
def show(story_id: int) -> str:
    """The story page: player, details and processing progress."""
    story = story_or_404(story_id)
    is_teller = story.storyteller_id == current_user.id
    can_tag = can_tag_themes(current_user, story)
    return render_template(
        "stories/show.html",
        story=story,
        job=story.latest_job,
        can_manage=can_manage(current_user, story),
        # Words the machine could not follow: teller and staff only, with a notice (consent).
        words_shown=may_read_words(current_user, story),
        words_need_checking=words_need_checking(story),
        can_redact=can_redact(current_user, story),
        can_tag=can_tag,
        theme_choices=subthemes_by_kind() if can_tag else [],
        is_teller=is_teller,
        sharing=sharing(story, viewer_is_teller=is_teller),
        teller_name=teller_name(story, current_user),
        has_thumbnail=story.media_file(MediaRole.THUMBNAIL) is not None,
        # None while a web copy without the words removed since is being made.
        web_copy=None if copies.web_copy_refusal(story) else story.media_file(MediaRole.RENDITION),
    )


@bp.route("/stories/<int:story_id>/played", methods=["POST"])
@login_required
def played(story_id: int) -> tuple[str, int]:
    """Count a view when the player really starts (a POST with the form token, sent by the page's
    script): opening the page records nothing, so a link elsewhere can't forge a use."""
    story = story_or_404(story_id)
    record_view(story, current_user)
    db.session.commit()
    return "", 204


@bp.route("/stories/<int:story_id>/media/<role>")
@login_required
def media(story_id: int, role: str) -> Response:
    """A story's media bytes, only for people who may see it; supports range requests."""
    story = story_or_404(story_id)
    if role not in {r.value for r in MediaRole} or not may_fetch_media(current_user, story, role):
        abort(404)
    if role == MediaRole.RENDITION and copies.web_copy_refusal(story) is not None:
        abort(404)  # it may still hold words removed since; the story page says it is coming
    stored = story.media_file(MediaRole(role))
    if stored is None:
        abort(404)
    response = send_file(
        get_storage().local_path(stored.storage_key),
        mimetype=stored.content_type,
        conditional=True,  # answers Range requests with 206, so the player can seek
        etag=True,
        max_age=0,
    )
    # Revalidate every time: a withdrawn story must stop playing, even from a browser cache.
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: HTTP header
    return response


@bp.route("/stories/<int:story_id>/retry", methods=["POST"])
@login_required
def retry(story_id: int) -> Response:
    """Process a failed story again."""
    story = story_or_404(story_id, manage=True)
    if story.state != StoryState.FAILED:
        flash(_("This story doesn't need trying again."), "info")
    else:
        story.state = StoryState.UPLOADED
        story.failure_message = None
        jobs.submit(PROCESS_STORY, story, message=N_("Waiting to try again"))
        audit.record("story.retried", actor=current_user, object_type="story", object_id=story.id)
        db.session.commit()
        flash(_("We are trying again."), "info")
    return redirect(url_for("stories.show", story_id=story.id))


def job_progress(job: Job) -> dict[str, Any]:
    """What a progress bar needs to know about a job."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "progress": round(job.progress, 3),
        "message": job_text(job.message),
        "error": job_text(job.error_message, job.error_code) or None,
        "finished": job.finished,
        "story_id": job.story_id,
    }


def job_for_viewer(job_id: int) -> Job:
    """A job whose story this person may see (archive-wide jobs: administrators); 404 otherwise."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if job.story is None:  # archive-wide work (rebuilding the index) or a session's export
        if not jobs.may_follow(current_user, job):
            abort(404)
    elif not can_view(current_user, job.story):
        abort(404)
    return job


@bp.route("/jobs/<int:job_id>")
@login_required
def job_status(job_id: int) -> Response:
    """A job's progress as JSON, polled by the story page's progress bar."""
    response = jsonify(job_progress(job_for_viewer(job_id)))
    response.headers["Cache-Control"] = "no-store"  # untranslated: HTTP header
    return response
