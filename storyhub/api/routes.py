"""API v1 routes. Authentication is only by bearer token (never the browser's cookie), so the
API needs no CSRF token and a page elsewhere cannot act through a signed-in browser."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask import Response, g, jsonify, request, url_for
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
from storyhub import (
    MAX_ID,  # larger ids are not found, never a 500
    jobs,
)
from storyhub.api import bp
from storyhub.api.openapi import openapi_document
from storyhub.auth.services import user_for_api_token
from storyhub.dashboard import services as dashboard
from storyhub.dashboard.slices import BadSlice, Slice
from storyhub.extensions import csrf, db
from storyhub.finder.services import BadSearch, page_json, run_search
from storyhub.models import Job, MediaRole, Role, Story, User, as_utc
from storyhub.storage import get_storage
from storyhub.stories.forms import UploadForm
from storyhub.stories.routes import job_progress
from storyhub.training import clip_files
from storyhub.training import exports as training_exports
from storyhub.training import services as training
from storyhub.training.models import Clip, Lesson, LessonExport, LessonItem
from storyhub.training.services import TrainingError
from storyhub.uploads import UploadRejected, accepts_uploads, receive_upload

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


def _moment(when: datetime) -> str:
    """A stored time as RFC 3339, as the document promises: times are kept in UTC, but the
    databases hand them back without their zone."""
    return as_utc(when).isoformat()


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
        "created_at": _moment(story.created_at),
        "failure_message": story.failure_message,
        "sharing": sharing(story).text,
        "job": job_progress(job) if job else None,
        "links": {
            "self": url_for("api.get_story", story_id=story.id, _external=True),
            "page": url_for("stories.show", story_id=story.id, _external=True),
            # The web copy: names a curator removed are silent in it (the original keeps them).
            "media": url_for(
                "stories.media", story_id=story.id, role=MediaRole.RENDITION.value, _external=True
            ),
        },
    }


def _viewable_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id) if 0 < story_id <= MAX_ID else None
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
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise ApiError(400, "bad_request", "limit and offset must be whole numbers.") from None
    # Refused, not quietly changed, as the document says: a client must not think it has them all.
    if not 1 <= limit <= 200 or not 0 <= offset <= MAX_ID:
        raise ApiError(400, "bad_request", f"limit goes from 1 to 200, offset from 0 to {MAX_ID}.")
    stories = db.session.scalars(
        select(Story)
        .where(viewable_stories(_user()))
        .order_by(Story.created_at.desc(), Story.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return jsonify(stories=[story_json(s) for s in stories], limit=limit, offset=offset)


@bp.post("/stories")
@accepts_uploads
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
    story = _viewable_story(story_id)
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
        "created_at": _moment(version.created_at),
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
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes (silent covers only ValueError)
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Send a JSON object.")
    return body


TYPE_WORDS = {str: "text", bool: "true or false", int: "a whole number", list: "a list"}


def _of_type(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """``body[name]`` (``default`` when absent or null) if it is a ``kind``, else ValueError.

    Nothing is converted: a number sent as a note, or true sent as a number of months, is a
    mistake to refuse, not to store as "True" or as 1 month.
    """
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name} must be {TYPE_WORDS[kind]}.")
    return value


def _choices_from(body: dict[str, Any]) -> Choices:
    """Parse and check choices; any unknown value is refused, never ignored."""
    try:
        others = _of_type(body, "third_parties", list, [])
        if not all(
            isinstance(p, dict)
            and isinstance(p.get("name"), str)
            and isinstance(p.get("agreed", False), bool)
            for p in others
        ):
            raise ValueError("third_parties must be a list of objects with a name (text).")
        adult_on = _of_type(body, "adult_on", str, "")
        choices = Choices(
            audiences={Audience(a) for a in _of_type(body, "audiences", list, [])},
            clips_allowed=_of_type(body, "clips_allowed", bool, False),
            naming=Naming(_of_type(body, "naming", str, Naming.FIRST.value)),
            review_months=_of_type(body, "review_months", int, default_review_months()),
            recorded_for=RecordedFor(_of_type(body, "recorded_for", str, RecordedFor.SELF.value)),
            proxy_name=_of_type(body, "proxy_name", str, ""),
            proxy_relationship=_of_type(body, "proxy_relationship", str, ""),
            best_interests_note=_of_type(body, "best_interests_note", str, ""),
            adult_on=date.fromisoformat(adult_on) if adult_on else None,
            # Only what the wizard records, so a client can't store anything else with it.
            third_parties=[{"name": p["name"], "agreed": p.get("agreed", False)} for p in others],
            notes=_of_type(body, "notes", str, ""),
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
    months = _whole(body, "months", required=False)
    try:
        renew(story, _user(), default_review_months() if months is None else months)
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
        withdraw(story, _user(), _text(body, "reason", "") or "")
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


# --- the outcomes dashboard ------------------------------------------------------------------


def _dashboard_slice(counting: bool = False) -> Slice:
    if not may_see_dashboard(_user()):
        raise ApiError(403, "forbidden", "Your role can't see the outcomes dashboard.")
    try:
        return Slice.parse(request.args, dashboard.subtheme_kinds(), counting)
    except BadSlice as err:
        raise ApiError(400, "bad_filter", str(err)) from err


@bp.route("/outcomes")
def outcomes() -> Response:
    """The dashboard's tables: counts of confirmed themes, small numbers hidden as on the site."""
    try:
        board = dashboard.dashboard(_dashboard_slice(counting=True))
    except BadSlice as err:
        raise ApiError(400, "bad_filter", str(err)) from err
    return jsonify(dashboard.dashboard_json(board))


