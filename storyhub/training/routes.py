"""Clip and session views: thin; the rules live in training.services and consent/.

Every form is read through training.forms (Flask-WTF), never from the raw request.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consent import CLIP_ROLES, can_clip, clip_refusal
from consent.models import Audience
from consent.services import record_use
from storyhub.auth.decorators import roles_required
from storyhub.extensions import db
from storyhub.forms import PageForm
from storyhub.lookup import story_or_404
from storyhub.models import MediaRole, Passage, Story
from storyhub.playlists.core import PlaylistError
from storyhub.playlists.forms import require_valid
from storyhub.playlists.views import apply_change
from storyhub.storage import get_storage
from storyhub.training import clip_files, exports, services
from storyhub.training.forms import (
    ClipForm,
    ExportForm,
    ItemForm,
    MoveForm,
    OrderForm,
    SessionForm,
    ShareForm,
)
from storyhub.training.models import Clip, Lesson, LessonExport
from storyhub.training.services import TrainingError

bp = Blueprint("training", __name__)


@bp.app_context_processor
def _clip_rule() -> dict[str, Any]:
    # Story pages and search results offer "Make a clip" only where consent allows clips.
    return {"can_clip": can_clip}


def _clip_or_404(clip_id: int, *, own: bool = False) -> Clip:
    clip = services.clip_for(current_user, clip_id)
    if clip is None or (own and clip.owner_id != current_user.id):
        abort(404)
    return clip


def _session_or_404(session_id: int, *, edit: bool = False) -> Lesson:
    session = services.session_for(current_user, session_id, edit=edit)
    if session is None:
        abort(404)
    return session


# --- clips -----------------------------------------------------------------------------------


@bp.route("/clips")
@roles_required(*CLIP_ROLES)
def clips() -> str:
    """The trainer's clips, each saying whether it can be used now."""
    mine = services.clips_of(current_user)
    standings = {c.id: services.clip_standing(c, current_user) for c in mine}
    return render_template("training/clips.html", clips=mine, standings=standings)


def _stretch(story: Story, clip: Clip | None, passage: Passage | None) -> tuple[float, float]:
    """What the clip form starts from: the clip, or the passage it is cut from."""
    if clip is not None:
        return clip.start, clip.end
    if passage is not None:
        return passage.start, passage.end
    return story.passages[0].start, story.passages[0].end


def _clip_form(story: Story, clip: Clip | None, passage: Passage | None) -> ClipForm:
    """The clip form: what was sent, or (on first showing) the clip's or the passage's words."""
    start, end = _stretch(story, clip, passage)
    words = services.editing_window(story, start, end)
    return ClipForm(
        data={
            "start_word": services.word_index_at(words, start, last=False),
            "end_word": services.word_index_at(words, end, last=True),
            "title": clip.title if clip else services.default_clip_title(story, passage),
            "note": clip.note if clip else "",
        }
    )


def _clip_page(
    story: Story, clip: Clip | None, passage: Passage | None, form: ClipForm, status: int = 200
) -> Any:
    start, end = _stretch(story, clip, passage)
    words = services.editing_window(story, start, end)
    # A word number that wasn't one is shown as the clip's own bound again.
    first = form.start_word.data
    last = form.end_word.data
    if first is None:
        first = services.word_index_at(words, start, last=False)
    if last is None:
        last = services.word_index_at(words, end, last=True)
    sessions, _shared = services.sessions_of(current_user)
    return (
        render_template(
            "training/clip_form.html",
            story=story,
            clip=clip,
            passage=passage,
            words=words,
            form=form,
            first=str(first),
            last=str(last),
            sessions=sessions,
            has_rendition=story.media_file(MediaRole.RENDITION) is not None,
            file_ready=clip is not None and clip_files.file_ready(clip),
            file_job=clip_files.file_job(clip) if clip is not None else None,
        ),
        status,
    )


