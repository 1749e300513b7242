"""API v1 routes: thin views; the schemas (schemas.py) check requests and shape answers.

Authentication is only by bearer token (never the browser's cookie), so the API needs no CSRF
token and a page elsewhere cannot act through a signed-in browser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, jsonify, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from consent import (
    CLIP_ROLES,
    can_clip,
    can_manage,
    can_view,
    clip_refusal,
    may_see_dashboard,
    viewable_stories,
)
from consent.models import Audience, ConsentStatus, Naming, RecordedFor
from consent.services import (
    Choices,
    ConsentError,
    change,
    default_review_months,
    release,
    renew,
    withdraw,
)
from storyhub import (
    MAX_ID,  # larger ids are not found, never a 500
    jobs,
)
from storyhub.api import bp, openapi_document
from storyhub.api import schemas as s
from storyhub.api.errors import MEANINGS, ApiError, ApiParser, error_response
from storyhub.auth.services import user_for_api_token
from storyhub.dashboard import services as dashboard
from storyhub.dashboard.slices import BadSlice, Slice
from storyhub.extensions import csrf, db
from storyhub.finder.services import (
    BadSearch,
    NotUnderstood,
    passage_for_similar,
    run_search,
    run_similar,
)
from storyhub.models import Job, Role, Story, User
from storyhub.storage import get_storage
from storyhub.stories.forms import UploadForm
from storyhub.training import clip_files
from storyhub.training import exports as training_exports
from storyhub.training import services as training
from storyhub.training.models import Clip, Lesson, LessonExport, LessonItem
from storyhub.training.services import TrainingError
from storyhub.uploads import UploadRejected, accepts_uploads, receive_upload

csrf.exempt(bp)
bp.ARGUMENTS_PARSER = ApiParser()

PUBLIC_ENDPOINTS = {"api.openapi"}
LOCATION = "Location"  # untranslated: an HTTP header
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def errors(*statuses: int) -> Decorator:
    """Document the errors an operation may answer (each in the one Error shape)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            view = bp.alt_response(status, schema=s.Error, description=MEANINGS[status])(view)
        return view

    return decorate


def body(schema: type[s.Schema]) -> Decorator:
    """Read a JSON body with ``schema``; like every body, it may be too large to read (413)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        return errors(413)(bp.arguments(schema)(view))

    return decorate


def before_body(check: Callable[..., object]) -> Decorator:
    """Run ``check`` (with the path's ids) before the body is read: a stranger or a role that
    can't use this gets "not found" or "forbidden", never a remark on what they sent."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **ids: Any) -> Any:
            check(**ids)
            return view(*args, **ids)

        return checked

    return decorate


def binary(description: str, *media_types: str) -> Decorator:
    """Document a file answer (sent as it is, not through a schema)."""
    content = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in media_types}
    return bp.doc(responses={"200": {"description": description, "content": content}})


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> tuple[Response, int]:
    return error_response(err.status, err.code, err.message, **err.extra)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[Response, int]:
    code = (err.name or "error").lower().replace(" ", "_")
    message = err.description
    if not message or message == type(err).description:
        # Werkzeug's stock wording is English only: plain words in the asked-for language.
        message = gettext("That request didn't work. Please check it and try again.")
    return error_response(err.code or 500, code, message)


@bp.errorhandler(TrainingError)
def _training_error(err: TrainingError) -> tuple[Response, int]:
    db.session.rollback()
    return error_response(400, "invalid", str(err))


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_api_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise ApiError(
            401, "unauthorised", gettext("A valid API token is needed (Authorization: Bearer).")
        )
    g.api_user = user


def _user() -> User:
    user: User = g.api_user
    return user


def _viewable_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id) if 0 < story_id <= MAX_ID else None
    if story is None or not can_view(_user(), story):
        raise ApiError(404, "not_found", gettext("No story with that id is available to you."))
    return story


@bp.route("/openapi.json")
@bp.doc(security=[])
@bp.doc(responses={"200": {"description": "The OpenAPI document"}})  # untranslated: developer docs
def openapi() -> Response:
    """This document"""
    return jsonify(openapi_document(current_app))


# --- stories and jobs --------------------------------------------------------------------------