@bp.route("/outcomes/passages")
def outcome_passages() -> Response:
    """The passages behind a count, as far as the caller may see them."""
    slice_ = _dashboard_slice()
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        raise ApiError(400, "bad_filter", "page must be a whole number from 1 to 10000.")
    return jsonify(dashboard.behind_json(dashboard.passages_behind(_user(), slice_, int(page))))


# --- clips and training sessions -------------------------------------------------------------
# Thin views over storyhub.training.services: the rules (and consent's) live there. Anything not
# the caller's, or not visible to them, is 404 (its existence is never revealed); roles that
# don't train are refused with 403 before anything is looked up.


@bp.errorhandler(TrainingError)
def _training_error(err: TrainingError) -> tuple[Response, int]:
    db.session.rollback()
    return error_response(400, "invalid", str(err))


def _trainer() -> User:
    user = _user()
    if user.role not in CLIP_ROLES:
        raise ApiError(
            403, "forbidden", "Only trainers, curators and administrators use clips and sessions."
        )
    return user


def _fields(body: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse fields we don't know, rather than ignore them (a typo must not pass silently)."""
    unknown = sorted(set(body) - set(allowed))
    if not unknown:
        return
    message = f"Unknown field(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}."
    if {"start", "end"} & set(unknown):
        message += (
            " A clip starts and ends on word numbers (start_word, end_word), "
            "as listed by GET /stories/{story_id}/words."
        )
    raise ApiError(400, "invalid", message)


def _whole(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, "invalid", f"{name} is needed.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid", f"{name} must be a whole number.")
    return value


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError(400, "invalid", f"{name} must be text.")
    return value


def _clip(clip_id: int, *, own: bool = False) -> Clip:
    user = _trainer()
    clip = training.clip_for(user, clip_id) if 0 < clip_id <= MAX_ID else None
    if clip is None or (own and clip.owner_id != user.id):
        raise ApiError(404, "not_found", "No clip with that id is available to you.")
    return clip


def _session(session_id: int, *, edit: bool = False) -> Lesson:
    user = _trainer()
    found = training.session_for(user, session_id, edit=edit) if 0 < session_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, "not_found", "No session with that id is available to you.")
    return found


def _item(session: Lesson, item_id: int) -> LessonItem:
    item = training.item_of(session, item_id)
    if item is None:
        raise ApiError(404, "not_found", "No item with that id is in this session.")
    return item


def clip_json(clip: Clip, viewer: User) -> dict[str, Any]:
    """A clip and whether ``viewer`` may be shown it now: its words only when it may."""
    standing = training.clip_standing(clip, viewer)
    first = last = None
    if standing.usable:
        words = training.story_words(clip.story)
        first = training.word_index_at(words, clip.start, last=False)
        last = training.word_index_at(words, clip.end, last=True)
    return {
        "id": clip.id,
        "story_id": clip.story_id,
        "story_title": clip.story.title,
        "start": clip.start,
        "end": clip.end,
        "duration": clip.duration,
        "start_word": first,
        "end_word": last,
        "title": clip.title,
        # The note is its maker's own, like a session's trainer's notes.
        "note": clip.note if clip.owner_id == viewer.id else None,
        "mine": clip.owner_id == viewer.id,
        "created_at": _moment(clip.created_at),
        "updated_at": _moment(clip.updated_at),
        "usable": standing.usable,
        "reason": standing.reason,
        "redacted": standing.redacted,
        "text": standing.text if standing.usable else None,
        "links": {"self": url_for("api.get_clip", clip_id=clip.id, _external=True)},
    }