@bp.route("/stories/<int:story_id>/clips/new", methods=["GET", "POST"])
@roles_required(*CLIP_ROLES)
def new_clip(story_id: int) -> Any:
    """Cut a clip from a passage: bounds on words, a preview, a title and a note."""
    story = story_or_404(story_id)
    if not story.passages:
        abort(404)
    if not can_clip(current_user, story):
        message = clip_refusal(story) or _("You can't make clips from this story.")
        flash(_("Clips can't be made from this story. %(reason)s", reason=message), "error")
        return redirect(url_for("stories.show", story_id=story.id))
    passage_id = request.args.get("passage", type=int)
    passage = next((p for p in story.passages if p.id == passage_id), story.passages[0])
    form = _clip_form(story, None, passage)
    if form.is_submitted():
        return _save_clip(story, None, passage, form)
    return _clip_page(story, None, passage, form)


def _save_clip(story: Story, clip: Clip | None, passage: Passage | None, form: ClipForm) -> Any:
    """Save the clip form: a new clip of ``story``, or the changes to ``clip``."""
    fields = (form.start_word.data, form.end_word.data, form.title.data, form.note.data)
    try:
        require_valid(form)
        if clip is None:
            saved = services.create_clip(current_user, story, *fields)
        else:
            saved = services.update_clip(current_user, clip, *fields)
        session = _add_to_chosen_session(saved, form.session.data)
    except PlaylistError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _clip_page(story, clip, passage, form, 400)
    db.session.commit()
    if session is not None:
        flash(_("Clip saved and added to “%(title)s”.", title=session.title), "success")
        return redirect(url_for("training.session", session_id=session.id))
    flash(_("Clip saved."), "success")
    return redirect(url_for("training.clips"))


def _add_to_chosen_session(clip: Clip, chosen: int | None) -> Lesson | None:
    """The clip form can put the new clip straight into one of the trainer's sessions."""
    if chosen is None:
        return None
    session = services.session_for(current_user, chosen, edit=True)
    if session is None:
        raise TrainingError(_("Please choose one of your sessions."))
    services.add_item(current_user, session, "clip", clip_id=clip.id)
    return session


@bp.route("/clips/<int:clip_id>", methods=["GET", "POST"])
@roles_required(*CLIP_ROLES)
def edit_clip(clip_id: int) -> Any:
    """Change a clip's bounds (by word), title or note."""
    clip = _clip_or_404(clip_id, own=True)
    story = clip.story
    if not can_clip(current_user, story):
        standing = services.clip_standing(clip, current_user)
        return render_template("training/clip_unusable.html", clip=clip, standing=standing)
    form = _clip_form(story, clip, None)
    if form.is_submitted():
        return _save_clip(story, clip, None, form)
    return _clip_page(story, clip, None, form)


@bp.route("/clips/<int:clip_id>/file", methods=["GET", "POST"])
@roles_required(*CLIP_ROLES)
def clip_file(clip_id: int) -> Any:
    """The clip as a file to take away: POST asks for it (a job cuts it), GET downloads it."""
    clip = _clip_or_404(clip_id, own=True)
    if request.method == "POST":
        try:
            job = clip_files.request_file(current_user, clip)
        except TrainingError as error:
            flash(str(error), "error")
            return redirect(url_for("training.edit_clip", clip_id=clip.id))
        db.session.commit()
        if job is None:
            return redirect(url_for("training.clip_file", clip_id=clip.id))
        flash(_("We are cutting the clip. It takes a few seconds."), "info")
        return redirect(url_for("training.edit_clip", clip_id=clip.id) + "#take-away")
    standing = services.clip_standing(clip, current_user)
    if not standing.usable or not clip_files.file_ready(clip):
        abort(404)
    return clip_files.send_clip_file(clip)


@bp.route("/clips/<int:clip_id>/delete", methods=["POST"])
@roles_required(*CLIP_ROLES)
def delete_clip(clip_id: int) -> Response:
    clip = _clip_or_404(clip_id, own=True)
    file_key = clip.file_key
    services.delete_clip(current_user, clip)
    db.session.commit()
    clip_files.forget_file(file_key)
    flash(_("Clip deleted."), "success")
    return redirect(url_for("training.clips"))


# --- sessions ----------------------------------------------------------------------------------


