"""API v1 routes. Authentication is only by bearer token (never the browser's cookie), so the
API needs no CSRF token and a page elsewhere cannot act through a signed-in browser."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, g, jsonify, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from consent import can_manage, can_view, viewable_stories
from consent.describe import sharing
from consent.models import Audience, ConsentStatus, ConsentVersion, Naming, RecordedFor
from consent.services import (
    Choices,
    ConsentError,
    change,
    default_review_months,
    release,
    renew,
    withdraw,
)
from storyhub import jobs
from storyhub.api import bp
from storyhub.api.openapi import openapi_document
from storyhub.auth.services import user_for_api_token
from storyhub.extensions import csrf, db
from storyhub.models import Job, MediaRole, Role, Story, User
from storyhub.search.services import BadSearch, page_json, run_search
from storyhub.stories.forms import UploadForm
from storyhub.stories.routes import job_progress
from storyhub.uploads import UploadRejected, receive_upload

csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.openapi"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """The one shape of every API error: {"error": {"code", "message", ...}}."""
    return jsonify(error={"code": code, "message": message, **extra}), status


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> tuple[Response, int]:
    return error_response(err.status, err.code, err.message, **err.extra)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[Response, int]:
    code = (err.name or "error").lower().replace(" ", "_")
    return error_response(err.code or 500, code, err.description or err.name)


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_api_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise ApiError(401, "unauthorised", "A valid API token is needed (Authorization: Bearer).")
    g.api_user = user


def _user() -> User:
    user: User = g.api_user
    return user


def story_json(story: Story) -> dict[str, Any]:
    """A story as the API shows it."""
    job = story.latest_job
    return {
        "id": story.id,
        "title": story.title,
        "description": story.description,
        "language": story.language.value,
        "teller_kind": story.teller_kind.value,
        "state": story.state.value,
        "kind": story.kind,
        "duration": story.duration,
        "created_at": story.created_at.isoformat(),
        "failure_message": story.failure_message,
        "sharing": sharing(story).text,
        "job": job_progress(job) if job else None,
        "links": {
            "self": url_for("api.get_story", story_id=story.id, _external=True),
            "page": url_for("stories.show", story_id=story.id, _external=True),
            "media": url_for(
                "stories.media", story_id=story.id, role=MediaRole.ORIGINAL.value, _external=True
            ),
        },
    }


def _viewable_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id)
    if story is None or not can_view(_user(), story):
        raise ApiError(404, "not_found", "No story with that id is available to you.")
    return story


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi_document())


@bp.get("/stories")
def list_stories() -> Response:
    """Stories the token's owner may see, newest first."""
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 200)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        raise ApiError(400, "bad_request", "limit and offset must be whole numbers.") from None
    stories = db.session.scalars(
        select(Story)
        .where(viewable_stories(_user()))
        .order_by(Story.created_at.desc(), Story.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return jsonify(stories=[story_json(s) for s in stories], limit=limit, offset=offset)


@bp.post("/stories")
def create_story() -> tuple[Response, int]:
    """Upload a story (multipart/form-data: media, title, description, language, teller_kind)."""
    user = _user()
    if user.role not in (Role.STORYTELLER, Role.CURATOR, Role.ADMIN):
        raise ApiError(403, "forbidden", "Your role can't upload stories.")
    form = UploadForm(meta={"csrf": False})
    form.offer_storytellers(user)
    if not form.validate_on_submit():
        errors = {name: list(messages) for name, messages in form.errors.items()}
        raise ApiError(400, "invalid", "Some details are missing or wrong.", fields=errors)
    try:
        story = receive_upload(
            form.media.data,
            form.details(),
            uploader=user,
            storyteller=form.chosen_storyteller(user),
        )
    except UploadRejected as rejected:
        raise ApiError(422, rejected.code, rejected.message) from None
    response = jsonify(story_json(story))
    response.headers["Location"] = url_for("api.get_story", story_id=story.id)
    return response, 201


@bp.get("/stories/<int:story_id>")
def get_story(story_id: int) -> Response:
    """One story, if the token's owner may see it."""
    return jsonify(story_json(_viewable_story(story_id)))


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int) -> Response:
    """A job's state and progress."""
    job = db.session.get(Job, job_id)
    user = _user()
    allowed = job is not None and (
        can_view(user, job.story) if job.story is not None else jobs.may_follow(user, job)
    )
    if job is None or not allowed:
        raise ApiError(404, "not_found", "No job with that id is available to you.")
    return jsonify(job_progress(job))


# --- consent -------------------------------------------------------------------------------


def _managed_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id)
    if story is None or not can_view(_user(), story):
        raise ApiError(404, "not_found", "No story with that id is available to you.")
    if not can_manage(_user(), story):
        raise ApiError(403, "forbidden", "Only the storyteller and curators can change consent.")
    return story