def item_json(item: LessonItem, viewer: User) -> dict[str, Any]:
    return {
        "id": item.id,
        "position": item.position,
        "kind": item.kind.value,
        "text": item.text,
        # Trainer's notes: for everyone who runs the session (the room never sees them).
        "notes": item.notes,
        "clip": clip_json(item.clip, viewer) if item.clip is not None else None,
    }


def session_summary_json(session: Lesson, viewer: User) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "summary": session.summary,
        "owner": session.owner.display_name,
        "editable": training.can_edit(viewer, session),
        "item_count": len(session.items),
        "created_at": _moment(session.created_at),
        "updated_at": _moment(session.updated_at),
        "links": {"self": url_for("api.get_session", session_id=session.id, _external=True)},
    }


def session_json(session: Lesson, viewer: User) -> dict[str, Any]:
    return {
        **session_summary_json(session, viewer),
        "items": [item_json(item, viewer) for item in session.items],
    }


def export_json(export: LessonExport, viewer: User) -> dict[str, Any]:
    """An export: links to its files only while every story in it may still be used."""
    job = export.job
    if export.revoked_at is not None:
        state = "revoked"
    elif job is not None:
        state = job.state.value
    else:
        state = "done" if export.files else "failed"
    refusal = training_exports.export_refusal(viewer, export)
    if state == "failed" and job is not None and job.error_message:
        refusal = job.error_message
    files = None
    if refusal is None:
        files = {
            kind: url_for(
                "api.download_export",
                session_id=export.session_id,
                export_id=export.id,
                kind=kind,
                _external=True,
            )
            for kind in training_exports.EXPORT_FILES
            if kind in export.files
        }
    return {
        "id": export.id,
        "session_id": export.session_id,
        "created_at": _moment(export.created_at),
        "finished_at": _moment(export.finished_at) if export.finished_at else None,
        "burn_captions": export.burn_captions,
        "state": state,
        "job_id": export.job_id,
        "left_out": list(export.left_out or []),
        "duration": export.duration,
        "files": files,
        "refusal": refusal,
    }


CLIP_FIELDS = ("story_id", "start_word", "end_word", "title", "note")


@bp.get("/clips")
def list_clips() -> Response:
    """The caller's clips, newest first, each saying whether it can be used now."""
    user = _trainer()
    return jsonify(clips=[clip_json(c, user) for c in training.clips_of(user)])


@bp.post("/clips")
def create_clip() -> tuple[Response, int]:
    """Cut a clip from a story, from one word number to another (see the story's words)."""
    user = _trainer()
    body = _json_body()
    _fields(body, CLIP_FIELDS)
    story_id = _whole(body, "story_id")
    start_word = _whole(body, "start_word")
    end_word = _whole(body, "end_word")
    title, note = _text(body, "title", ""), _text(body, "note", "")
    assert story_id is not None
    story = _viewable_story(story_id)
    clip = training.create_clip(user, story, start_word, end_word, title, note)
    db.session.commit()
    response = jsonify(clip_json(clip, user))
    response.headers["Location"] = url_for("api.get_clip", clip_id=clip.id)
    return response, 201


@bp.get("/stories/<int:story_id>/words")
def story_words(story_id: int) -> Response:
    """The story's numbered words, for choosing where a clip starts and ends."""
    user = _trainer()
    story = _viewable_story(story_id)
    refusal = clip_refusal(story)
    if refusal is not None or not can_clip(user, story):
        raise ApiError(400, "invalid", refusal or "You can't make clips from this story.")
    return jsonify(
        story_id=story.id,
        story_title=story.title,
        state=story.state.value,
        max_clip_seconds=training.MAX_CLIP_SECONDS,
        words=[
            {
                "index": w.index,
                "start": w.start,
                "end": w.end,
                "text": w.text,
                "redacted": w.redacted,
                "passage_id": w.passage_id,
            }
            for w in training.story_words(story)
        ],
    )


@bp.get("/clips/<int:clip_id>")
def get_clip(clip_id: int) -> Response:
    """One clip: the caller's, or one in a session shared with them."""
    clip = _clip(clip_id)
    return jsonify(clip_json(clip, _user()))


