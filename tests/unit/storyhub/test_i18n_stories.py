"""The story pages and their job messages in Welsh.

Job messages are stored in English (the msgid) by a worker that knows nobody's language, and are
translated when read: the progress JSON and the story page follow the reader's language. The
expected Welsh is looked up through the catalogue (``force_locale("cy")``) so these tests stay true
when the wording changes; each also checks a literal Welsh word.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_babel import force_locale, gettext, ngettext
from markupsafe import escape

from media_pipeline.errors import MESSAGES
from storyhub.extensions import db
from storyhub.jobs import JobContext
from storyhub.models import Job, JobState, Role
from storyhub.processing import PROCESS_STORY
from storyhub.stories.forms import UploadForm
from tests.conftest import csrf_token

WELSH = {"Accept-Language": "cy"}


def welsh(message: str, **values: Any) -> str:
    """``message`` as the Welsh catalogue has it."""
    with force_locale("cy"):
        return gettext(message, **values)


def shows(page: str, text: str) -> bool:
    """Whether ``page`` shows ``text`` (translations are trusted markup: not always escaped)."""
    return text in page or str(escape(text)) in page


def reads_welsh(user: Any) -> None:
    """``user`` chose Welsh (signing in kept the English of the sign-in page)."""
    user.language = "cy"
    db.session.commit()


def running_job(story: Any, message: str) -> Job:
    """A job preparing ``story``, part way through, as a worker leaves it."""
    job = Job(kind=PROCESS_STORY, story=story, state=JobState.RUNNING, progress=0.3)
    db.session.add(job)
    db.session.commit()
    JobContext(job_id=job.id, story_id=story.id).report(0.3, message)
    return job


def test_a_jobs_progress_is_read_in_the_readers_language(
    app: Flask, login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "wav")
    job = running_job(story, "Writing down the words")
    curator, _ = login_as(Role.CURATOR)
    english = curator.get(f"/jobs/{job.id}").get_json()
    assert english["message"] == "Writing down the words"
    reads_welsh(teller)
    db.session.refresh(job)
    assert job.message == "Writing down the words"  # stored as the msgid

    in_welsh = client.get(f"/jobs/{job.id}", headers=WELSH).get_json()
    assert in_welsh["message"] == welsh("Writing down the words")
    assert in_welsh["message"].startswith("Yn ysgrifennu")

    # A stage with numbers in it: the numbers go where the Welsh sentence puts them.
    JobContext(job_id=job.id, story_id=story.id).report(0.5, "Cutting clip 2 of 3")
    numbered = client.get(f"/jobs/{job.id}", headers=WELSH).get_json()["message"]
    assert numbered == welsh("Cutting clip %(number)s of %(total)s", number="2", total="3")
    assert numbered == "Yn torri clip 2 o 3"


def test_the_story_being_prepared_page_is_in_welsh(
    app: Flask, login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    reads_welsh(teller)
    story = make_story(teller, "wav")
    running_job(story, "Getting the sound ready")
    page = client.get(f"/stories/{story.id}", headers=WELSH).get_data(as_text=True)
    for message in (
        "We are preparing your story",
        "Getting the sound ready",
        "You can leave this page; we will keep going.",
    ):
        assert shows(page, welsh(message))
    assert "Rydyn ni'n paratoi eich stori" in page
    assert "Getting the sound ready" not in page
    assert 'lang="cy"' in page


def test_a_failure_whose_limit_has_no_translation_is_shown_in_its_kinds_welsh(
    app: Flask, login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    reads_welsh(teller)
    story = make_story(teller, "wav")
    job = Job(
        kind=PROCESS_STORY,
        story=story,
        state=JobState.FAILED,
        message="This recording is shorter than 1 second, so there is nothing to play. "
        "Please check you chose the right file.",
        error_code="too_short",
    )
    job.error_message = job.message
    db.session.add(job)
    db.session.commit()
    shown = client.get(f"/jobs/{job.id}", headers=WELSH).get_json()["error"]
    assert shown == welsh(MESSAGES["too_short"])
    assert "recordiad" in shown


def test_an_upload_refused_in_welsh_says_why_in_welsh(
    app: Flask, login_as: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    reads_welsh(teller)
    data = {
        "title": "Fy stori",
        "language": "cy",
        "teller_kind": "service_user",
        "take_part": "y",
        "csrf_token": csrf_token(client, "/stories/new"),
        "media": (io.BytesIO(b"not a video at all " * 100), "stori.mp4"),
    }
    response = client.post(
        "/stories/new", data=data, content_type="multipart/form-data", headers=WELSH
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any(shows(page, welsh(message)) for message in MESSAGES.values())
    assert not any(shows(page, message) for message in MESSAGES.values())
    assert shows(page, welsh("Which language is the story told in?"))  # a lazy label
    assert "Ym mha iaith" in page


def test_the_upload_forms_labels_are_lazy(app: Flask) -> None:
    """Made at import, shown per request: each reader gets their own language."""
    label = UploadForm.take_part.args[0]  # made once, when the module was imported
    with app.test_request_context("/"):
        with force_locale("cy"):
            welsh_label = str(label)
        with force_locale("en"):
            english_label = str(label)
    assert english_label.startswith("Yes, I agree")
    assert welsh_label == welsh(english_label)
    assert welsh_label.startswith("Ydw")


def test_the_places_a_name_was_removed_from_take_welsh_plurals(app: Flask) -> None:
    singular = "Removed “%(name)s” from %(num)d place. It is hidden in the words and captions, and will be silent in the video."  # noqa: E501
    plural = "Removed “%(name)s” from %(num)d places. It is hidden in the words and captions, and will be silent in the video."  # noqa: E501
    with app.test_request_context("/"), force_locale("cy"):
        two = ngettext(singular, plural, 2, name="Siân")
        three = ngettext(singular, plural, 3, name="Siân")
    assert "o 2 le." in two  # "dau le": lle softens after two
    assert "o 3 lle." in three