@bp.route("/stories", methods=["GET"])
@bp.arguments(s.StoryPaging, location="query")
@bp.response(200, s.StoryPage, description="A page of stories")  # untranslated: developer docs
@errors(401)
def list_stories(paging: dict[str, int]) -> dict[str, Any]:
    """Stories you may see, newest first"""
    stories = db.session.scalars(
        select(Story)
        .where(viewable_stories(_user()))
        .order_by(Story.created_at.desc(), Story.id.desc())
        .limit(paging["limit"])
        .offset(paging["offset"])
    ).all()
    return {"stories": stories, **paging}


@bp.route("/stories", methods=["POST"])
@bp.doc(
    requestBody={"required": True, "content": {"multipart/form-data": {"schema": s.StoryUpload}}}
)
@bp.response(201, s.StoryOut, description="Stored and queued")  # untranslated: developer docs
@errors(400, 401, 403, 413, 422)
@accepts_uploads
def create_story() -> tuple[Story, int, dict[str, str]]:
    """Upload a story

    The upload page's own form reads it (the same checks and words as the page).
    """
    user = _user()
    if user.role not in (Role.STORYTELLER, Role.CURATOR, Role.ADMIN):
        raise ApiError(403, "forbidden", gettext("Your role can't upload stories."))
    form = UploadForm(meta={"csrf": False})
    form.offer_storytellers(user)
    if not form.validate_on_submit():
        problems = {name: list(messages) for name, messages in form.errors.items()}
        raise ApiError(
            400, "invalid", gettext("Some details are missing or wrong."), fields=problems
        )
    try:
        story = receive_upload(
            form.media.data,
            form.details(),
            uploader=user,
            storyteller=form.chosen_storyteller(user),
        )
    except UploadRejected as rejected:
        raise ApiError(422, rejected.code, rejected.message) from None
    return story, 201, {LOCATION: url_for("api.get_story", story_id=story.id)}


@bp.route("/stories/<int:story_id>")
@bp.response(200, s.StoryOut, description="The story")  # untranslated: developer docs
@errors(401, 404)
def get_story(story_id: int) -> Story:
    """One story"""
    return _viewable_story(story_id)


@bp.route("/jobs/<int:job_id>")
@bp.response(200, s.Job, description="The job")  # untranslated: developer docs
@errors(401, 404)
def get_job(job_id: int) -> Job:
    """A background job's progress"""
    job = db.session.get(Job, job_id)
    user = _user()
    allowed = job is not None and (
        can_view(user, job.story) if job.story is not None else jobs.may_follow(user, job)
    )
    if job is None or not allowed:
        raise ApiError(404, "not_found", gettext("No job with that id is available to you."))
    return job


# --- consent -----------------------------------------------------------------------------------


def _managed_story(story_id: int) -> Story:
    story = _viewable_story(story_id)
    if not can_manage(_user(), story):
        raise ApiError(
            403, "forbidden", gettext("Only the storyteller and curators can change consent.")
        )
    return story


def _choices(given: dict[str, Any]) -> Choices:
    """The schema has checked each value; consent checks them together."""
    try:
        choices = Choices(
            audiences={Audience(a) for a in given.get("audiences", [])},
            clips_allowed=given.get("clips_allowed", False),
            naming=Naming(given.get("naming", Naming.FIRST.value)),
            review_months=given.get("review_months", default_review_months()),
            recorded_for=RecordedFor(given.get("recorded_for", RecordedFor.SELF.value)),
            proxy_name=given.get("proxy_name", ""),
            proxy_relationship=given.get("proxy_relationship", ""),
            best_interests_note=given.get("best_interests_note", ""),
            adult_on=given.get("adult_on"),
            third_parties=given.get("third_parties", []),
            notes=given.get("notes", ""),
        )
        choices.check()
    except (ValueError, TypeError, ConsentError) as problem:
        raise ApiError(400, "invalid", str(problem)) from None
    return choices


@bp.route("/stories/<int:story_id>/consent", methods=["GET"])
@bp.response(
    200,
    s.ConsentWithHistory,
    description="Current consent and history",  # untranslated: developer docs
)
@errors(401, 403, 404)
def get_consent(story_id: int) -> Story:
    """The story's current consent and its history (teller and staff)"""
    return _managed_story(story_id)


