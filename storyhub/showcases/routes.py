"""Showcase views: entering an event code, presenting a showcase and its media, the builder's
pages and the offline pack. Thin: the rules live in showcases.services and consent/; every form
is read through showcases.forms (Flask-WTF), never from the raw request.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent.copies import web_copy_refusal
from consent.models import Audience
from consent.policy import showcase_refusal, showcase_stories
from consent.services import record_use
from storyhub.extensions import db
from storyhub.forms import PageForm
from storyhub.models import MediaRole, Role, Story
from storyhub.playlists.core import PlaylistError
from storyhub.playlists.forms import require_valid
from storyhub.playlists.views import apply_change
from storyhub.showcases import pack as offline
from storyhub.showcases import services
from storyhub.showcases.forms import (
    AddItemForm,
    EventCodeForm,
    ItemChangeForm,
    MembersForm,
    ShowcaseForm,
)
from storyhub.showcases.models import Showcase, ShowcaseItem, ShowcasePack
from storyhub.storage import get_storage
from storyhub.training.services import clip_for, clips_of
from storyhub.transcripts import webvtt

bp = Blueprint("showcases", __name__)


def _watchable(showcase_id: int) -> Showcase:
    """The showcase, if this person may watch it now; otherwise "not found"."""
    showcase = db.session.get(Showcase, showcase_id)
    code_id = session.get(services.CODE_SESSION_KEY)
    if code_id is None and not getattr(current_user, "is_authenticated", False):
        # Neither signed in nor holding an event code: members sign in, as everywhere else.
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    grant = session.get(services.GRANT_SESSION_KEY)
    if showcase is None or not services.may_watch(current_user, showcase, code_id, grant=grant):
        stale = showcase is not None and code_id == showcase.id
        if stale and not getattr(current_user, "is_authenticated", False):
            # The code was changed or the event's time moved since it was entered: ask again.
            session.pop(services.CODE_SESSION_KEY, None)
            session.pop(services.GRANT_SESSION_KEY, None)
            flash(
                _(
                    "This event code no longer opens the showcase: the code or the event's time "
                    "has changed. Please enter the code you have been given now."
                ),
                "info",
            )
            abort(redirect(url_for("showcases.event")))
        abort(404)
    return showcase


def _shown_item(showcase: Showcase, item_id: int) -> ShowcaseItem:
    """One of the showcase's items whose consent still allows it; otherwise "not found"."""
    for shown in services.items_now(showcase):
        if shown.item.id == item_id and shown.refusal is None:
            return shown.item
    abort(404)


@bp.route("/event", methods=["GET", "POST"])
def event() -> Any:
    """Open a showcase with the event's access code (no account needed)."""
    problem = None
    form = EventCodeForm()
    if form.validate_on_submit():
        showcase = services.showcase_for_code(form.code.data)
        if showcase is not None:
            session.clear()  # a code opens this one showcase and nothing else
            session[services.CODE_SESSION_KEY] = showcase.id
            session[services.GRANT_SESSION_KEY] = services.event_grant(showcase)
            return redirect(url_for("showcases.present", showcase_id=showcase.id))
        problem = _(
            "That code doesn't open a showcase now. Codes work only during their event: "
            "please check the code with the organiser."
        )
    status = 400 if problem else 200
    return render_template("showcases/event.html", problem=problem, form=form), status


