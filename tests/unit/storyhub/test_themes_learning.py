"""What the tagger learnt, in the app: versions an administrator sees and rolls back, erasure
dropping what was learnt from a story, and the words that suggested each theme marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from consent.services import erase
from storyhub.extensions import db
from storyhub.models import AuditEvent, Role, StoryState
from storyhub.themes import services
from storyhub.themes.models import TaggerModel, TagStatus
from tests.conftest import csrf_token
from tests.unit.storyhub.test_themes import LISTENED, NEUTRAL, WALKING, give_words, tags

pytestmark = pytest.mark.slow


@pytest.fixture
def story(make_story: Callable[..., Any]) -> Any:
    made = make_story(title="Mum's care")
    assert made.state == StoryState.READY, made.failure_message
    return made


def versions() -> list[TaggerModel]:
    return list(db.session.scalars(select(TaggerModel).order_by(TaggerModel.id)))


def test_suggestions_mark_the_words_that_suggested_them(
    story: Any, login_as: Callable[..., Any]
) -> None:
    listened, _ = give_words(story, [LISTENED, NEUTRAL])
    services.suggest_for_story(story)
    db.session.commit()
    tag = tags(listened, TagStatus.SUGGESTED)["listened-to"]
    assert tag.reason_times, "a suggestion keeps the times of its words"
    starts = {float(w["start"]) for w in listened.words}
    ends = {float(w["end"]) for w in listened.words}
    assert all(start in starts and end in ends for start, end in tag.reason_times)
    marked = [
        text for text, is_marked in services.reason_words(listened, tag.reason_times) if is_marked
    ]
    assert marked and all(part in LISTENED for part in marked)

    curator, who = login_as(Role.CURATOR)
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Why this suggestion" in page
    assert '<mark><span class="sr-only">Words that suggested this theme: </span>' in page
    # Once confirmed, it is the curator's theme: nothing is marked for it any more.
    services.confirm_all(listened, who)
    db.session.commit()
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Why this suggestion" not in page


def test_an_administrator_sees_what_was_learnt_and_rolls_it_back(
    story: Any,
    make_story: Callable[..., Any],
    login_as: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:
    curator = make_user(Role.CURATOR)
    listened, walking = give_words(story, [LISTENED, WALKING])
    services.suggest_for_story(story)
    db.session.commit()
    services.confirm(tags(listened)["listened-to"], curator)
    db.session.commit()  # the refit runs after the commit: version 1
    services.reject(tags(walking)["mobility"], curator)
    db.session.commit()  # version 2
    first, second = versions()
    assert not first.in_use and second.in_use
    assert services.current_tagger()[2] == second.id
    assert (second.examples, second.curator_examples) == (2, 2)

    admin, _ = login_as(Role.ADMIN)
    assert "What the tagger has learnt" in admin.get("/admin/themes").get_data(as_text=True)
    page = admin.get("/admin/themes/learning").get_data(as_text=True)
    assert f"Version {second.id}" in page and f"Version {first.id}" in page
    assert "from 2 decisions on 2 passages" in page
    assert "Stop using what was learnt" in page and "Use this version" in page
    token = csrf_token(admin, "/admin/themes/learning")

    # Back to the first version: new suggestions use it, and it is on the record.
    response = admin.post(f"/admin/themes/learning/{first.id}/use", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert services.current_tagger()[2] == first.id
    later_story = make_story(title="A later story")
    (later,) = give_words(later_story, [LISTENED])
    services.suggest_for_story(later_story)
    db.session.commit()
    assert {t.tagger_id for t in tags(later, TagStatus.SUGGESTED).values()} == {first.id}
    used = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tagger.version_used"))
    assert used is not None and used.object_id == first.id

    # None at all: the shipped tagger alone; what curators decide next waits for the admin.
    admin.post("/admin/themes/learning/stop", data={"csrf_token": token})
    db.session.expire_all()
    assert services.current_tagger()[1:] == (None, None)
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "tagger.learning_stopped")
    )
    services.confirm_all(later, curator)
    db.session.commit()
    assert len(versions()) == 3 and services.current_tagger()[2] is None
    assert "Nothing learnt is in use" in admin.get("/admin/themes/learning").get_data(as_text=True)

    # A version that isn't kept, or isn't a number: a kind message, never an error page.
    response = admin.post(
        "/admin/themes/learning/99999/use", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "no longer kept" in response.get_data(as_text=True)
    assert admin.post("/admin/themes/learning/x/use", data={"csrf_token": token}).status_code == 404

    # Curators don't roll back.
    other, _ = login_as(Role.CURATOR)
    assert other.get("/admin/themes/learning").status_code == 403
    token = csrf_token(other, f"/stories/{story.id}")
    assert (
        other.post(f"/admin/themes/learning/{first.id}/use", data={"csrf_token": token}).status_code
        == 403
    )


def test_erasing_a_story_drops_only_the_versions_that_learnt_from_it(
    story: Any, make_story: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    (kept_passage,) = give_words(story, [LISTENED])
    services.add_tag(kept_passage, services.all_subthemes()[0], curator)
    db.session.commit()
    (before,) = versions()
    other = make_story(title="To be erased")
    (erased_passage,) = give_words(other, [WALKING])
    services.add_tag(erased_passage, services.all_subthemes()[1], curator)
    db.session.commit()
    assert [v.story_ids for v in versions()] == [[story.id], sorted([story.id, other.id])]

    erase(other, other.storyteller)
    db.session.commit()  # the refit after erasure learns again without it
    remaining = versions()
    assert all(other.id not in v.story_ids for v in remaining)
    assert remaining[0].id == before.id and len(remaining) == 2
    assert remaining[-1].in_use and remaining[-1].examples == 1


def test_a_versions_effect_is_measured_on_held_back_decisions(
    story: Any, make_user: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    texts = [LISTENED, NEUTRAL, WALKING] * 4
    passages = give_words(story, texts)
    services.suggest_for_story(story)
    for passage in passages:
        for tag in [t for t in passage.themes if t.status == TagStatus.SUGGESTED]:
            services.confirm(tag, curator)
        if not passage.themes:
            services.add_tag(passage, services.all_subthemes()[0], curator)
    db.session.commit()
    newest = versions()[-1]
    assert newest.effect is not None
    assert newest.effect["passages"] == len(texts) // 5
    assert 0 <= newest.effect["before"] <= newest.effect["held_back"]
    assert 0 <= newest.effect["after"] <= newest.effect["held_back"]
    admin, _ = login_as(Role.ADMIN)
    page = admin.get("/admin/themes/learning").get_data(as_text=True)
    assert f"On those {newest.effect['held_back']} decisions" in page
