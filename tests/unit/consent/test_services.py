"""Consent records: two steps, versions never edited, review dates, proxies, withdrawal, erasure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from consent import can_view
from consent.models import Audience, ConsentAction, ConsentStatus, ConsentVersion, RecordedFor
from consent.policy import today
from consent.services import (
    Choices,
    ConsentError,
    add_months,
    change,
    erase,
    release,
    renew,
    reviews_due,
    withdraw,
)
from storyhub.extensions import db
from storyhub.jobs.queue import execute
from storyhub.models import AuditEvent, Job, MediaFile, Role, StoryState
from storyhub.storage import get_storage


@pytest.fixture
def teller(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.STORYTELLER)


@pytest.fixture
def story(make_story: Callable[..., Any], teller: Any) -> Any:
    return make_story(teller, "wav", title="Chapel lunch")


def test_upload_records_step_one_and_nothing_is_shared(story: Any, teller: Any) -> None:
    consent = story.consent
    assert consent.version == 1 and consent.action == ConsentAction.TAKE_PART
    assert consent.status == ConsentStatus.ACTIVE and not consent.released
    assert consent.audiences == set() and consent.recorded_by_id == teller.id


def test_release_needs_a_ready_story_that_the_teller_has_watched(story: Any, teller: Any) -> None:
    choices = Choices(audiences={Audience.TRAINING})
    with pytest.raises(ConsentError, match="watch"):
        release(story, teller, choices, watched=False)
    story.state = StoryState.PROCESSING
    with pytest.raises(ConsentError, match="ready"):
        release(story, teller, choices, watched=True)
    story.state = StoryState.READY
    version = release(story, teller, choices, watched=True)
    db.session.commit()
    assert version.version == 2 and version.released and version.audiences == {Audience.TRAINING}
    assert version.review_date == add_months(today(), 12)


def test_every_change_is_a_new_version_and_old_ones_are_never_edited(
    story: Any, teller: Any
) -> None:
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    db.session.commit()
    change(story, teller, Choices(audiences={Audience.TRAINING, Audience.LEARNING_EVENTS}))
    db.session.commit()
    renew(story, teller, 24)
    withdraw(story, teller)
    db.session.commit()
    history = db.session.scalars(
        select(ConsentVersion).where(ConsentVersion.story_id == story.id).order_by("version")
    ).all()
    assert [v.action for v in history] == [
        ConsentAction.TAKE_PART,
        ConsentAction.RELEASE,
        ConsentAction.CHANGE,
        ConsentAction.RENEW,
        ConsentAction.WITHDRAW,
    ]
    assert history[1].audiences == {Audience.TRAINING}  # as it was released
    assert history[2].audiences == {Audience.TRAINING, Audience.LEARNING_EVENTS}
    assert history[3].review_date == add_months(today(), 24)
    assert history[4].status == ConsentStatus.WITHDRAWN and story.consent == history[4]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == story.id)
    ).all()
    assert "consent.withdraw" in actions and "consent.release" in actions


def test_a_proxy_decision_needs_a_name_a_relationship_and_a_best_interests_note(
    story: Any, make_user: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    incomplete = Choices(audiences={Audience.TRAINING}, recorded_for=RecordedFor.PROXY)
    with pytest.raises(ConsentError, match="best interests"):
        release(story, curator, incomplete, watched=True)
    complete = Choices(
        audiences={Audience.TRAINING},
        recorded_for=RecordedFor.PROXY,
        proxy_name="Ann Price",
        proxy_relationship="daughter, lasting power of attorney",
        best_interests_note="Her father wanted staff to hear how the day centre helped.",
    )
    version = release(story, curator, complete, watched=True)
    assert version.recorded_for == RecordedFor.PROXY and version.recorded_by_id == curator.id


def test_a_childs_consent_lapses_when_they_turn_18(story: Any, teller: Any) -> None:
    turns_18 = today() + timedelta(days=90)
    with pytest.raises(ConsentError, match="18th birthday"):
        release(
            story,
            teller,
            Choices(
                audiences={Audience.TRAINING}, recorded_for=RecordedFor.PARENT, proxy_name="Mum"
            ),
            watched=True,
        )
    version = release(
        story,
        teller,
        Choices(
            audiences={Audience.TRAINING},
            recorded_for=RecordedFor.PARENT,
            proxy_name="Mum",
            adult_on=turns_18,
        ),
        watched=True,
    )
    assert version.review_date == turns_18  # not 12 months away


def test_a_passed_review_date_hides_the_story_until_renewed(
    story: Any, teller: Any, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = make_user(Role.TRAINER)
    release(story, teller, Choices(audiences={Audience.TRAINING}, review_months=6), watched=True)
    db.session.commit()
    assert can_view(trainer, story)
    later = add_months(today(), 7)
    monkeypatch.setattr("consent.policy.today", lambda: later)
    monkeypatch.setattr("consent.services.today", lambda: later)
    assert not can_view(trainer, story)
    assert can_view(teller, story)  # the teller still sees it, to renew it
    assert story in reviews_due()
    renew(story, teller, 12)
    db.session.commit()
    assert can_view(trainer, story)
    assert story.consent.review_date == add_months(later, 12)


def test_reviews_due_lists_only_stories_due_within_the_window(
    make_story: Callable[..., Any], teller: Any
) -> None:
    soon = make_story(teller, "wav", title="soon")
    later = make_story(teller, "wav", title="later")
    release(soon, teller, Choices(audiences={Audience.TRAINING}, review_months=1), watched=True)
    release(later, teller, Choices(audiences={Audience.TRAINING}, review_months=12), watched=True)
    db.session.commit()
    due = reviews_due()
    assert soon in due and later not in due


def test_staff_must_give_a_reason_to_withdraw_for_the_teller(
    story: Any, teller: Any, make_user: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    with pytest.raises(ConsentError, match="why"):
        withdraw(story, curator, "")
    version = withdraw(story, curator, "The teller phoned to ask.")
    assert version.reason == "The teller phoned to ask."
    with pytest.raises(ConsentError, match="already"):
        withdraw(story, teller)


def test_the_teller_can_share_again_after_withdrawing(story: Any, teller: Any) -> None:
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    withdraw(story, teller)
    version = release(story, teller, Choices(audiences={Audience.LEARNING_EVENTS}), watched=True)
    assert version.status == ConsentStatus.ACTIVE and version.audiences == {
        Audience.LEARNING_EVENTS
    }


def test_withdrawal_schedules_the_purge_after_the_commit(story: Any, teller: Any) -> None:
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    withdraw(story, teller)
    db.session.commit()  # the immediate test queue runs the purge job now
    job = db.session.scalars(select(Job).where(Job.kind == "purge_media")).one()
    assert job.state.value == "done"
    # Withdrawal deletes the copies made for audiences; the original and thumbnail stay for the
    # teller, who may share again.
    db.session.expire_all()
    assert {m.role.value for m in story.media} == {"original", "thumbnail"}
    # Shared again: the web copy is made again.
    release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)
    db.session.commit()
    db.session.expire_all()
    assert "rendition" in {m.role.value for m in story.media}


def test_erasure_deletes_the_media_and_the_words(
    story: Any, teller: Any, make_user: Callable[..., Any]
) -> None:
    release(
        story,
        teller,
        Choices(
            audiences={Audience.TRAINING},
            third_parties=[{"name": "Gwen Jones", "agreed": False}],
            notes="Mentions her sister",
        ),
        watched=True,
    )
    db.session.commit()
    paths = [get_storage().local_path(m.storage_key) for m in story.media]
    assert all(p.exists() for p in paths)
    with pytest.raises(ConsentError, match="why"):
        erase(story, make_user(Role.CURATOR), "")
    erase(story, teller)
    db.session.commit()
    db.session.expire_all()
    assert story.consent.status == ConsentStatus.ERASED
    assert story.title == "(erased story)" and story.description == ""
    assert not any(p.exists() for p in paths)
    assert db.session.scalars(select(MediaFile).where(MediaFile.story_id == story.id)).all() == []
    for version in story.consent_history:
        assert version.notes == "" and all(p["name"] == "" for p in version.third_parties)
    assert not can_view(teller, story)
    # The audit trail keeps who, when and what kind of action: never the content.
    for event in db.session.scalars(select(AuditEvent)).all():
        assert "Gwen" not in str(event.detail) and "Chapel" not in str(event.detail)
    with pytest.raises(ConsentError, match="erased"):
        release(story, teller, Choices(audiences={Audience.TRAINING}), watched=True)


def test_a_failed_purge_job_can_be_retried(story: Any, teller: Any) -> None:
    """The purge is a job like any other: if it ran again it would find nothing more to do."""
    erase(story, teller)
    db.session.commit()
    job = db.session.scalars(select(Job).where(Job.kind == "purge_media")).one()
    job.state = job.state.__class__("queued")
    db.session.commit()
    execute(job.id)
    db.session.expire_all()
    assert job.state.value == "done" and job.attempts == 2


def test_add_months_keeps_to_real_dates() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 22), 12) == date(2027, 11, 22)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