@bp.route("/sessions", methods=["GET", "POST"])
@roles_required(*CLIP_ROLES)
def sessions() -> Any:
    """The trainer's sessions and those shared with them; make a new one."""
    form = SessionForm()
    if form.is_submitted():
        try:
            require_valid(form)
            session = services.create_session(current_user, form.title.data, form.summary.data)
        except PlaylistError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            return redirect(url_for("training.session", session_id=session.id))
    owned, shared = services.sessions_of(current_user)
    status = 400 if form.is_submitted() else 200
    return render_template("training/sessions.html", owned=owned, shared=shared, form=form), status


@bp.route("/sessions/<int:session_id>")
@roles_required(*CLIP_ROLES)
def session(session_id: int) -> str:
    """A session: its items to arrange (owner) or to read (shared), its exports, sharing."""
    training_session = _session_or_404(session_id)
    editable = services.can_edit(current_user, training_session)
    standings = {
        item.id: services.clip_standing(item.clip, current_user)
        for item in training_session.items
        if item.clip is not None
    }
    return render_template(
        "training/session.html",
        session=training_session,
        editable=editable,
        standings=standings,
        my_clips=services.clips_of(current_user) if editable else [],
        candidates=services.share_candidates(training_session) if editable else [],
        shared_ids={s.user_id for s in training_session.shares},
        export_refusal=lambda e: exports.export_refusal(current_user, e),
        details_form=SessionForm(formdata=None, obj=training_session),
        new_item_form=ItemForm(formdata=None),
        item_form=lambda item: ItemForm(
            formdata=None, data={"text": item.text, "notes": item.notes}
        ),
    )


def _back(session: Lesson, anchor: str = "") -> Response:
    return redirect(url_for("training.session", session_id=session.id) + anchor)


def _change(session_id: int, form: PageForm, change: Any, done: str, anchor: str = "") -> Response:
    """One change of a session by its owner, then back to it (at ``anchor``)."""
    training_session = _session_or_404(session_id, edit=True)
    back = url_for("training.session", session_id=training_session.id) + anchor
    return apply_change(training_session, form, change, done, back)


@bp.route("/sessions/<int:session_id>/details", methods=["POST"])
@roles_required(*CLIP_ROLES)
def session_details(session_id: int) -> Response:
    form = SessionForm()
    return _change(
        session_id,
        form,
        lambda s: services.update_session(s, form.title.data, form.summary.data),
        _("Saved."),
    )


@bp.route("/sessions/<int:session_id>/items", methods=["POST"])
@roles_required(*CLIP_ROLES)
def add_item(session_id: int) -> Response:
    form = ItemForm()
    return _change(
        session_id,
        form,
        lambda s: services.add_item(
            current_user,
            s,
            form.kind.data,
            text=form.text.data,
            clip_id=form.clip.data,
            notes=form.notes.data,
        ),
        _("Added at the end of the session."),
        "#items",
    )


def _item_change(session_id: int, item_id: int, form: PageForm, change: Any, done: str) -> Response:
    def run(training_session: Lesson) -> None:
        item = services.item_of(training_session, item_id)
        if item is None:
            raise TrainingError(_("That item is no longer in this session. Please reload."))
        change(training_session, item)

    return _change(session_id, form, run, done, f"#item-{item_id}")


@bp.route("/sessions/<int:session_id>/items/<int:item_id>", methods=["POST"])
@roles_required(*CLIP_ROLES)
def update_item(session_id: int, item_id: int) -> Response:
    form = ItemForm()
    return _item_change(
        session_id,
        item_id,
        form,
        lambda s, item: services.update_item(item, form.text.data, form.notes.data),
        _("Saved."),
    )


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/move", methods=["POST"])
@roles_required(*CLIP_ROLES)
def move_item(session_id: int, item_id: int) -> Response:
    form = MoveForm()
    return _item_change(
        session_id,
        item_id,
        form,
        lambda s, item: services.move_item(s, item, form.direction.data),
        _("Moved."),
    )


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/delete", methods=["POST"])
@roles_required(*CLIP_ROLES)
def remove_item(session_id: int, item_id: int) -> Response:
    return _item_change(
        session_id,
        item_id,
        PageForm(),
        lambda s, item: services.remove_item(s, item),
        _("Removed."),
    )


