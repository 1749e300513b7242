"""Other people in a story: someone the teller marked as not agreeing holds the story back from
every audience until a curator removes them (name out of the words and sound, picture covered or
checked) or the teller records that they agreed.

The release wizard promises "we will remove their name before anyone else sees the story"; these
tests hold every read path to it: the policy, its SQL twin, search, clips, showcases, the
dashboard, and the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import select

from consent import (
    Audience,
    Purpose,
    can_view,
    clip_refusal,
    counted_in_statistics,
    counted_stories,
    shared_audiences,
    viewable_stories,
)
from consent.policy import people_to_remove, showcase_refusal
from consent.services import Choices, ConsentError, change, person_agreed, release
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from storyhub.dashboard import services as dashboard
from storyhub.dashboard.slices import Slice
from storyhub.extensions import db
from storyhub.models import AuditEvent, Language, MediaRole, Role, Story, StoryState, TellerKind
from storyhub.people import record_removed
from storyhub.storage import get_storage
from storyhub.transcripts import redaction_state
from tests import media_factory
from tests.conftest import csrf_token, login
from tests.search_factory import make_story as story_with_words

EVERYONE = {Audience.TRAINING, Audience.LEARNING_EVENTS, Audience.STATISTICS}
GARDEN = "I love my garden in the spring and Alun helps me with it."


def held_story(teller: Any, agreed: bool = False) -> Story:
    """A story with words, released to every audience, naming Alun (who hasn't agreed)."""
    story = story_with_words(teller, [GARDEN], title="My garden", themes={0: ["things-to-do"]})
    release(
        story,
        teller,
        Choices(audiences=set(EVERYONE), third_parties=[{"name": "Alun", "agreed": agreed}]),
        watched=True,
    )
    db.session.commit()
    return story


def ids(condition: Any) -> set[int]:
    return set(db.session.scalars(select(Story.id).where(condition)))


def post(client: FlaskClient, path: str, story: Story, **data: str) -> Any:
    token = csrf_token(client, f"/stories/{story.id}/people")
    return client.post(path, data={"csrf_token": token, **data})


def signed_in(user: Any) -> FlaskClient:
    """A signed-in client for an existing user."""
    client = current_app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def test_someone_who_has_not_agreed_holds_the_story_back_from_every_audience(
    make_user: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = held_story(teller)
    trainer_client, trainer = login_as(Role.TRAINER)
    member_client, member = login_as(Role.MEMBER)
    curator = make_user(Role.CURATOR)

    # The rule, for one story and as SQL, for every purpose.
    for user in (trainer, member):
        for purpose in (None, *Purpose):
            assert not can_view(user, story, purpose)
            assert story.id not in ids(viewable_stories(user, purpose))
    for user in (teller, curator):
        assert can_view(user, story) and story.id in ids(viewable_stories(user))
    assert shared_audiences(story.consent) == ()  # what the search index carries
    assert not counted_in_statistics(story) and story.id not in ids(counted_stories())
    for refusal in (clip_refusal(story), showcase_refusal(story)):
        assert refusal == (
            "Someone in it has not agreed to be in it, and a curator has not removed them "
            "from it yet."
        )
    assert people_to_remove(story.consent) == [(0, {"name": "Alun", "agreed": False})]

    # The pages, search and the dashboard.
    for client in (trainer_client, member_client):
        assert client.get(f"/stories/{story.id}").status_code == 404
        assert client.get(f"/stories/{story.id}/media/rendition").status_code == 404
        assert "My garden" not in client.get("/stories").get_data(as_text=True)
    assert "<mark>garden</mark>" not in trainer_client.get("/search?q=garden").get_data(
        as_text=True
    )
    assert dashboard.dashboard(Slice(), limit=1).total.stories in (None, 0)  # nothing counted


def test_recording_that_the_person_agreed_lifts_the_hold(
    make_user: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = held_story(teller)
    teller_client = signed_in(teller)
    trainer_client, trainer = login_as(Role.TRAINER)
    before = story.consent.version

    page = teller_client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "People to remove before sharing:</strong> Alun" in page
    assert "Held back" in page
    response = post(teller_client, f"/stories/{story.id}/people/0/agreed", story)
    assert response.status_code == 302
    db.session.expire_all()
    consent = story.consent
    assert consent.version == before + 1  # a new version; the old one is kept as it was
    assert consent.third_parties == [{"name": "Alun", "agreed": True}]
    assert consent.audiences == EVERYONE and consent.review_date is not None
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "consent.person_agreed", AuditEvent.object_id == story.id
        )
    )
    with pytest.raises(ConsentError, match="already have a note that Alun agreed"):
        person_agreed(story, teller, 0)
    db.session.rollback()

    assert can_view(trainer, story) and story.id in ids(viewable_stories(trainer))
    assert trainer_client.get(f"/stories/{story.id}").status_code == 200
    assert "<mark>garden</mark>" in trainer_client.get("/search?q=garden").get_data(as_text=True)
    assert counted_in_statistics(story)
    assert dashboard.dashboard(Slice(), limit=1).total.stories == 1


def test_curators_get_a_list_of_people_to_remove_before_sharing(
    make_user: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = held_story(teller)
    held_story(make_user(Role.STORYTELLER), agreed=True)  # nothing to do for this one
    curator, _ = login_as(Role.CURATOR)

    page = curator.get("/consent/people").get_data(as_text=True)
    assert "People to remove before sharing" in page
    assert page.count("<td>Alun</td>") == 1
    assert f'href="/stories/{story.id}/people"' in page
    story_page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "People to remove before sharing:</strong> Alun" in story_page
    tools = curator.get(f"/stories/{story.id}/people").get_data(as_text=True)
    assert "“Alun” is still said in 1 place" in tools
    assert "Remove “Alun” everywhere" in tools
    for role in (Role.STORYTELLER, Role.TRAINER, Role.MEMBER):
        assert login_as(role)[0].get("/consent/people").status_code == 403


def test_a_curator_removes_the_name_and_the_hold_lifts(
    make_user: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = held_story(teller)
    curator_client, curator = login_as(Role.CURATOR)

    # Not before the name is out of the words.
    refused = post(curator_client, f"/stories/{story.id}/people/0/removed", story)
    assert refused.status_code == 302
    db.session.expire_all()
    assert people_to_remove(story.consent)
    with pytest.raises(ConsentError, match="still in the words in 1 place"):
        record_removed(story, curator, 0, None)
    db.session.rollback()

    # The name tool: "[name removed]" in the words (the render job fails here: these stories
    # have no real media, so recording the removal must wait).
    post(curator_client, f"/stories/{story.id}/people/0/remove-name", story)
    db.session.expire_all()
    assert "Alun" not in story.passages[0].text and "[name removed]" in story.passages[0].text
    with pytest.raises(ConsentError, match="still being made again"):
        record_removed(story, curator, 0, None)
    db.session.rollback()


@pytest.fixture(scope="session")
def speaking_video(media_dir: Path) -> Path:
    """A real video (a moving test picture) with real speech, so it has words and a picture."""
    out = media_dir / "speaking.mp4"
    if not out.exists():
        speech = media_factory.speech_wav(media_dir)
        run_ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=6", "-i", file_url(speech),
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
             "-shortest", "-f", "mp4", "-y", file_url(out)],
            timeout=60,
        )  # fmt: skip
    return out


def frames(path: Path) -> list[tuple[float, np.ndarray[Any, Any]]]:
    """(time, grey picture) of every frame of a video file."""
    with av.open(str(path), format="mp4") as container:
        return [
            (float(frame.time or 0.0), frame.to_ndarray(format="gray"))
            for frame in container.decode(video=0)
        ]


# Slow (about 7 s): a speaking video processed, covered and rendered again.
@pytest.mark.slow
def test_a_video_is_held_until_the_name_is_out_and_the_picture_covered(
    make_user: Callable[..., Any], login_as: Callable[..., Any], speaking_video: Path
) -> None:
    from storyhub.uploads import StoryDetails, store_story_file

    teller = make_user(Role.STORYTELLER)
    story = store_story_file(
        speaking_video,
        StoryDetails("At the clinic", "", Language.ENGLISH, TellerKind.SERVICE_USER),
        uploader=teller,
        storyteller=teller,
        original_filename="speaking.mp4",
    )
    assert story.state == StoryState.READY and story.kind == "video"
    # The person is named as the transcript writes a word of it (real speech, real Whisper).
    words = [w["text"].strip(".,!?").lower() for p in story.passages for w in p.words]
    name = max(words, key=len).capitalize()
    release(
        story,
        teller,
        Choices(audiences={Audience.TRAINING}, third_parties=[{"name": name, "agreed": False}]),
        watched=True,
    )
    db.session.commit()
    curator_client, curator = login_as(Role.CURATOR)
    trainer_client, trainer = login_as(Role.TRAINER)
    assert trainer_client.get(f"/stories/{story.id}").status_code == 404
    state_before = redaction_state(story)

    # 1. The name out of the words and sound: the web copy is made again (a real render).
    post(curator_client, f"/stories/{story.id}/people/0/remove-name", story)
    db.session.expire_all()
    assert name.lower() not in " ".join(p.text.lower() for p in story.passages)
    state_redacted = redaction_state(story)
    assert state_redacted != state_before

    # 2. A video also needs its picture dealt with.
    with pytest.raises(ConsentError, match="covered the picture"):
        record_removed(story, curator, 0, None)
    with pytest.raises(ConsentError, match="Nothing is covered in the picture yet"):
        record_removed(story, curator, 0, "covered")
    db.session.rollback()
    bad = post(curator_client, f"/stories/{story.id}/covers", story, start="later", end="1:00")
    assert bad.status_code == 302
    assert "Please give the times as minutes and seconds" in curator_client.get(
        f"/stories/{story.id}/people"
    ).get_data(as_text=True)

    covered = post(curator_client, f"/stories/{story.id}/covers", story, start="0:01", end="0:02")
    assert covered.status_code == 302
    db.session.expire_all()
    assert redaction_state(story) not in (state_before, state_redacted)  # copies are stale
    web = story.media_file(MediaRole.RENDITION)
    assert web is not None
    shown = frames(get_storage().local_path(web.storage_key))
    # Covered from 1 s to 2 s, and a tenth of a second each side (rendition.COVER_MARGIN).
    inside = [picture for t, picture in shown if 0.95 < t < 2.05]
    outside = [picture for t, picture in shown if t < 0.85 or t > 2.15]
    assert inside and outside
    assert all(picture.max() <= 24 for picture in inside)  # black (limited range: 16)
    assert all(picture.std() > 20 for picture in outside)  # the test picture, as it was

    # 3. Recorded: the hold lifts, and every step is in the audit trail.
    done = post(curator_client, f"/stories/{story.id}/people/0/removed", story, picture="covered")
    assert done.status_code == 302
    db.session.expire_all()
    person = story.consent.third_parties[0]
    assert person["removed"] is True and person["picture"] == "covered"
    assert not people_to_remove(story.consent)
    assert can_view(trainer, story)
    assert trainer_client.get(f"/stories/{story.id}").status_code == 200
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == story.id))
    )
    assert {"transcript.redact", "story.picture_covered", "consent.person_removed"} <= actions

    # Changing who may see it later keeps the person removed (the wizard sends names only).
    change(
        story,
        teller,
        Choices(
            audiences={Audience.TRAINING, Audience.LEARNING_EVENTS},
            third_parties=[{"name": name, "agreed": False}],
        ),
    )
    db.session.commit()
    assert not people_to_remove(story.consent) and can_view(trainer, story)


def test_the_migration_holds_back_stories_already_released_with_someone_not_agreed(
    app: Any, make_user: Callable[..., Any]
) -> None:
    from flask_migrate import downgrade, upgrade

    held = held_story(make_user(Role.STORYTELLER))
    fine = held_story(make_user(Role.STORYTELLER), agreed=True)
    held_id, fine_id = held.id, fine.id
    directory = app.extensions["migrate"].directory
    db.session.remove()
    # Back to before this change (no hold column), then forward again: the hold is worked out
    # from the people each current version names.
    downgrade(directory=directory, revision="0008")
    upgrade(directory=directory)
    for story_id, wanted in ((held_id, True), (fine_id, False)):
        story = db.session.get(Story, story_id)
        assert story is not None and story.consent is not None
        assert story.consent.people_held is wanted
    assert ids(counted_stories()) == {fine_id}