@bp.patch("/clips/<int:clip_id>")
def update_clip(clip_id: int) -> Response:
    """Change a clip's words, title or note (its maker only); fields left out stay as they are."""
    clip = _clip(clip_id, own=True)
    body = _json_body()
    _fields(body, CLIP_FIELDS[1:])
    start_word = _whole(body, "start_word", required=False)
    end_word = _whole(body, "end_word", required=False)
    title, note = _text(body, "title", clip.title), _text(body, "note", clip.note)
    if start_word is None or end_word is None:
        words = training.story_words(clip.story)
        if start_word is None:
            start_word = training.word_index_at(words, clip.start, last=False)
        if end_word is None:
            end_word = training.word_index_at(words, clip.end, last=True)
    training.update_clip(_user(), clip, start_word, end_word, title, note)
    db.session.commit()
    return jsonify(clip_json(clip, _user()))


@bp.delete("/clips/<int:clip_id>")
def delete_clip(clip_id: int) -> tuple[str, int]:
    """Delete a clip (its maker only); it leaves every session that held it."""
    clip = _clip(clip_id, own=True)
    file_key = clip.file_key
    training.delete_clip(_user(), clip)
    db.session.commit()
    clip_files.forget_file(file_key)
    return "", 204


def clip_file_json(clip: Clip) -> dict[str, Any]:
    ready = clip_files.file_ready(clip)
    url = url_for("api.download_clip_file", clip_id=clip.id, _external=True) if ready else None
    return {"ready": ready, "url": url}


@bp.post("/clips/<int:clip_id>/file")
def request_clip_file(clip_id: int) -> tuple[Response, int]:
    """Ask for your clip as a file: 202 and the job while it is cut, 200 and its link when ready."""
    clip = _clip(clip_id, own=True)
    job = clip_files.request_file(_user(), clip)
    db.session.commit()
    if job is None:
        return jsonify(clip_file_json(clip)), 200
    response = jsonify(job=job_progress(job), **clip_file_json(clip))
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response, 202


@bp.get("/clips/<int:clip_id>/file")
def download_clip_file(clip_id: int) -> WerkzeugResponse:
    """Your clip as a file, cut exactly on its words, while the clip may be used (else 410)."""
    clip = _clip(clip_id, own=True)
    standing = training.clip_standing(clip, _user())
    if not standing.usable:
        raise ApiError(410, "gone", standing.reason or "This clip can't be used now.")
    if not clip_files.file_ready(clip):
        raise ApiError(404, "not_found", "This clip has no file yet: POST to this address first.")
    return clip_files.send_clip_file(clip)


@bp.get("/sessions")
def list_sessions() -> Response:
    """The caller's sessions and those shared with them, most recently changed first."""
    user = _trainer()
    owned, shared = training.sessions_of(user)
    return jsonify(
        owned=[session_summary_json(s, user) for s in owned],
        shared=[session_summary_json(s, user) for s in shared],
    )


@bp.post("/sessions")
def create_session() -> tuple[Response, int]:
    """Make a new, empty session."""
    user = _trainer()
    body = _json_body()
    _fields(body, ("title", "summary"))
    session = training.create_session(user, _text(body, "title", ""), _text(body, "summary", ""))
    db.session.commit()
    response = jsonify(session_json(session, user))
    response.headers["Location"] = url_for("api.get_session", session_id=session.id)
    return response, 201


@bp.get("/sessions/<int:session_id>")
def get_session(session_id: int) -> Response:
    """A session and its items in order; each clip says whether it can be used now."""
    session = _session(session_id)
    return jsonify(session_json(session, _user()))


@bp.patch("/sessions/<int:session_id>")
def update_session(session_id: int) -> Response:
    """Change a session's title or summary (its owner only)."""
    session = _session(session_id, edit=True)
    body = _json_body()
    _fields(body, ("title", "summary"))
    training.update_session(
        session, _text(body, "title", session.title), _text(body, "summary", session.summary)
    )
    db.session.commit()
    return jsonify(session_json(session, _user()))


@bp.delete("/sessions/<int:session_id>")
def delete_session(session_id: int) -> tuple[str, int]:
    """Delete a session and its exports' files (its owner only)."""
    session = _session(session_id, edit=True)
    for export in session.exports:
        for key in export.files.values():
            get_storage().delete(key)
    training.delete_session(_user(), session)
    db.session.commit()
    return "", 204