@bp.route("/stories/<int:story_id>/consent", methods=["POST"])
@before_body(lambda story_id: _managed_story(story_id))
@body(s.ConsentChoices)
@bp.response(200, s.ConsentState, description="The new consent")  # untranslated: developer docs
@errors(400, 401, 403, 404, 409)
def set_consent(given: dict[str, Any], story_id: int) -> Story:
    """Release the story (needs watched: true) or change its choices"""
    story = _managed_story(story_id)
    choices = _choices(given)
    current = story.consent
    try:
        if current is not None and current.status == ConsentStatus.ACTIVE and current.released:
            change(story, _user(), choices)
        else:
            release(story, _user(), choices, watched=given.get("watched") is True)
    except ConsentError as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return story


@bp.route("/stories/<int:story_id>/consent/renew", methods=["POST"])
@before_body(lambda story_id: _managed_story(story_id))
@body(s.ConsentRenewal)
@bp.response(200, s.ConsentState, description="The new consent")  # untranslated: developer docs
@errors(400, 401, 403, 404, 409)
def renew_consent(given: dict[str, Any], story_id: int) -> Story:
    """Keep sharing with the same choices for more months (default: the configured period)"""
    story = _managed_story(story_id)
    try:
        renew(story, _user(), given.get("months", default_review_months()))
    except (ConsentError, ValueError, TypeError) as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return story


@bp.route("/stories/<int:story_id>/consent/withdraw", methods=["POST"])
@before_body(lambda story_id: _managed_story(story_id))
@body(s.ConsentWithdrawal)
@bp.response(200, s.ConsentState, description="The new consent")  # untranslated: developer docs
@errors(400, 401, 403, 404, 409)
def withdraw_consent(given: dict[str, Any], story_id: int) -> Story:
    """Stop sharing the story everywhere, at once ("reason" needed when acting for the teller)"""
    story = _managed_story(story_id)
    try:
        withdraw(story, _user(), given.get("reason", ""))
    except ConsentError as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return story


# --- search and the outcomes dashboard ----------------------------------------------------------
# Their filters are the site's own forms, checked by the finder and the dashboard with the same
# rules and words as their pages: the schemas only describe them.


@bp.route("/search")
@bp.doc(parameters=[{"in": "query", "schema": s.SearchFilters}])
@bp.response(200, s.SearchResults, description="A page")  # untranslated: developer docs
@errors(400, 401, 503)
def search() -> Any:
    """Find passages in the stories you may see, grouped by story

    The same search as the site's page. By default (mode=hybrid) passages are found by meaning
    and by words, in one ranking; mode=words finds only passages holding every word (by stem),
    mode=meaning only by meaning. In every mode "quoted words" must match as a phrase and
    word* must match a prefix. Each passage says why it matched (matched_by) and, when found by
    meaning, how close it is (similarity). Filters repeat for several values (OR within a filter,
    AND across).
    """
    try:
        page = run_search(_user(), request.args)
    except BadSearch as err:
        raise ApiError(400, "bad_search", str(err)) from err
    if page.unavailable:
        raise ApiError(503, "search_unavailable", page.unavailable)
    return page


@bp.route("/passages/<int:passage_id>/similar")
@bp.doc(parameters=[{"in": "query", "schema": s.SimilarFilters}])
@bp.response(
    200,
    s.SearchResults,
    description="A page of passages, closest in meaning first",  # untranslated: developer docs
)
@errors(400, 401, 404, 409, 503)
def similar_passages(passage_id: int) -> Any:
    """Passages like this one in meaning, in the stories you may see ("more like this")

    The passage must be in a story you may see and that is in search (404 otherwise, as for a
    passage that does not exist). The answer has the search's shape, without the passage
    itself; query is empty and every passage has matched_by "meaning" and its similarity to
    this passage. Passages in a language the model does not understand (only English for now)
    have none: 409 no_meaning. The search's filters and page apply.
    """
    passage = passage_for_similar(_user(), passage_id)
    if passage is None:
        raise ApiError(404, "not_found", gettext("No passage with that id is available to you."))
    try:
        page = run_similar(_user(), passage, request.args)
    except BadSearch as err:
        raise ApiError(400, "bad_search", str(err)) from err
    except NotUnderstood as err:
        raise ApiError(409, "no_meaning", str(err)) from err
    if page.unavailable:
        raise ApiError(503, "search_unavailable", page.unavailable)
    return page


