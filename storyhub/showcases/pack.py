"""The offline pack: a showcase as one zip that plays from a USB stick, with no server.

It holds an HTML page, each item as an MP4 (or M4A) cut exactly from the story's web copy, and
each item's captions as a WebVTT file beside it (side-car captions, on by default). A copy handed
out can't be called back, so a pack is made only while every item's consent allows it, and each
one is recorded against every story in it, with who took it. A pack kept here is a copy
(``consent.copies``) bound to the stories it holds as they were when it was made, not to the
showcase's items now: it is handed out, and deleted, by that one mechanism.

"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import render_template, send_file
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent import copies
from consent.copies import Copy, CopyKind, copy_of, copy_refusal, web_copy_refusal
from consent.models import Audience
from consent.policy import Purpose, showcase_refusal
from consent.services import record_use
from media_pipeline.captions import clip_words, make_cues, make_webvtt_window
from media_pipeline.errors import MediaError
from storyhub import audit, jobs
from storyhub.extensions import N_, db
from storyhub.jobs import JobContext, JobFailed
from storyhub.models import Job, MediaRole, User
from storyhub.playlists import core
from storyhub.playlists.core import in_language_of
from storyhub.showcases.models import Showcase, ShowcaseItem, ShowcasePack
from storyhub.storage import get_storage
from storyhub.transcripts import caption_words


class PackRefused(ValueError):
    """The pack can't be made; the message says which item and why."""


@dataclass(frozen=True)
class PackItem:
    item: ShowcaseItem
    media_name: str
    captions_name: str
    title: str
    teller: str
    audiences: str
    start: float
    end: float


def pack_refusal(showcase: Showcase) -> str | None:
    """Why no offline pack may be made of ``showcase`` now; None when every item allows it."""
    if not showcase.items:
        return _("The showcase is empty.")
    for item in showcase.items:
        refusal = showcase_refusal(item.story)
        if refusal is not None:
            return _(
                "“%(title)s” can't be handed out: %(reason)s",
                title=item.story.title,
                reason=refusal,
            )
        if web_copy_refusal(item.story) is not None:
            return _(
                "“%(title)s” is being prepared again. Please try later.", title=item.story.title
            )
    return None


def plan_pack(showcase: Showcase) -> list[PackItem]:
    refusal = pack_refusal(showcase)
    if refusal is not None:
        raise PackRefused(refusal)
    planned = []
    for number, item in enumerate(showcase.items, start=1):
        story = item.story
        suffix = ".mp4" if story.kind == "video" else ".m4a"
        introduction = core.introduce(story)
        start, end = core.stretch(story, item.clip)
        planned.append(
            PackItem(
                item=item,
                media_name=f"{number:02d}{suffix}",
                # "01.cy.vtt": the language in the name, so players that find captions beside
                # the video by name (VLC, mpv) also know their language.
                captions_name=f"{number:02d}.{story.language.value}.vtt",
                title=item.clip.title if item.clip else story.title,
                teller=introduction.teller,
                audiences=introduction.audiences,
                start=start,
                end=end,
            )
        )
    return planned


def write_pack(showcase: Showcase, dest: Path, workdir: Path) -> Path:
    """Cut every item exactly, write its captions and the page, and zip them into ``dest``."""
    from media_pipeline.clips import cut_clip

    planned = plan_pack(showcase)
    folder = workdir / "showcase"
    folder.mkdir(parents=True, exist_ok=True)
    cues: dict[str, list[dict[str, object]]] = {}
    for entry in planned:
        story = entry.item.story
        rendition = story.media_file(MediaRole.RENDITION)
        assert rendition is not None  # pack_refusal checked it
        source = get_storage().local_path(rendition.storage_key)
        cut_clip(source, folder / entry.media_name, entry.start, entry.end, kind=story.kind)
        words = caption_words(story)
        (folder / entry.captions_name).write_text(
            make_webvtt_window(words, entry.start, entry.end), encoding="utf-8"
        )
        # Browsers refuse <track> files from file:// pages, so the page carries its cues too.
        cues[entry.media_name] = [
            {"start": c.start, "end": c.end, "text": "\n".join(c.lines)}
            for c in make_cues(
                clip_words(words, entry.start, entry.end), until=entry.end - entry.start
            )
        ]
    page = render_template("showcases/pack.html", showcase=showcase, items=planned, cues=cues)
    (folder / "index.html").write_text(page, encoding="utf-8")
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"showcase/{path.name}")
    return dest


