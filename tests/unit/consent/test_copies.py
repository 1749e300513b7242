"""Copies made from stories (exports, packs, clip files) are bound to what they were made from.

Each copy is made for real (the export, pack and clip-cutting jobs run at once on a real video);
then the teller or a curator changes something, and the copy must be refused, with a plain
reason, and its files deleted: found by the stories it holds, not by today's playlists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.models import Audience, Naming
from consent.services import Choices, change, erase, withdraw
from storyhub.extensions import db
from storyhub.models import MediaFile, MediaRole, Role, Story, User
from storyhub.showcases import services as showcases
from storyhub.showcases.models import ShowcasePack
from storyhub.showcases.pack import request_pack
from storyhub.storage import get_storage
from storyhub.training import clip_files, exports
from storyhub.training import services as training
from storyhub.training.models import Clip, LessonExport
from tests.conftest import csrf_token
from tests.training_factory import clip_story, make_video

WORDS = "Nobody asked Bronwen what I wanted"
BOTH = {Audience.TRAINING, Audience.LEARNING_EVENTS}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real video a little longer than a one-passage story (30 s)."""
    return make_video(tmp_path_factory.mktemp("copies") / "story.mp4", 31)


@dataclass
class People:
    teller: User
    trainer: User
    curator: User
    curator_client: FlaskClient


@pytest.fixture
def people(
    make_user: Callable[..., User], login_as: Callable[[Role], tuple[FlaskClient, User]]
) -> People:
    client, curator = login_as(Role.CURATOR)
    return People(make_user(Role.STORYTELLER), make_user(Role.TRAINER), curator, client)


def shared_story(people: People, video: Path, title: str = "Bronwen's story") -> Story:
    """A story shared for training and learning events, naming its teller in full, with a real
    web copy and a real original (so a redaction can make the web copy again)."""
    story = clip_story(people.teller, [WORDS], title=title, audiences=BOTH, video=video)
    key = f"stories/{story.id}/original.mp4"
    story.media.append(
        MediaFile(
            role=MediaRole.ORIGINAL,
            storage_key=key,
            content_type="video/mp4",
            size_bytes=get_storage().put_file(video, key),
        )
    )
    change(story, people.teller, choices(naming=Naming.FULL))
    db.session.commit()
    return story


def choices(audiences: set[Audience] = BOTH, naming: Naming = Naming.FULL) -> Choices:
    return Choices(audiences=set(audiences), clips_allowed=True, naming=naming)


def new_clip(people: People, story: Story) -> Clip:
    words = len(WORDS.split())
    clip = training.create_clip(people.trainer, story, 0, words - 1, f"{story.title} (passage 1)")
    db.session.commit()
    return clip


@dataclass
class Made:
    """A copy made for real, and how to ask whether it is still handed out."""

    served: Callable[[], bool]
    stored: Callable[[], list[str]]


def make_export(people: People, story: Story) -> Made:
    session = training.create_session(people.trainer, "Listening")
    training.add_item(people.trainer, session, "clip", clip_id=new_clip(people, story).id)
    export = exports.request_export(people.trainer, session, burn_captions=False)
    db.session.commit()
    db.session.refresh(export)

    def keys() -> list[str]:
        db.session.refresh(export)
        return list(export.files.values())

    return Made(lambda: exports.export_refusal(people.trainer, export) is None, keys)


def make_pack(people: People, story: Story) -> Made:
    showcase = showcases.create_showcase(people.curator, "Council learning day")
    showcases.add_item(showcase, story)
    pack = request_pack(people.curator, showcase)
    db.session.commit()
    url = f"/showcases/{showcase.id}/packs/{pack.id}"

    def keys() -> list[str]:
        db.session.refresh(pack)
        return [pack.file_key] if pack.file_key else []

    return Made(lambda: people.curator_client.get(url).status_code == 200, keys)


def make_clip_file(people: People, story: Story) -> Made:
    clip = new_clip(people, story)
    clip_files.request_file(people.trainer, clip)
    db.session.commit()

    def served() -> bool:
        db.session.refresh(clip)
        return clip_files.file_ready(clip) and training.clip_standing(clip, people.trainer).usable

    def keys() -> list[str]:
        db.session.refresh(clip)
        return [clip.file_key] if clip.file_key else []

    return Made(served, keys)


MAKERS = {"export": make_export, "pack": make_pack, "clip file": make_clip_file}


def redact_by_curator(people: People, story: Story) -> None:
    """A curator removes a name through the story page (the web copy is made again at once)."""
    client = people.curator_client
    passage = story.passages[0]
    response = client.post(
        f"/stories/{story.id}/passages/{passage.id}/redact",
        data={"phrase": "Bronwen", "csrf_token": csrf_token(client, f"/stories/{story.id}")},
    )
    assert response.status_code == 302


def made_anonymous(people: People, story: Story) -> None:
    change(story, people.teller, choices(naming=Naming.ANONYMOUS))
    db.session.commit()


CHANGES = {"a redaction": redact_by_curator, "full name to anonymous": made_anonymous}