@bp.post("/sessions/<int:session_id>/items")
def add_session_item(session_id: int) -> tuple[Response, int]:
    """Add a heading, a prompt or a clip at the end of the session (its owner only)."""
    session = _session(session_id, edit=True)
    body = _json_body()
    _fields(body, ("kind", "text", "clip_id", "notes"))
    kind = _text(body, "kind")
    if kind is None:
        raise ApiError(400, "invalid", 'kind is needed: "heading", "prompt" or "clip".')
    clip_id = _whole(body, "clip_id", required=False)
    if clip_id is not None and not 0 < clip_id <= MAX_ID:
        raise ApiError(400, "invalid", "Please choose one of your clips.")
    item = training.add_item(
        _user(),
        session,
        kind,
        text=_text(body, "text", ""),
        clip_id=clip_id,
        notes=_text(body, "notes", ""),
    )
    db.session.commit()
    return jsonify(item_json(item, _user())), 201


@bp.patch("/sessions/<int:session_id>/items/<int:item_id>")
def update_session_item(session_id: int, item_id: int) -> Response:
    """Change an item's text (headings and prompts) or notes (its owner only)."""
    session = _session(session_id, edit=True)
    item = _item(session, item_id)
    body = _json_body()
    _fields(body, ("text", "notes"))
    training.update_item(item, _text(body, "text", item.text), _text(body, "notes", item.notes))
    db.session.commit()
    return jsonify(item_json(item, _user()))


@bp.delete("/sessions/<int:session_id>/items/<int:item_id>")
def remove_session_item(session_id: int, item_id: int) -> tuple[str, int]:
    """Take an item out of the session (its owner only)."""
    session = _session(session_id, edit=True)
    training.remove_item(session, _item(session, item_id))
    db.session.commit()
    return "", 204


@bp.put("/sessions/<int:session_id>/order")
def reorder_session(session_id: int) -> Response:
    """Put the items in a new order: every item's id, each once (a stale order is refused)."""
    session = _session(session_id, edit=True)
    body = _json_body()
    _fields(body, ("items",))
    ids = body.get("items")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ApiError(400, "invalid", "items must be a list of the session's item ids.")
    training.reorder(session, ids)
    db.session.commit()
    return jsonify(session_json(session, _user()))


@bp.post("/sessions/<int:session_id>/duplicate")
def duplicate_session(session_id: int) -> tuple[Response, int]:
    """Copy a session (one's own or one shared with you) into a new one of your own."""
    session = _session(session_id)
    copy = training.duplicate_session(_user(), session)
    db.session.commit()
    response = jsonify(session_json(copy, _user()))
    response.headers["Location"] = url_for("api.get_session", session_id=copy.id)
    return response, 201


@bp.post("/sessions/<int:session_id>/exports")
def export_session(session_id: int) -> tuple[Response, int]:
    """Ask for an export (a video and a handout); follow its job with GET /jobs/{job_id}."""
    session = _session(session_id)
    body = _json_body()
    _fields(body, ("burn_captions",))
    burn = body.get("burn_captions")
    if burn is None:  # left out or null, as for every field of this API
        burn = False
    if not isinstance(burn, bool):
        raise ApiError(400, "invalid", "burn_captions must be true or false.")
    export = training_exports.request_export(_user(), session, burn_captions=burn)
    db.session.commit()
    job = export.job
    assert job is not None
    response = jsonify(export=export_json(export, _user()), job=job_progress(job))
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response, 202


@bp.get("/sessions/<int:session_id>/exports/<int:export_id>/<kind>")
def download_export(session_id: int, export_id: int, kind: str) -> WerkzeugResponse:
    """One file of an export, only while every story in it may still be used (else 410)."""
    session = _session(session_id)
    export = db.session.get(LessonExport, export_id)
    if (
        export is None
        or export.session_id != session.id
        or kind not in training_exports.EXPORT_FILES
    ):
        raise ApiError(404, "not_found", "No export file with that name is available to you.")
    refusal = training_exports.export_refusal(_user(), export)
    if refusal is not None:
        raise ApiError(410, "gone", refusal)
    return training_exports.send_export_file(export, kind, attachment=True)


@bp.get("/sessions/<int:session_id>/exports")
def list_session_exports(session_id: int) -> Response:
    """The session's exports, newest first, with links to the files that may be downloaded."""
    session = _session(session_id)
    return jsonify(exports=[export_json(e, _user()) for e in session.exports])
