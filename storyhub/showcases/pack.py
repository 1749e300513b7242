"""The offline pack: a showcase as one zip that plays from a USB stick, with no server.

It holds an HTML page, each item as an MP4 (or M4A) cut exactly from the story's web copy, and
each item's captions as a WebVTT file beside it (side-car captions, on by default). A copy handed
out can't be called back, so a pack is made only while every item's consent allows it, and each
one is recorded against every story in it, with who took it.

"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import render_template, send_file
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent.describe import audience_list, name_as_consented
from consent.models import Audience, ConsentVersion
from consent.policy import showcase_refusal
from consent.services import on_withdrawal, record_use
from media_pipeline.captions import clip_words, make_cues, make_webvtt_window
from media_pipeline.errors import MediaError
from storyhub import audit, jobs
from storyhub.extensions import db
from storyhub.jobs import JobContext, JobFailed, handler
from storyhub.models import Job, MediaRole, Story, User
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
        return "The showcase is empty."
    for item in showcase.items:
        refusal = showcase_refusal(item.story)
        if refusal is not None:
            return f"“{item.story.title}” can't be handed out: {refusal}"
        if item.story.media_file(MediaRole.RENDITION) is None:
            return f"“{item.story.title}” is being prepared again. Please try later."
    return None


def plan_pack(showcase: Showcase) -> list[PackItem]:
    refusal = pack_refusal(showcase)
    if refusal is not None:
        raise PackRefused(refusal)
    planned = []
    for number, item in enumerate(showcase.items, start=1):
        story = item.story
        suffix = ".mp4" if story.kind == "video" else ".m4a"
        planned.append(
            PackItem(
                item=item,
                media_name=f"{number:02d}{suffix}",
                captions_name=f"{number:02d}.vtt",
                title=item.clip.title if item.clip else story.title,
                teller=name_as_consented(story),
                audiences=audience_list(story.consent.audiences if story.consent else set()),
                start=item.clip.start if item.clip else 0.0,
                end=item.clip.end if item.clip else story.duration,
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
    pack.job = jobs.submit(PACK_SHOWCASE, None, message="Waiting to start")
    db.session.flush()
    return pack


@jobs.access(PACK_SHOWCASE)
def _may_follow(user: Any, job: Job) -> bool:
    """Those who may change the showcase the pack is made from."""
    from storyhub.showcases.services import can_edit

    pack = db.session.scalar(select(ShowcasePack).where(ShowcasePack.job_id == job.id))
    return pack is not None and can_edit(user, pack.showcase)


@handler(PACK_SHOWCASE)
def make_pack(context: JobContext) -> None:
    pack = db.session.scalar(select(ShowcasePack).where(ShowcasePack.job_id == context.job_id))
    if pack is None:
        raise JobFailed("missing", "This pack was removed.")
    context.report(0.05, "Cutting the stories")
    with tempfile.TemporaryDirectory(prefix="storyhub-pack-") as workdir:
        work = Path(workdir)
        try:
            write_pack(pack.showcase, work / "pack.zip", work)
        except PackRefused as refused:
            raise JobFailed("refused", str(refused)) from refused
        except MediaError as exc:
            raise JobFailed("media", "We couldn't make the pack. Please try again.") from exc
        db.session.expire_all()
        pack = db.session.get(ShowcasePack, pack.id)
        assert pack is not None
        refusal = pack_refusal(pack.showcase)  # consent may have changed meanwhile
        if refusal is not None:
            raise JobFailed("changed", refusal)
        key = f"packs/{pack.id}-{uuid.uuid4().hex[:8]}.zip"
        get_storage().put_file(work / "pack.zip", key)
    pack.file_key = key
    db.session.commit()


def hand_out(pack: ShowcasePack, user: User) -> Response:
    """Give the pack to ``user``, recorded on every story in it as a copy handed out to them."""
    refusal = pack_refusal(pack.showcase)
    if refusal is not None or pack.file_key is None:
        raise PackRefused(refusal or "This pack isn't ready.")
    for story in {item.story for item in pack.showcase.items}:
        record_use(story, user, kind="copy", audience=Audience.LEARNING_EVENTS)
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
    response.headers["Cache-Control"] = "private, no-store"
    return response


PURGE_PACKS = "purge_packs"


@on_withdrawal
def _forget_packs(story: Story, version: ConsentVersion) -> None:
    """A withdrawal deletes every kept pack that holds the story (copies already handed out
    can't be called back; the teller's page says so)."""
    showcase_ids = {
        item.showcase_id
        for item in db.session.scalars(
            select(ShowcaseItem).where(ShowcaseItem.story_id == story.id)
        )
    }
    if not showcase_ids:
        return
    kept = db.session.scalars(
        select(ShowcasePack).where(
            ShowcasePack.showcase_id.in_(showcase_ids), ShowcasePack.file_key.is_not(None)
        )
    ).all()
    if kept:
        jobs.submit(PURGE_PACKS, story, message="Deleting offline packs that hold this story")


@handler(PURGE_PACKS)
def purge_packs(context: JobContext) -> None:
    """Delete the kept packs of every showcase holding the story (safe to run again)."""
    showcase_ids = select(ShowcaseItem.showcase_id).where(ShowcaseItem.story_id == context.story_id)
    for pack in db.session.scalars(
        select(ShowcasePack).where(
            ShowcasePack.showcase_id.in_(showcase_ids), ShowcasePack.file_key.is_not(None)
        )
    ):
        assert pack.file_key is not None
        get_storage().delete(pack.file_key)
        pack.file_key = None
    db.session.commit()