def _dashboard_slice(counting: bool = False) -> Slice:
    if not may_see_dashboard(_user()):
        raise ApiError(403, "forbidden", gettext("Your role can't see the outcomes dashboard."))
    try:
        return Slice.parse(request.args, dashboard.subtheme_kinds(), counting)
    except BadSlice as err:
        raise ApiError(400, "bad_filter", str(err)) from err


@bp.route("/outcomes")
@bp.doc(parameters=[{"in": "query", "schema": s.OutcomeFilters}])
@bp.response(200, s.Outcomes, description="The tables")  # untranslated: developer docs
@errors(400, 401, 403)
def outcomes() -> Any:
    """Counts of confirmed outcome themes (the dashboard's tables)

    Counts only stories whose tellers chose anonymous statistics. A count under the threshold
    (and any count that would give one away) has null numbers and the text 'fewer than N'. Each
    cell's filters open its passages at /outcomes/passages. Counts are given for every year or
    one whole year (year=2025, or from=2025-01&to=2025-12), narrowed one way at a time (one of
    teller, setting, language, valence, year; kind or subtheme may be added): anything else is
    refused with 400 bad_filter. Which counts are hidden is decided once for every answer this
    endpoint, the site and its CSV can give, so that no hidden count can be worked out by adding
    or subtracting shown ones, across tables, filters and years; the same cell has the same
    answer everywhere.
    """
    try:
        return dashboard.dashboard(_dashboard_slice(counting=True))
    except BadSlice as err:
        raise ApiError(400, "bad_filter", str(err)) from err


@bp.route("/outcomes/passages")
@before_body(_dashboard_slice)
@bp.doc(parameters=[{"in": "query", "schema": s.OutcomeFilters}])
@bp.arguments(s.BehindPaging, location="query")
@bp.response(
    200,
    s.OutcomePassages,
    description="A page of passages",  # untranslated: developer docs
)
@errors(400, 401, 403)
def outcome_passages(paging: dict[str, int]) -> Any:
    """The passages behind a count that you may see"""
    return dashboard.passages_behind(_user(), _dashboard_slice(), paging["page"])


# --- clips and training sessions ---------------------------------------------------------------
# Thin views over storyhub.training.services: the rules (and consent's) live there. Anything not
# the caller's, or not visible to them, is 404 (its existence is never revealed); roles that
# don't train are refused with 403 before anything is looked up.


def _trainer() -> User:
    user = _user()
    if user.role not in CLIP_ROLES:
        raise ApiError(
            403,
            "forbidden",
            gettext("Only trainers, curators and administrators use clips and sessions."),
        )
    return user


def _clip(clip_id: int, *, own: bool = False) -> Clip:
    user = _trainer()
    clip = training.clip_for(user, clip_id) if 0 < clip_id <= MAX_ID else None
    if clip is None or (own and clip.owner_id != user.id):
        raise ApiError(404, "not_found", gettext("No clip with that id is available to you."))
    return clip


def _session(session_id: int, *, edit: bool = False) -> Lesson:
    user = _trainer()
    found = training.session_for(user, session_id, edit=edit) if 0 < session_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, "not_found", gettext("No session with that id is available to you."))
    return found


def _item(session: Lesson, item_id: int) -> LessonItem:
    item = training.item_of(session, item_id)
    if item is None:
        raise ApiError(404, "not_found", gettext("No item with that id is in this session."))
    return item


@bp.route("/clips", methods=["GET"])
@bp.response(200, s.ClipList, description="Your clips")  # untranslated: developer docs
@errors(401, 403)
def list_clips() -> dict[str, Any]:
    """Your clips, newest first, each saying whether it can be used now"""
    return {"clips": training.clips_of(_trainer())}


