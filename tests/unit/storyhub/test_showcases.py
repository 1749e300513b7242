"""Showcase rules: only stories shared for learning events go in, a withdrawal hides an item at
once, and an event code opens its showcase only inside the event's time window."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from consent.models import Audience
from consent.services import withdraw
from storyhub.extensions import db
from storyhub.models import Role, User
from storyhub.showcases import services
from storyhub.showcases.services import ShowcaseError
from tests.conftest import csrf_token
from tests.training_factory import clip_story

PASSAGES = ["Nobody asked me what I wanted", "Then a social worker listened to me"]
EVENTS = {Audience.LEARNING_EVENTS}


@pytest.fixture
def people(app: Flask, make_user: Callable[..., User]) -> tuple[User, User]:
    return make_user(Role.CURATOR), make_user(Role.STORYTELLER)


def test_only_stories_shared_for_learning_events_go_in(people: tuple[User, User]) -> None:
    curator, teller = people
    shown = clip_story(teller, PASSAGES, title="Shown", audiences=EVENTS)
    training_only = clip_story(teller, PASSAGES, title="Training only")
    showcase = services.create_showcase(curator, "Council learning day")
    services.add_item(showcase, shown)
    with pytest.raises(ShowcaseError, match="has not chosen learning events"):
        services.add_item(showcase, training_only)
    reasons = {c.story.title: c.refusal for c in services.candidates(curator)}
    assert reasons["Shown"] is None
    assert "has not chosen learning events" in (reasons["Training only"] or "")
    trainer = User(username="t", display_name="T", role=Role.TRAINER)
    with pytest.raises(ShowcaseError, match="Only curators"):
        services.create_showcase(trainer, "Mine")


def test_a_withdrawn_story_is_hidden_at_once(people: tuple[User, User]) -> None:
    curator, teller = people
    first = clip_story(teller, PASSAGES, title="First", audiences=EVENTS)
    second = clip_story(teller, PASSAGES, title="Second", audiences=EVENTS)
    showcase = services.create_showcase(curator, "Council learning day")
    services.add_item(showcase, first)
    services.add_item(showcase, second)
    db.session.commit()
    withdraw(second, teller, "not any more")
    db.session.commit()
    shown = services.items_now(showcase)
    assert [(s.item.story.title, s.refusal) for s in shown] == [
        ("First", None),
        ("Second", "Its storyteller withdrew it."),
    ]


def test_an_event_code_works_only_inside_the_window(people: tuple[User, User]) -> None:
    curator, _ = people
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    showcase = services.create_showcase(
        curator, "Council learning day", opens_at=start, closes_at=start + timedelta(hours=3)
    )
    code = services.new_code(showcase)
    db.session.commit()
    assert len(code) == 9 and code[4] == "-"
    inside = start + timedelta(hours=1)
    assert services.showcase_for_code(code, inside) == showcase
    assert services.showcase_for_code(code.lower().replace("-", " "), inside) == showcase
    assert services.showcase_for_code(code, start - timedelta(minutes=1)) is None
    assert services.showcase_for_code(code, start + timedelta(hours=3, seconds=1)) is None
    assert services.showcase_for_code("WRONG-CODE", inside) is None
    assert services.showcase_for_code(None, inside) is None
    assert showcase.code_hash is not None and code.replace("-", "") not in showcase.code_hash


def _event_showcase(curator: User, teller: User) -> tuple[object, str, list[object]]:
    now = datetime.now(UTC)
    stories = [
        clip_story(teller, PASSAGES, title=t, audiences=EVENTS) for t in ("Heard", "Home again")
    ]
    showcase = services.create_showcase(
        curator,
        "Council learning day",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
    )
    for story in stories:
        services.add_item(showcase, story)
    code = services.new_code(showcase)
    db.session.commit()
    return showcase, code, stories


def test_an_event_code_opens_one_showcase_and_nothing_else(
    app: Flask, people: tuple[User, User]
) -> None:
    showcase, code, stories = _event_showcase(*people)
    guest = app.test_client()
    token_page = guest.get("/event").get_data(as_text=True)
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    opened = guest.post("/event", data={"code": code, "csrf_token": token})
    assert opened.status_code == 302
    page = guest.get(opened.headers["Location"]).get_data(as_text=True)
    assert "Heard" in page and "Home again" in page and "Told by" in page
    item = showcase.items[0]  # type: ignore[attr-defined]
    base = f"/showcases/{showcase.id}/items/{item.id}"  # type: ignore[attr-defined]
    assert guest.get(f"{base}/captions.vtt").status_code == 200
    # Nothing else: the archive's pages ask for a sign-in, and story media is not found.
    for path in ("/stories", "/search", f"/stories/{stories[0].id}", "/sessions"):
        assert guest.get(path).status_code in (302, 401, 404), path
    assert guest.get(f"/stories/{stories[0].id}/media/rendition").status_code in (302, 401, 404)
    # A story withdrawn during the event is gone at the next navigation.
    withdraw(stories[1], stories[1].storyteller, "not now")
    db.session.commit()
    page = guest.get(f"/showcases/{showcase.id}/present").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Heard" in page and "Home again" not in page
    gone = showcase.items[1]  # type: ignore[attr-defined]
    assert guest.get(f"/showcases/{showcase.id}/items/{gone.id}/captions.vtt").status_code == 404  # type: ignore[attr-defined]


def test_a_wrong_or_closed_code_is_refused(app: Flask, people: tuple[User, User]) -> None:
    showcase, code, _ = _event_showcase(*people)
    showcase.closes_at = datetime.now(UTC) - timedelta(minutes=1)  # type: ignore[attr-defined]
    db.session.commit()
    guest = app.test_client()
    token_page = guest.get("/event").get_data(as_text=True)
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    refused = guest.post("/event", data={"code": code, "csrf_token": token})
    assert refused.status_code == 400
    assert "Codes work only during their event" in refused.get_data(as_text=True)
    shut = guest.get(f"/showcases/{showcase.id}/present")  # type: ignore[attr-defined]
    assert shut.status_code == 302 and "/login" in shut.headers["Location"]


def test_a_curator_builds_a_showcase_and_shares_it_with_a_member(
    login_as: Callable[[Role], tuple[object, User]], make_user: Callable[..., User]
) -> None:
    from tests.conftest import csrf_token

    client, _ = login_as(Role.CURATOR)
    teller = make_user(Role.STORYTELLER)
    shown = clip_story(teller, PASSAGES, title="Heard at last", audiences=EVENTS)
    clip_story(teller, PASSAGES, title="Only for training")
    token = csrf_token(client, "/showcases")  # type: ignore[arg-type]
    made = client.post(  # type: ignore[attr-defined]
        "/showcases",
        data={
            "csrf_token": token,
            "title": "Council day",
            "event_date": "2026-12-01",
            "event_place": "Town hall",
            "opens_at": "2026-12-01T09:00",
            "closes_at": "2026-12-01T08:00",
        },
    )
    assert made.status_code == 200 and "The event must end after it starts." in made.get_data(
        as_text=True
    )
    made = client.post("/showcases", data={"csrf_token": token, "title": "Council day"})  # type: ignore[attr-defined]
    edit_path = made.headers["Location"]
    showcase_id = int(edit_path.split("/")[-2])
    page = client.get(edit_path).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Can't be added: Its storyteller has not chosen learning events" in page
    client.post(f"/showcases/{showcase_id}/items", data={"csrf_token": token, "story": shown.id})  # type: ignore[attr-defined]
    coded = client.post(  # type: ignore[attr-defined]
        f"/showcases/{showcase_id}/code", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The event code is " in coded.get_data(as_text=True)
    member_client, member = login_as(Role.MEMBER)
    assert member_client.get(f"/showcases/{showcase_id}/present").status_code == 404  # type: ignore[attr-defined]
    client.post(f"/showcases/{showcase_id}/members", data={"csrf_token": token, "user": member.id})  # type: ignore[attr-defined]
    listing = member_client.get("/showcases").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Watch “Council day”" in listing
    present = member_client.get(f"/showcases/{showcase_id}/present").get_data(as_text=True)  # type: ignore[attr-defined]
    assert (
        "Heard at last" in present and "Shared by its storyteller for: learning events" in present
    )


def test_the_offline_pack_holds_a_page_and_each_item_with_its_captions(
    people: tuple[User, User], tmp_path: Path
) -> None:
    import zipfile

    from storyhub.showcases.pack import PackRefused, pack_refusal, write_pack
    from tests.training_factory import make_video

    curator, teller = people
    video = make_video(tmp_path / "v.mp4", 70)
    story = clip_story(teller, PASSAGES, title="Heard", audiences=EVENTS, video=video)
    showcase = services.create_showcase(curator, "Council day", "Two stories, ten minutes.")
    services.add_item(showcase, story)
    db.session.commit()
    assert pack_refusal(showcase) is None
    pack = write_pack(showcase, tmp_path / "pack.zip", tmp_path / "work")
    with zipfile.ZipFile(pack) as archive:
        names = sorted(archive.namelist())
        page = archive.read("showcase/index.html").decode()
        captions = archive.read("showcase/01.en.vtt").decode()
    assert names == ["showcase/01.en.vtt", "showcase/01.mp4", "showcase/index.html"]
    assert 'src="01.mp4"' in page and "Nobody asked me what I wanted" in page
    # The page's captions are labelled with the story's language.
    assert 'data-srclang="en" data-label="English"' in page
    assert captions.startswith("WEBVTT") and "Nobody asked me" in captions
    withdraw(story, teller, "no copies please")
    db.session.commit()
    assert pack_refusal(showcase) == "“Heard” can't be handed out: Its storyteller withdrew it."
    with pytest.raises(PackRefused):
        write_pack(showcase, tmp_path / "again.zip", tmp_path / "work2")


def test_a_pack_is_made_by_a_job_and_each_download_is_a_copy_handed_out(
    login_as: Callable[[Role], tuple[object, User]],
    make_user: Callable[..., User],
    tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from consent.models import StoryUse
    from tests.conftest import csrf_token
    from tests.training_factory import make_video

    client, curator = login_as(Role.CURATOR)
    teller = make_user(Role.STORYTELLER)
    video = make_video(tmp_path / "v.mp4", 70)
    story = clip_story(teller, PASSAGES, title="Heard", audiences=EVENTS, video=video)
    showcase = services.create_showcase(curator, "Council day")
    services.add_item(showcase, story)
    db.session.commit()
    token = csrf_token(client, "/showcases")  # type: ignore[arg-type]
    client.post(f"/showcases/{showcase.id}/packs", data={"csrf_token": token})  # type: ignore[attr-defined]
    page = client.get(f"/showcases/{showcase.id}/edit").get_data(as_text=True)  # type: ignore[attr-defined]
    link = page.split(f'href="/showcases/{showcase.id}/packs/')[1].split('"')[0]
    taken = client.get(f"/showcases/{showcase.id}/packs/{link}")  # type: ignore[attr-defined]
    assert taken.status_code == 200 and taken.mimetype == "application/zip"
    assert taken.get_data()[:2] == b"PK"
    uses = db.session.scalars(select(StoryUse).where(StoryUse.kind == "copy")).all()
    assert [(u.story_id, u.user_id) for u in uses] == [(story.id, curator.id)]
    from storyhub.showcases.models import ShowcasePack
    from storyhub.storage import get_storage

    kept = db.session.scalars(select(ShowcasePack)).one()
    assert kept.file_key is not None
    path = get_storage().local_path(kept.file_key)
    assert path.exists()
    withdraw(story, teller, "no more copies")
    db.session.commit()
    db.session.refresh(kept)
    assert kept.file_key is None and not path.exists()  # the kept pack is deleted
    refused = client.get(f"/showcases/{showcase.id}/packs/{link}", follow_redirects=True)  # type: ignore[attr-defined]
    assert "be handed out now. " in refused.get_data(as_text=True)
    assert len(db.session.scalars(select(StoryUse).where(StoryUse.kind == "copy")).all()) == 1


def test_a_trainer_builds_showcases_only_with_permission(
    app: Flask, login_as: Callable[[Role], tuple[object, User]], make_user: Callable[..., User]
) -> None:
    teller = make_user(Role.STORYTELLER)
    clip_story(teller, PASSAGES, title="For events", audiences=EVENTS)
    clip_story(teller, PASSAGES, title="For training only")
    client, trainer = login_as(Role.TRAINER)
    assert client.get("/showcases").status_code == 403  # type: ignore[attr-defined]
    result = app.test_cli_runner().invoke(args=["users", "showcases", trainer.username])
    assert result.exit_code == 0, result.output
    db.session.refresh(trainer)
    assert services.can_build(trainer)
    # A trainer only considers stories released for learning events (never the others).
    assert [c.story.title for c in services.candidates(trainer)] == ["For events"]
    mine = services.create_showcase(trainer, "My event")
    theirs = services.create_showcase(make_user(Role.CURATOR), "Curator's event")
    db.session.commit()
    assert services.can_edit(trainer, mine) and not services.can_edit(trainer, theirs)
    assert client.get(f"/showcases/{theirs.id}/edit").status_code == 404  # type: ignore[attr-defined]
    assert client.get(f"/showcases/{mine.id}/edit").status_code == 200  # type: ignore[attr-defined]
    # Nor may they present another builder's showcase (it isn't shared with them).
    assert client.get(f"/showcases/{theirs.id}/present").status_code == 404  # type: ignore[attr-defined]
    assert client.get(f"/showcases/{mine.id}/present").status_code == 200  # type: ignore[attr-defined]


def test_the_curator_is_told_and_the_teller_sees_the_showcase_uses(
    app: Flask, login_as: Callable[[Role], tuple[object, User]], make_user: Callable[..., User]
) -> None:
    from tests.conftest import login

    client, curator = login_as(Role.CURATOR)
    teller = make_user(Role.STORYTELLER)
    story = clip_story(teller, PASSAGES, title="Heard", audiences=EVENTS)
    showcase = services.create_showcase(curator, "Council day")
    services.add_item(showcase, story)
    db.session.commit()
    member_client, member = login_as(Role.MEMBER)
    services.set_members(showcase, [member.id])
    db.session.commit()
    present = member_client.get(f"/showcases/{showcase.id}/present").get_data(as_text=True)  # type: ignore[attr-defined]
    # Presenting records nothing until an item really plays (the presenter's page POSTs it).
    played = re.findall(r'data-played-url="([^"]+)"', present)
    assert len(played) == 1
    from sqlalchemy import func, select

    from consent.models import StoryUse

    assert db.session.scalar(select(func.count()).select_from(StoryUse)) == 0
    # A page elsewhere can't send it: without the form token it is refused.
    assert member_client.post(played[0]).status_code == 400  # type: ignore[attr-defined]
    token = csrf_token(member_client, "/")  # type: ignore[arg-type]
    assert member_client.post(played[0], data={"csrf_token": token}).status_code == 204  # type: ignore[attr-defined]
    teller_client = app.test_client()
    login(teller_client, teller.username)
    used = teller_client.get(f"/stories/{story.id}/used").get_data(as_text=True)
    assert "Watched in a showcase at a learning event</td><td>1</td>" in used
    withdraw(story, teller, "stop")
    db.session.commit()
    listing = client.get("/showcases").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "1 not shown now: open it to see why" in listing
    page = client.get(f"/showcases/{showcase.id}/edit").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Not shown now.</strong> Its storyteller withdrew it." in page


def test_a_clip_can_be_an_item(
    login_as: Callable[[Role], tuple[object, User]], make_user: Callable[..., User]
) -> None:
    from tests.conftest import csrf_token

    client, curator = login_as(Role.CURATOR)
    teller = make_user(Role.STORYTELLER)
    story = clip_story(teller, PASSAGES, title="Heard", audiences=EVENTS | {Audience.TRAINING})
    token = csrf_token(client, "/showcases")  # type: ignore[arg-type]
    client.post(  # type: ignore[attr-defined]
        f"/stories/{story.id}/clips/new",
        data={"csrf_token": token, "start_word": 6, "end_word": 11, "title": "Listened to"},
    )
    showcase = services.create_showcase(curator, "Council day")
    db.session.commit()
    page = client.get(f"/showcases/{showcase.id}/edit").get_data(as_text=True)  # type: ignore[attr-defined]
    clip_id = page.split('<option value="')[1].split('"')[0]
    client.post(f"/showcases/{showcase.id}/items", data={"csrf_token": token, "clip": clip_id})  # type: ignore[attr-defined]
    db.session.refresh(showcase)
    assert [(i.story_id, i.clip_id) for i in showcase.items] == [(story.id, int(clip_id))]
    present = client.get(f"/showcases/{showcase.id}/present").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Listened to" in present and "From “Heard”, told by" in present
    clip = showcase.items[0].clip
    assert clip is not None and f'data-start="{clip.start}" data-end="{clip.end}"' in present


def _enter_code(app: Flask, code: str) -> object:
    guest = app.test_client()
    token_page = guest.get("/event").get_data(as_text=True)
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    assert guest.post("/event", data={"code": code, "csrf_token": token}).status_code == 302
    return guest


def test_a_changed_code_ends_the_access_it_gave(app: Flask, people: tuple[User, User]) -> None:
    showcase, code, _ = _event_showcase(*people)
    guest = _enter_code(app, code)
    present = f"/showcases/{showcase.id}/present"  # type: ignore[attr-defined]
    assert guest.get(present).status_code == 200  # type: ignore[attr-defined]
    new_code = services.new_code(showcase)  # type: ignore[arg-type]
    db.session.commit()
    gone = guest.get(present)  # type: ignore[attr-defined]
    assert gone.status_code == 302 and gone.headers["Location"].endswith("/event")
    page = guest.get("/event").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "no longer opens the showcase" in page
    # Asked again, the visitor can't come back in without the new code...
    assert guest.get(present).status_code == 302  # type: ignore[attr-defined]
    # ...and with it, they can.
    assert _enter_code(app, new_code).get(present).status_code == 200  # type: ignore[attr-defined]


def test_a_moved_window_ends_the_access_it_gave(app: Flask, people: tuple[User, User]) -> None:
    showcase, code, _ = _event_showcase(*people)
    guest = _enter_code(app, code)
    present = f"/showcases/{showcase.id}/present"  # type: ignore[attr-defined]
    assert guest.get(present).status_code == 200  # type: ignore[attr-defined]
    # The organiser moves the event (it still covers now): access given for the old time ends.
    showcase.closes_at = datetime.now(UTC) + timedelta(hours=5)  # type: ignore[attr-defined]
    db.session.commit()
    item = showcase.items[0]  # type: ignore[attr-defined]
    for path in (present, f"/showcases/{showcase.id}/items/{item.id}/captions.vtt"):  # type: ignore[attr-defined]
        assert guest.get(path).status_code == 302, path  # type: ignore[attr-defined]
    assert _enter_code(app, code).get(present).status_code == 200  # type: ignore[attr-defined]


def test_opening_a_showcase_records_no_use_until_an_item_plays(
    app: Flask, people: tuple[User, User]
) -> None:
    from sqlalchemy import select

    from consent.models import StoryUse

    showcase, code, stories = _event_showcase(*people)
    guest = _enter_code(app, code)
    page = guest.get(f"/showcases/{showcase.id}/present").get_data(as_text=True)  # type: ignore[attr-defined]
    # A GET (a link on another site could make one) writes nothing.
    assert db.session.scalars(select(StoryUse)).all() == []
    played = re.findall(r'data-played-url="([^"]+)"', page)
    assert len(played) == 2
    token = csrf_token(guest, "/event")  # type: ignore[arg-type]
    assert guest.post(played[0], data={"csrf_token": token}).status_code == 204  # type: ignore[attr-defined]
    uses = db.session.scalars(select(StoryUse)).all()
    assert [(u.story_id, u.kind, u.user_id) for u in uses] == [(stories[0].id, "showcase", None)]  # type: ignore[attr-defined]