@bp.route("/showcases/<int:showcase_id>/present")
def present(showcase_id: int) -> str:
    """Presentation mode: one item at a time, introduced by its teller (as consented) and the
    audiences they chose; items whose consent no longer allows them are simply not there."""
    showcase = _watchable(showcase_id)
    slides = services.slides_for(showcase)
    return render_template("showcases/present.html", showcase=showcase, slides=slides)


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>/played", methods=["POST"])
def played(showcase_id: int, item_id: int) -> tuple[str, int]:
    """Record a use of the item's story when it really plays (a POST the presenter's page
    sends): opening the showcase records nothing, so a link elsewhere can't forge a use."""
    item = _shown_item(_watchable(showcase_id), item_id)
    viewer = current_user if getattr(current_user, "is_authenticated", False) else None
    record_use(item.story, viewer, kind="showcase", audience=Audience.LEARNING_EVENTS)
    db.session.commit()
    return "", 204


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>/media")
def media(showcase_id: int, item_id: int) -> Response:
    """An item's web copy, for whoever may watch the showcase; supports range requests."""
    item = _shown_item(_watchable(showcase_id), item_id)
    rendition = item.story.media_file(MediaRole.RENDITION)
    if rendition is None or web_copy_refusal(item.story) is not None:
        abort(404)
    response = send_file(
        get_storage().local_path(rendition.storage_key),
        mimetype=rendition.content_type,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: an HTTP header
    return response


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>/captions.vtt")
def captions(showcase_id: int, item_id: int) -> Response:
    item = _shown_item(_watchable(showcase_id), item_id)
    response = Response(webvtt(item.story), mimetype="text/vtt")
    response.headers["Cache-Control"] = "private, no-cache"  # untranslated: an HTTP header
    return response


# --- building (curators) --------------------------------------------------------------------


@bp.route("/showcases", methods=["GET", "POST"])
@login_required
def showcases() -> Any:
    """Curators: every showcase, and a new one. Members: the showcases shared with them."""
    if not services.can_build(current_user):
        # Members may read their list; making a showcase is for builders only.
        if current_user.role != Role.MEMBER or request.method == "POST":
            abort(403)
        return render_template("showcases/mine.html", showcases=services.shared_with(current_user))
    form = ShowcaseForm()
    if form.is_submitted():
        try:
            require_valid(form)
            built = services.create_showcase(
                current_user, form.title.data, form.introduction.data, **form.event()
            )
        except PlaylistError as error:
            db.session.rollback()
            flash(str(error), "error")  # the form is shown again with what was typed
        else:
            db.session.commit()
            return redirect(url_for("showcases.edit", showcase_id=built.id))
    looked_after = services.showcases_built_by(current_user)
    # A withdrawn or expired story drops out of its showcases at once; the list says so.
    hidden = {s.id: sum(1 for i in services.items_now(s) if i.refusal) for s in looked_after}
    return render_template(
        "showcases/index.html", showcases=looked_after, hidden_counts=hidden, details_form=form
    )


def _built(showcase_id: int) -> Showcase:
    showcase = db.session.get(Showcase, showcase_id)
    if showcase is None or not services.can_edit(current_user, showcase):
        abort(404)
    return showcase


@bp.route("/showcases/<int:showcase_id>/edit")
@login_required
def edit(showcase_id: int) -> str:
    """The builder: details, items (hidden ones say why), stories to add (or why not), code."""
    showcase = _built(showcase_id)
    in_it = {(i.story_id, i.clip_id) for i in showcase.items}
    return render_template(
        "showcases/edit.html",
        showcase=showcase,
        shown=services.items_now(showcase),
        candidates=[
            c for c in services.candidates(current_user) if (c.story.id, None) not in in_it
        ],
        my_clips=[
            c
            for c in clips_of(current_user)
            if (c.story_id, c.id) not in in_it and showcase_refusal(c.story) is None
        ],
        members=services.member_candidates(),
        member_ids={m.user_id for m in showcase.members},
        packs=db.session.scalars(
            select(ShowcasePack)
            .where(ShowcasePack.showcase_id == showcase.id)
            .order_by(ShowcasePack.id.desc())
            .limit(5)
        ).all(),
        pack_refusal=offline.pack_refusal(showcase),
        offline_refusal=offline.handed_out_refusal,
        details_form=ShowcaseForm(formdata=None, obj=showcase),
        item_form=lambda item: ItemChangeForm(formdata=None, listen_for=item.listen_for),
    )


def _change(showcase_id: int, form: PageForm, change: Any, done: str) -> Response:
    """One change of a showcase by its builder, then back to the builder."""
    showcase = _built(showcase_id)
    back = url_for("showcases.edit", showcase_id=showcase.id)
    return apply_change(showcase, form, change, done, back)


@bp.route("/showcases/<int:showcase_id>/details", methods=["POST"])
@login_required
def details(showcase_id: int) -> Response:
    form = ShowcaseForm()
    return _change(
        showcase_id,
        form,
        lambda s: services.update_details(
            s, form.title.data, form.introduction.data, **form.event()
        ),
        _("Saved."),
    )


@bp.route("/showcases/<int:showcase_id>/items", methods=["POST"])
@login_required
def add(showcase_id: int) -> Response:
    form = AddItemForm()

    def run(showcase: Showcase) -> None:
        clip = None
        if form.clip.data is not None:
            clip = clip_for(current_user, form.clip.data)
            if clip is None or clip.owner_id != current_user.id:
                raise services.ShowcaseError(_("Please choose one of your clips."))
            story_id = clip.story_id
        else:
            story_id = form.story.data or 0
        story = db.session.scalar(
            select(Story).where(Story.id == story_id, showcase_stories(current_user))
        )
        if story is None:
            raise services.ShowcaseError(_("Please choose a story from the list."))
        services.add_item(showcase, story, clip=clip)

    return _change(showcase_id, form, run, _("Added at the end."))


@bp.route("/showcases/<int:showcase_id>/items/<int:item_id>", methods=["POST"])
@login_required
def change_item(showcase_id: int, item_id: int) -> Response:
    form = ItemChangeForm()

    def run(showcase: Showcase) -> None:
        item = services.item_of(showcase, item_id)
        if item is None:
            raise services.ShowcaseError(_("That item is no longer in this showcase."))
        action = form.action.data
        if action == "remove":
            services.remove_item(showcase, item)
        elif action in ("up", "down"):
            services.move_item(showcase, item, action)
        else:
            services.set_listen_for(item, form.listen_for.data)

    return _change(showcase_id, form, run, _("Saved."))


@bp.route("/showcases/<int:showcase_id>/code", methods=["POST"])
@login_required
def code(showcase_id: int) -> Response:
    """A new event code, shown once (only its hash is kept); the old one stops working."""
    return _change(
        showcase_id,
        PageForm(),
        lambda s: _(
            "The event code is %(code)s. Write it down now: it is shown only once, and works "
            "only during the event's time window.",
            code=services.new_code(s),
        ),
        "",
    )


@bp.route("/showcases/<int:showcase_id>/members", methods=["POST"])
@login_required
def members(showcase_id: int) -> Response:
    form = MembersForm()
    return _change(
        showcase_id,
        form,
        lambda s: services.set_members(s, form.user.data),
        _("Sharing saved."),
    )


@bp.route("/showcases/<int:showcase_id>/packs", methods=["POST"])
@login_required
def make_pack(showcase_id: int) -> Response:
    """Ask for an offline pack (a job with a progress bar), if every item allows copies."""

    def run(showcase: Showcase) -> str:
        offline.request_pack(current_user, showcase)
        return _("We are making the pack. You can leave this page; we will keep going.")

    try:
        return _change(showcase_id, PageForm(), run, "")
    except offline.PackRefused as refused:
        db.session.rollback()
        flash(_("A pack can't be made now. %(reason)s", reason=refused), "error")
        return redirect(url_for("showcases.edit", showcase_id=showcase_id))


@bp.route("/showcases/<int:showcase_id>/packs/<int:pack_id>")
@login_required
def take_pack(showcase_id: int, pack_id: int) -> Any:
    """Download a pack: recorded on every story as a copy handed out, with who took it."""
    showcase = _built(showcase_id)
    made = db.session.get(ShowcasePack, pack_id)
    if made is None or made.showcase_id != showcase.id:
        abort(404)
    try:
        return offline.hand_out(made, current_user)
    except offline.PackRefused as refused:
        flash(_("This pack can't be handed out now. %(reason)s", reason=refused), "error")
        return redirect(url_for("showcases.edit", showcase_id=showcase.id))