@bp.route("/clips", methods=["POST"])
@before_body(_trainer)
@body(s.ClipCreate)
@bp.response(201, s.ClipOut, description="The new clip")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def create_clip(given: dict[str, Any]) -> tuple[Clip, int, dict[str, str]]:
    """Cut a clip from a story, from one word number to another

    Word numbers are the `index` values of `GET /stories/{story_id}/words`: the clip runs from
    the start of `start_word` to the end of `end_word` (at most 5 minutes). Times in seconds are
    not accepted. A story you can't see is 404; one whose storyteller does not allow clips (or no
    longer shares it for training) is 400 with the reason.
    """
    user = _trainer()
    story = _viewable_story(given["story_id"])
    clip = training.create_clip(
        user, story, given["start_word"], given["end_word"], given["title"], given.get("note", "")
    )
    db.session.commit()
    return clip, 201, {LOCATION: url_for("api.get_clip", clip_id=clip.id)}


@bp.route("/stories/<int:story_id>/words")
@bp.response(200, s.StoryWords, description="The words")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def story_words(story_id: int) -> Story:
    """A story's numbered words, to choose where a clip starts and ends

    A run of words a curator removed is one word, "[name removed]", with `redacted` true. 400
    (with the reason) when the story's consent does not allow clips.
    """
    user = _trainer()
    story = _viewable_story(story_id)
    refusal = clip_refusal(story)
    if refusal is not None or not can_clip(user, story):
        raise ApiError(400, "invalid", refusal or gettext("You can't make clips from this story."))
    return story


@bp.route("/clips/<int:clip_id>", methods=["GET"])
@bp.response(200, s.ClipOut, description="The clip")  # untranslated: developer docs
@errors(401, 403, 404)
def get_clip(clip_id: int) -> Clip:
    """One clip: yours, or one in a session shared with you"""
    return _clip(clip_id)


@bp.route("/clips/<int:clip_id>", methods=["PATCH"])
@before_body(lambda clip_id: _clip(clip_id, own=True))
@body(s.ClipUpdate)
@bp.response(200, s.ClipOut, description="The changed clip")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def update_clip(given: dict[str, Any], clip_id: int) -> Clip:
    """Change your clip's words, title or note (fields left out stay)"""
    clip = _clip(clip_id, own=True)
    start_word, end_word = given.get("start_word"), given.get("end_word")
    if start_word is None or end_word is None:
        words = training.story_words(clip.story)
        if start_word is None:
            start_word = training.word_index_at(words, clip.start, last=False)
        if end_word is None:
            end_word = training.word_index_at(words, clip.end, last=True)
    title, note = given.get("title", clip.title), given.get("note", clip.note)
    training.update_clip(_user(), clip, start_word, end_word, title, note)
    db.session.commit()
    return clip


@bp.route("/clips/<int:clip_id>", methods=["DELETE"])
@bp.response(204, description="Done")  # untranslated: developer docs
@errors(401, 403, 404)
def delete_clip(clip_id: int) -> None:
    """Delete your clip; it leaves every session that held it"""
    clip = _clip(clip_id, own=True)
    file_key = clip.file_key
    training.delete_clip(_user(), clip)
    db.session.commit()
    clip_files.forget_file(file_key)


@bp.route("/clips/<int:clip_id>/file", methods=["POST"])
@bp.response(200, s.ClipFile, description="The file is ready")  # untranslated: developer docs
@bp.alt_response(
    202,
    schema=s.ClipFileCutting,
    description="Being cut",  # untranslated: developer docs
)
@errors(400, 401, 403, 404)
def request_clip_file(clip_id: int) -> Any:
    """Ask for your clip as a file, cut exactly on its words

    202 with the job while it is cut (follow it with `GET /jobs/{job_id}`); 200 when an
    up-to-date file is ready. 400 (with the reason) when the clip can't be used now.
    """
    clip = _clip(clip_id, own=True)
    job = clip_files.request_file(_user(), clip)
    db.session.commit()
    if job is None:
        return clip
    cutting = s.ClipFileCutting().dump({**s.ClipFile().dump(clip), "job": job})
    response = jsonify(cutting)
    response.status_code = 202
    response.headers[LOCATION] = url_for("api.get_job", job_id=job.id)
    return response