@bp.route("/sessions/<int:session_id>/order", methods=["POST"])
@roles_required(*CLIP_ROLES)
def reorder(session_id: int) -> Response:
    """The new order after dragging: every item id, in order."""
    form = OrderForm()
    return _change(
        session_id,
        form,
        lambda s: services.reorder(s, form.item.data),
        _("The new order is saved."),
        "#items",
    )


@bp.route("/sessions/<int:session_id>/share", methods=["POST"])
@roles_required(*CLIP_ROLES)
def share(session_id: int) -> Response:
    form = ShareForm()
    return _change(
        session_id,
        form,
        lambda s: services.set_shares(current_user, s, form.user.data),
        _("Sharing saved."),
        "#sharing",
    )


@bp.route("/sessions/<int:session_id>/duplicate", methods=["POST"])
@roles_required(*CLIP_ROLES)
def duplicate(session_id: int) -> Response:
    """Copy a session (one's own, or one shared with you) to change it freely."""
    copy = services.duplicate_session(current_user, _session_or_404(session_id))
    db.session.commit()
    flash(_("This is your copy. Change it as you like."), "success")
    return redirect(url_for("training.session", session_id=copy.id))


@bp.route("/sessions/<int:session_id>/delete", methods=["POST"])
@roles_required(*CLIP_ROLES)
def delete_session(session_id: int) -> Response:
    training_session = _session_or_404(session_id, edit=True)
    for export in training_session.exports:
        for key in export.files.values():
            get_storage().delete(key)
    services.delete_session(current_user, training_session)
    db.session.commit()
    flash(_("Session deleted."), "success")
    return redirect(url_for("training.sessions"))


# --- running and exporting -------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/play")
@roles_required(*CLIP_ROLES)
def play(session_id: int) -> str:
    """The session player for the room: one slide at a time, large captions, keyboard control."""
    training_session = _session_or_404(session_id)
    slides = services.slides_for(current_user, training_session)
    return render_template("training/play.html", session=training_session, slides=slides)


@bp.route("/sessions/<int:session_id>/played", methods=["POST"])
@roles_required(*CLIP_ROLES)
def played(session_id: int) -> tuple[str, int]:
    """Record a use of a clip's story (``?clip=``) when it really plays in the room (a POST the
    player sends): opening the player records nothing, so a link elsewhere can't forge a use."""
    training_session = _session_or_404(session_id)
    clip_id = request.args.get("clip", type=int)
    if clip_id is None:
        abort(400, _("Please say which clip is playing."))
    slides = services.slides_for(current_user, training_session)
    shown = [s.clip for s in slides if s.kind == "clip" and s.clip is not None]
    clip = next((c for c in shown if c.id == clip_id), None)
    if clip is None:
        abort(404)
    record_use(clip.story, current_user, kind="session", audience=Audience.TRAINING)
    db.session.commit()
    return "", 204


@bp.route("/sessions/<int:session_id>/exports", methods=["POST"])
@roles_required(*CLIP_ROLES)
def export(session_id: int) -> Response:
    training_session = _session_or_404(session_id)
    form = ExportForm()
    form.validate()  # a box: ticked or not, nothing to refuse
    try:
        exports.request_export(current_user, training_session, burn_captions=form.burn.data)
    except TrainingError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("We are making the export. You can leave this page; we will keep going."), "info")
    return _back(training_session, "#exports")


@bp.route("/sessions/<int:session_id>/exports/<int:export_id>/<kind>")
@roles_required(*CLIP_ROLES)
def download(session_id: int, export_id: int, kind: str) -> Any:
    """An export's file, only while every story in it may still be used."""
    training_session = _session_or_404(session_id)
    export = db.session.get(LessonExport, export_id)
    if export is None or export.session_id != training_session.id:
        abort(404)
    if kind not in exports.EXPORT_FILES:
        abort(404)
    refusal = exports.export_refusal(current_user, export)
    if refusal is not None:
        return render_template(
            "training/export_gone.html", session=training_session, reason=refusal
        ), 410
    attachment = kind in ("video", "pdf") and request.args.get("inline") != "1"
    return exports.send_export_file(export, kind, attachment=attachment)