# --- the job, and the copy handed out ---------------------------------------------------------

PACK_SHOWCASE = "pack_showcase"


def request_pack(user: User, showcase: Showcase) -> ShowcasePack:
    """Ask the worker for an offline pack (sent after the caller commits)."""
    refusal = pack_refusal(showcase)
    if refusal is not None:
        raise PackRefused(refusal)
    pack = ShowcasePack(showcase=showcase, requested_by=user)
    db.session.add(pack)
    pack.job = jobs.submit(PACK_SHOWCASE, None, message=N_("Waiting to start"))
    db.session.flush()
    return pack


def may_follow_pack(user: Any, job: Job) -> bool:
    """Those who may change the showcase the pack is made from."""
    from storyhub.showcases.services import can_edit

    pack = db.session.scalar(select(ShowcasePack).where(ShowcasePack.job_id == job.id))
    return pack is not None and can_edit(user, pack.showcase)


def make_pack(context: JobContext) -> None:
    """Make the pack's zip; its page is in the language of the person who asked for it."""
    pack = db.session.scalar(select(ShowcasePack).where(ShowcasePack.job_id == context.job_id))
    if pack is None:
        raise JobFailed("missing", N_("This pack was removed."))
    with in_language_of(pack.requested_by):
        _make_pack(context, pack)


def _make_pack(context: JobContext, pack: ShowcasePack) -> None:
    context.report(0.05, N_("Cutting the stories"))
    made_under = [copies.made_from(story) for story in {i.story for i in pack.showcase.items}]
    with tempfile.TemporaryDirectory(prefix="storyhub-pack-") as workdir:
        work = Path(workdir)
        try:
            write_pack(pack.showcase, work / "pack.zip", work)
        except PackRefused as refused:
            raise JobFailed("refused", str(refused)) from refused
        except MediaError as exc:
            raise JobFailed("media", N_("We couldn't make the pack. Please try again.")) from exc
        db.session.expire_all()
        fresh = db.session.get(ShowcasePack, pack.id)
        assert fresh is not None
        pack = fresh
        key = f"packs/{pack.id}-{uuid.uuid4().hex[:8]}.zip"
        made = copies.record(CopyKind.PACK, pack.id, Purpose.LEARNING_EVENT, made_under, [key])
        refusal = copy_refusal(made)  # a story may have changed meanwhile
        if refusal is not None:
            raise JobFailed("changed", refusal)
        get_storage().put_file(work / "pack.zip", key)
    pack.file_key = key
    db.session.commit()


def handed_out_refusal(pack: ShowcasePack) -> str | None:
    """Why this kept pack may not be handed out now (the stories it holds, as they were made)."""
    if pack.file_key is None:
        return _("This pack isn't ready.")
    return copy_refusal(copy_of(CopyKind.PACK, pack.id))


def hand_out(pack: ShowcasePack, user: User) -> Response:
    """Give the pack to ``user``, recorded on every story in it as a copy handed out to them."""
    refusal = handed_out_refusal(pack)
    made = copy_of(CopyKind.PACK, pack.id)
    if refusal is not None or made is None or pack.file_key is None:
        raise PackRefused(refusal or _("This pack isn't ready."))
    for held in made.stories:
        record_use(held.story, user, kind="copy", audience=Audience.LEARNING_EVENTS)
    audit.record(
        "showcase.pack_taken", actor=user, object_type="showcase", object_id=pack.showcase_id
    )
    db.session.commit()
    response = send_file(
        get_storage().local_path(pack.file_key),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"showcase-{pack.showcase_id}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"  # untranslated: an HTTP header
    return response


def forget_pack(made: Copy) -> None:
    """Its file was deleted: the pack can't be downloaded (copies handed out can't be called
    back; the teller's page says so)."""
    pack = db.session.get(ShowcasePack, made.subject_id)
    if pack is not None and pack.file_key in made.file_keys:
        pack.file_key = None