@pytest.mark.parametrize("change_name", list(CHANGES))
@pytest.mark.parametrize("kind", list(MAKERS))
def test_a_copy_made_before_a_redaction_or_a_naming_change_is_refused_and_deleted(
    people: People, video: Path, kind: str, change_name: str
) -> None:
    story = shared_story(people, video)
    made = MAKERS[kind](people, story)
    paths = [get_storage().local_path(key) for key in made.stored()]
    assert paths and all(p.exists() for p in paths), "the copy was made"
    assert made.served()

    CHANGES[change_name](people, story)

    assert not made.served(), f"the {kind} made before {change_name} is still handed out"
    assert made.stored() == [] and not any(p.exists() for p in paths), "its files are deleted"


@pytest.mark.parametrize("stops", ["stops sharing for events", "withdraws"])
def test_a_pack_follows_the_stories_it_holds_not_the_showcase_items(
    people: People, video: Path, stops: str
) -> None:
    """The known bug: the pack was checked, and purged, by the showcase's items *now*."""
    leaving = shared_story(people, video, "Leaving")
    staying = shared_story(people, video, "Staying")
    made = make_pack(people, leaving)
    showcase = showcases.showcases_built_by(people.curator)[0]
    showcases.add_item(showcase, staying)
    db.session.commit()
    paths = [get_storage().local_path(key) for key in made.stored()]
    assert made.served()

    item = next(i for i in showcase.items if i.story_id == leaving.id)
    showcases.remove_item(showcase, item)  # taken out of the showcase first...
    db.session.commit()
    if stops == "withdraws":  # ...then its teller stops sharing it
        withdraw(leaving, people.teller, "not any more")
    else:
        change(leaving, people.teller, choices(audiences={Audience.TRAINING}))
    db.session.commit()

    pack = db.session.scalars(select(ShowcasePack)).one()
    taken = people.curator_client.get(f"/showcases/{showcase.id}/packs/{pack.id}")
    assert taken.status_code == 302, "the pack is still handed out"
    page = people.curator_client.get(taken.location).get_data(as_text=True)
    assert "can&#39;t be handed out now" in page or "can't be handed out now" in page
    assert made.stored() == [] and not any(p.exists() for p in paths)


def test_renewing_or_widening_consent_keeps_the_copies(people: People, video: Path) -> None:
    """A new version that keeps everything the copy was made under leaves it valid (decided)."""
    story = shared_story(people, video)
    made = make_clip_file(people, story)
    before = made.stored()
    change(story, people.teller, choices(audiences={*BOTH, Audience.PARTNERS}))
    db.session.commit()
    assert made.served() and made.stored() == before


def test_an_expired_copy_is_refused_and_the_sweep_deletes_it(
    people: People, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import consent.policy
    from storyhub.jobs.queue import get_queue

    story = shared_story(people, video)
    made = make_clip_file(people, story)
    paths = [get_storage().local_path(key) for key in made.stored()]
    assert story.consent is not None and story.consent.review_date is not None
    after = datetime.combine(story.consent.review_date + timedelta(days=1), time(12), tzinfo=UTC)
    monkeypatch.setattr(consent.policy, "utcnow", lambda: after)
    assert not made.served()
    get_queue().send("forget_stale_copies")  # the task the worker's regular sweep runs
    assert made.stored() == [] and not any(p.exists() for p in paths)


def database_text(app: Flask) -> str:
    """Every row of every table, as text (what a copy of the database would give away)."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    db.session.commit()
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())


def test_erasure_leaves_no_title_or_words_in_clip_export_or_copy_records(
    app: Flask, people: People, video: Path
) -> None:
    erased = shared_story(people, video, "Gwenllian remembers")
    kept = shared_story(people, video, "Kept story")
    clip = new_clip(people, erased)
    session = training.create_session(people.trainer, "Listening")
    training.add_item(people.trainer, session, "clip", clip_id=clip.id)
    training.add_item(people.trainer, session, "clip", clip_id=new_clip(people, kept).id)
    db.session.commit()
    # A pack holding the story, while it is shared for learning events.
    pack = make_pack(people, erased)
    pack_files = [get_storage().local_path(key) for key in pack.stored()]
    # Then its clips stop being allowed: an export leaves its clip out, naming it by title.
    change(erased, people.teller, Choices(audiences=BOTH, clips_allowed=False))
    db.session.commit()
    export = exports.request_export(people.trainer, session, burn_captions=False)
    db.session.commit()
    db.session.refresh(export)
    assert [e["title"] for e in export.left_out] == ["Gwenllian remembers (passage 1)"]
    assert "Gwenllian" in database_text(app)

    erase(erased, people.teller)
    db.session.commit()

    assert "Gwenllian" not in database_text(app)
    assert not any(p.exists() for p in pack_files)
    rows: list[Any] = [
        *db.session.scalars(select(Clip)),
        *db.session.scalars(select(LessonExport)),
    ]
    assert rows and all("Gwenllian" not in repr(vars(row)) for row in rows)