@bp.route("/clips/<int:clip_id>/file", methods=["GET"])
@binary("The clip", "video/mp4", "audio/mp4")  # untranslated: developer docs
@errors(401, 403, 404, 410)
def download_clip_file(clip_id: int) -> WerkzeugResponse:
    """Your clip as a file (MP4, or M4A for a sound-only story)

    410 (with the reason) once the clip can't be used; 404 until a file has been made.
    """
    clip = _clip(clip_id, own=True)
    standing = training.clip_standing(clip, _user())
    if not standing.usable:
        raise ApiError(410, "gone", standing.reason or gettext("This clip can't be used now."))
    if not clip_files.file_ready(clip):
        raise ApiError(
            404, "not_found", gettext("This clip has no file yet: POST to this address first.")
        )
    return clip_files.send_clip_file(clip)


@bp.route("/sessions", methods=["GET"])
@bp.response(200, s.SessionLists, description="Sessions")  # untranslated: developer docs
@errors(401, 403)
def list_sessions() -> dict[str, Any]:
    """Your sessions and those shared with you, most recently changed first"""
    owned, shared = training.sessions_of(_trainer())
    return {"owned": owned, "shared": shared}


@bp.route("/sessions", methods=["POST"])
@before_body(_trainer)
@body(s.SessionDetails)
@bp.response(201, s.SessionOut, description="The new session")  # untranslated: developer docs
@errors(400, 401, 403)
def create_session(given: dict[str, Any]) -> tuple[Lesson, int, dict[str, str]]:
    """Make a new, empty session"""
    user = _trainer()
    session = training.create_session(user, given.get("title", ""), given.get("summary", ""))
    db.session.commit()
    return session, 201, {LOCATION: url_for("api.get_session", session_id=session.id)}


@bp.route("/sessions/<int:session_id>", methods=["GET"])
@bp.response(200, s.SessionOut, description="The session")  # untranslated: developer docs
@errors(401, 403, 404)
def get_session(session_id: int) -> Lesson:
    """A session with its items in order; each clip says whether it can be used now"""
    return _session(session_id)


@bp.route("/sessions/<int:session_id>", methods=["PATCH"])
@before_body(lambda session_id: _session(session_id, edit=True))
@body(s.SessionDetails)
@bp.response(200, s.SessionOut, description="The session")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def update_session(given: dict[str, Any], session_id: int) -> Lesson:
    """Change your session's title or summary (fields left out stay)"""
    session = _session(session_id, edit=True)
    training.update_session(
        session, given.get("title", session.title), given.get("summary", session.summary)
    )
    db.session.commit()
    return session


@bp.route("/sessions/<int:session_id>", methods=["DELETE"])
@bp.response(204, description="Done")  # untranslated: developer docs
@errors(401, 403, 404)
def delete_session(session_id: int) -> None:
    """Delete your session and its exports' files"""
    session = _session(session_id, edit=True)
    for export in session.exports:
        for key in export.files.values():
            get_storage().delete(key)
    training.delete_session(_user(), session)
    db.session.commit()


@bp.route("/sessions/<int:session_id>/items", methods=["POST"])
@before_body(lambda session_id: _session(session_id, edit=True))
@body(s.SessionItemCreate)
@bp.response(201, s.LessonItemOut, description="The new item")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def add_session_item(given: dict[str, Any], session_id: int) -> tuple[LessonItem, int]:
    """Add a heading, a discussion prompt or a clip at the end"""
    session = _session(session_id, edit=True)
    clip_id = given.get("clip_id")
    if clip_id is not None and not 0 < clip_id <= MAX_ID:
        raise ApiError(400, "invalid", gettext("Please choose one of your clips."))
    item = training.add_item(
        _user(),
        session,
        given["kind"],
        text=given.get("text", ""),
        clip_id=clip_id,
        notes=given.get("notes", ""),
    )
    db.session.commit()
    return item, 201


@bp.route("/sessions/<int:session_id>/items/<int:item_id>", methods=["PATCH"])
@before_body(lambda session_id, item_id: _item(_session(session_id, edit=True), item_id))
@body(s.SessionItemUpdate)
@bp.response(200, s.LessonItemOut, description="The item")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def update_session_item(given: dict[str, Any], session_id: int, item_id: int) -> LessonItem:
    """Change an item's text (headings, prompts) or notes"""
    session = _session(session_id, edit=True)
    item = _item(session, item_id)
    training.update_item(item, given.get("text", item.text), given.get("notes", item.notes))
    db.session.commit()
    return item