def consent_json(version: ConsentVersion | None) -> dict[str, Any] | None:
    """One consent version as the API shows it."""
    if version is None:
        return None
    return {
        "version": version.version,
        "action": version.action.value,
        "status": version.status.value,
        "created_at": version.created_at.isoformat(),
        "recorded_by": version.recorded_by_id,
        "released": version.released,
        "audiences": sorted(a.value for a in version.audiences),
        "clips_allowed": version.clips_allowed,
        "naming": version.naming.value,
        "review_date": version.review_date.isoformat() if version.review_date else None,
        "recorded_for": version.recorded_for.value,
        "third_parties": version.third_parties,
    }


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Send a JSON object.")
    return body


def _choices_from(body: dict[str, Any]) -> Choices:
    """Parse and check choices; any unknown value is refused, never ignored."""
    try:
        audiences = body.get("audiences", [])
        if not isinstance(audiences, list):
            raise ValueError("audiences must be a list")
        others = body.get("third_parties", [])
        if not isinstance(others, list) or not all(isinstance(p, dict) for p in others):
            raise ValueError("third_parties must be a list of objects")
        adult_on = body.get("adult_on")
        choices = Choices(
            audiences={Audience(a) for a in audiences},
            clips_allowed=bool(body.get("clips_allowed", False)),
            naming=Naming(body.get("naming", Naming.FIRST.value)),
            review_months=int(body.get("review_months", default_review_months())),
            recorded_for=RecordedFor(body.get("recorded_for", RecordedFor.SELF.value)),
            proxy_name=str(body.get("proxy_name", "")),
            proxy_relationship=str(body.get("proxy_relationship", "")),
            best_interests_note=str(body.get("best_interests_note", "")),
            adult_on=date.fromisoformat(adult_on) if adult_on else None,
            third_parties=others,
            notes=str(body.get("notes", "")),
        )
        choices.check()
    except (ValueError, TypeError, ConsentError) as problem:
        raise ApiError(400, "invalid", str(problem)) from None
    return choices


@bp.get("/stories/<int:story_id>/consent")
def get_consent(story_id: int) -> Response:
    """The story's current consent and its whole history (teller and staff only)."""
    story = _managed_story(story_id)
    return jsonify(
        current=consent_json(story.consent),
        sharing=sharing(story).text,
        history=[consent_json(v) for v in story.consent_history],
    )


@bp.post("/stories/<int:story_id>/consent")
def set_consent(story_id: int) -> Response:
    """Release the story (step 2, needs "watched": true) or change a released story's choices."""
    story = _managed_story(story_id)
    body = _json_body()
    choices = _choices_from(body)
    current = story.consent
    try:
        if current is not None and current.status == ConsentStatus.ACTIVE and current.released:
            change(story, _user(), choices)
        else:
            release(story, _user(), choices, watched=body.get("watched") is True)
    except ConsentError as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return jsonify(current=consent_json(story.consent), sharing=sharing(story).text)


@bp.post("/stories/<int:story_id>/consent/renew")
def renew_consent(story_id: int) -> Response:
    """Keep sharing with the same choices for "months" more (default: the configured period)."""
    story = _managed_story(story_id)
    body = _json_body()
    try:
        renew(story, _user(), int(body.get("months", default_review_months())))
    except (ConsentError, ValueError, TypeError) as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return jsonify(current=consent_json(story.consent), sharing=sharing(story).text)


@bp.post("/stories/<int:story_id>/consent/withdraw")
def withdraw_consent(story_id: int) -> Response:
    """Stop sharing the story everywhere, at once ("reason" needed when acting for the teller)."""
    story = _managed_story(story_id)
    body = _json_body()
    try:
        withdraw(story, _user(), str(body.get("reason", "")))
    except ConsentError as problem:
        raise ApiError(409, "not_allowed", str(problem)) from None
    db.session.commit()
    return jsonify(current=consent_json(story.consent), sharing=sharing(story).text)


@bp.route("/search")
def search() -> Response:
    """Find passages, with the same query, filters and facets as the search page."""
    try:
        page = run_search(_user(), request.args)
    except BadSearch as err:
        raise ApiError(400, "bad_search", str(err)) from err
    if page.unavailable:
        raise ApiError(503, "search_unavailable", page.unavailable)
    return jsonify(page_json(page))
