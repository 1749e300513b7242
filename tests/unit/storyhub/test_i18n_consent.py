"""Consent in Welsh: what a person agrees to reads as whole Welsh sentences, for every mix of
audiences, with Welsh "a"/"ac"/"a'r" in lists, Welsh month names and the six plural forms.

The expected Welsh is looked up through the catalogue (``force_locale("cy")``), so these tests stay
true when the wording changes; each also checks a literal Welsh word it knows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from babel.dates import format_date as babel_format_date
from flask import Flask
from flask_babel import force_locale, gettext

from consent.describe import list_of, sharing
from consent.models import Audience
from consent.policy import clip_refusal
from consent.services import Choices, release, withdraw
from storyhub.extensions import db
from storyhub.models import Role
from storyhub.stories.consent_forms import RenewForm, months_label

WELSH = {"Accept-Language": "cy"}


@pytest.fixture
def in_welsh(app: Flask) -> Iterator[None]:
    """A request whose browser asks for Welsh."""
    with app.test_request_context("/", headers=WELSH):
        yield


def shared_story(make_story: Callable[..., Any], teller: Any, **choices: Any) -> Any:
    story = make_story(teller, "wav", title="Y ganolfan ddydd")
    release(story, teller, Choices(**choices), watched=True)
    db.session.commit()
    return story


@pytest.mark.parametrize(
    ("audiences", "welsh_list"),
    [
        ({Audience.TRAINING}, "hyfforddiant"),
        ({Audience.TRAINING, Audience.LEARNING_EVENTS}, "hyfforddiant a digwyddiadau dysgu"),
        ({Audience.TRAINING, Audience.PUBLIC}, "hyfforddiant a'r cyhoedd"),
        (
            {Audience.CARE_TEAM, Audience.TRAINING, Audience.STATISTICS},
            "fy nhîm gofal, hyfforddiant ac ystadegau dienw",
        ),
        (set(Audience), "fy nhîm gofal, hyfforddiant, digwyddiadau dysgu, sefydliadau partner, "
         "y cyhoedd ac ystadegau dienw"),
    ],
)  # fmt: skip
def test_the_welsh_summary_of_a_consent_is_one_whole_sentence(
    app: Flask,
    make_user: Callable[..., Any],
    make_story: Callable[..., Any],
    audiences: set[Audience],
    welsh_list: str,
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = shared_story(make_story, teller, audiences=audiences)
    until = story.consent.review_date
    with app.test_request_context("/", headers=WELSH):
        summary = sharing(story).text
        with force_locale("cy"):
            expected = gettext(
                "Shared for: %(audiences)s · until %(month)s",
                audiences=welsh_list,
                month=babel_format_date(until, "MMMM y", locale="cy"),
            )
    assert summary == expected
    assert summary.startswith("Wedi'i rhannu ar gyfer: ")
    assert babel_format_date(until, "MMMM", locale="cy") in summary  # the Welsh month's name
    # The same consent in English is unchanged: "Shared for: training, learning events".
    with app.test_request_context("/"), force_locale("en"):
        english = sharing(story).text
    assert english.startswith("Shared for: ") and "Wedi" not in english


def test_welsh_lists_choose_a_ac_or_ar_and_mutate_after_a(in_welsh: None) -> None:
    assert list_of(["hyfforddiant", "y cyhoedd"]) == "hyfforddiant a'r cyhoedd"
    assert list_of(["hyfforddiant", "yr ardal"]) == "hyfforddiant a'r ardal"
    assert list_of(["hyfforddiant", "ystadegau dienw"]) == "hyfforddiant ac ystadegau dienw"
    # "a" turns c, p, t into ch, ph, th (aspirate mutation); other letters stay.
    assert list_of(["hyfforddiant", "cyngor"]) == "hyfforddiant a chyngor"
    assert list_of(["hyfforddiant", "partneriaid"]) == "hyfforddiant a phartneriaid"
    assert list_of(["un", "dau", "tri"]) == "un, dau a thri"
    assert list_of(["hyfforddiant"]) == "hyfforddiant"


def test_the_teller_and_others_each_read_a_whole_welsh_sentence_with_a_welsh_date(
    app: Flask, make_user: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = shared_story(make_story, teller, audiences={Audience.TRAINING})
    withdraw(story, teller)
    db.session.commit()
    when = babel_format_date(story.consent.created_at, "d MMMM y", locale="cy")
    with app.test_request_context("/", headers=WELSH):
        for_teller = sharing(story, viewer_is_teller=True).text
        for_staff = sharing(story).text
        with force_locale("cy"):
            assert for_teller == gettext(
                "Withdrawn by the storyteller on %(date)s: only you and curators can see it.",
                date=when,
            )
    assert when in for_teller and "Wedi'i thynnu'n ôl" in for_teller and "chi a'r" in for_teller
    assert "adroddwr y stori a'r curaduron" in for_staff


def test_the_wizard_asks_its_questions_in_welsh(
    login_as: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    client, teller = login_as(Role.STORYTELLER)
    story = make_story(teller, "wav", title="Y ganolfan ddydd")
    client.get("/language/cy?next=/")  # the "Cymraeg" link: signing in kept English
    page = client.get(f"/stories/{story.id}/consent").get_data(as_text=True)
    with force_locale("cy"):
        question = gettext("Who may see your story?")
        care_team = gettext("My care team: the people who support me, so they know me better")
        six_months = months_label(6)
    assert question in page and "Pwy gaiff weld eich stori?" in page  # a lazy form label
    assert care_team in page and "Fy nhîm gofal" in page  # a lazy choice
    assert six_months in page and "6 mis" in page
    assert "Who may see your story?" not in page


def test_sharing_periods_use_the_six_welsh_plural_forms(in_welsh: None) -> None:
    assert months_label(2) == "2 fis"  # "dau fis": soft mutation after two
    assert months_label(6) == "6 mis"
    assert months_label(24) == "2 flynedd"
    assert [choice.label for choice in RenewForm(meta={"csrf": False}).months.choices] == [
        "6 mis",
        "12 mis",
        "2 flynedd",
    ]


def test_consent_refuses_in_welsh(
    app: Flask, make_user: Callable[..., Any], make_story: Callable[..., Any]
) -> None:
    teller = make_user(Role.STORYTELLER)
    story = shared_story(make_story, teller, audiences={Audience.TRAINING}, clips_allowed=False)
    with app.test_request_context("/", headers=WELSH):
        refusal = clip_refusal(story)
        with force_locale("cy"):
            assert refusal == gettext("Its storyteller does not allow clips to be made from it.")
    assert refusal is not None and refusal.startswith("Dydy adroddwr y stori")