@bp.route("/sessions/<int:session_id>/items/<int:item_id>", methods=["DELETE"])
@bp.response(204, description="Done")  # untranslated: developer docs
@errors(401, 403, 404)
def remove_session_item(session_id: int, item_id: int) -> None:
    """Take an item out of the session"""
    session = _session(session_id, edit=True)
    training.remove_item(session, _item(session, item_id))
    db.session.commit()


@bp.route("/sessions/<int:session_id>/order", methods=["PUT"])
@before_body(lambda session_id: _session(session_id, edit=True))
@body(s.SessionOrder)
@bp.response(
    200,
    s.SessionOut,
    description="The session in its new order",  # untranslated: developer docs
)
@errors(400, 401, 403, 404)
def reorder_session(given: dict[str, Any], session_id: int) -> Lesson:
    """Put the items in a new order

    `items` must name every item of the session exactly once; an order made before the session
    last changed is refused (400).
    """
    session = _session(session_id, edit=True)
    training.reorder(session, given["items"])
    db.session.commit()
    return session


@bp.route("/sessions/<int:session_id>/duplicate", methods=["POST"])
@bp.response(201, s.SessionOut, description="Your copy")  # untranslated: developer docs
@errors(401, 403, 404)
def duplicate_session(session_id: int) -> tuple[Lesson, int, dict[str, str]]:
    """Copy a session (yours or one shared with you) into a new one of yours"""
    session = _session(session_id)
    copy = training.duplicate_session(_user(), session)
    db.session.commit()
    return copy, 201, {LOCATION: url_for("api.get_session", session_id=copy.id)}


@bp.route("/sessions/<int:session_id>/exports", methods=["POST"])
@before_body(lambda session_id: _session(session_id))
@body(s.ExportRequest)
@bp.response(202, s.ExportQueued, description="Queued")  # untranslated: developer docs
@errors(400, 401, 403, 404)
def export_session(
    given: dict[str, Any], session_id: int
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Export the session as one video with captions, and a handout

    Clips that can't be used now are left out. Follow the job with `GET /jobs/{job_id}`, then
    list the exports for the file links.
    """
    session = _session(session_id)
    export = training_exports.request_export(
        _user(), session, burn_captions=given.get("burn_captions", False)
    )
    db.session.commit()
    job = export.job
    assert job is not None
    return {"export": export, "job": job}, 202, {LOCATION: url_for("api.get_job", job_id=job.id)}


@bp.route(
    "/sessions/<int:session_id>/exports/<int:export_id>/<kind>",
    parameters=[
        {
            "in": "path",
            "name": "kind",
            "schema": {"type": "string", "enum": list(training_exports.EXPORT_FILES)},
        }
    ],
)
@binary(
    "The file",  # untranslated: developer docs
    "video/mp4",
    "text/vtt",
    "text/html",
    "application/pdf",
)
@errors(401, 403, 404, 410)
def download_export(session_id: int, export_id: int, kind: str) -> WerkzeugResponse:
    """One file of an export: the video, its captions, or the handout

    Answered only while every story in the export may still be used for training; otherwise 410
    says why. Supports range requests.
    """
    session = _session(session_id)
    export = db.session.get(LessonExport, export_id)
    if (
        export is None
        or export.session_id != session.id
        or kind not in training_exports.EXPORT_FILES
    ):
        raise ApiError(
            404, "not_found", gettext("No export file with that name is available to you.")
        )
    refusal = training_exports.export_refusal(_user(), export)
    if refusal is not None:
        raise ApiError(410, "gone", refusal)
    return training_exports.send_export_file(export, kind, attachment=True)


@bp.route("/sessions/<int:session_id>/exports", methods=["GET"])
@bp.response(200, s.ExportList, description="Exports")  # untranslated: developer docs
@errors(401, 403, 404)
def list_session_exports(session_id: int) -> dict[str, Any]:
    """The session's exports, newest first"""
    return {"exports": _session(session_id).exports}
