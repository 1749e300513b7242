"""Agreement between people: blind double coding, settling through the themes service, and the
agreement figures checked against the libraries and against known worked examples.

Stories are real rows with real consent (tests/search_factory); the queue is a real SQLite queue
that nobody runs here, so settling queues the tagger's refit without spending seconds on it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from flask import Flask
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import func, select

from consent.models import Audience
from consent.policy import counted_stories, viewable_stories
from consent.services import erase, withdraw
from storyhub.agreement import services
from storyhub.agreement.models import BlindChoice, BlindRound, BlindUnit
from storyhub.extensions import db
from storyhub.models import Role, Story, User
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind
from tests.conftest import csrf_token, login
from tests.search_factory import make_story

TEXT = "My key worker sat with me and we planned the week together, what I wanted to do"


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    app_config["QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return app_config


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, "teller")


def subtheme(key: str) -> Subtheme:
    found = db.session.scalar(select(Subtheme).where(Subtheme.key == key))
    assert found is not None
    return found


def a_story(teller: User, passages: int = 3, **kw: Any) -> Story:
    kw.setdefault("audiences", {Audience.STATISTICS})
    return make_story(teller, [f"{TEXT} (part {i})" for i in range(passages)], **kw)


def signed_in(app: Flask, user: User) -> Any:
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def coded(
    story: Story, first: User, second: User, a: dict[int, list[str]], b: dict[int, list[str]]
) -> BlindRound:
    """A round on ``story`` both coders finished: ``a`` and ``b`` map positions to keys."""
    blind = services.start_round(story, first, second.id)
    for coder, picks in ((first, a), (second, b)):
        chosen = {
            story.passages[pos].id: {subtheme(k).id for k in keys} for pos, keys in picks.items()
        }
        services.save_choices(blind, coder, chosen, finished=True)
    db.session.commit()
    return blind


# -- the figures against known examples and the libraries themselves ---------------------------


def test_kappa_and_alpha_on_the_textbook_two_by_two() -> None:
    # Wikipedia's Cohen's kappa example: 50 applications, 20 both yes, 15 both no, 5 only the
    # first said yes, 10 only the second: kappa 0.4. Krippendorff's alpha on the same table,
    # worked by hand from its coincidence matrix (n = 100 values, 55 yes, 45 no, 30 disagreeing
    # pairs): 1 - 99 * 30 / (2 * 55 * 45) = 0.4 as well.
    first = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    second = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    found = services.figure("Example", first, second)
    assert found.passages == 50
    assert found.kappa == pytest.approx(0.4, abs=1e-9)
    assert found.alpha == pytest.approx(0.4, abs=1e-9)
    assert found.kappa_words == "fair"


def test_the_alpha_library_gives_krippendorffs_own_worked_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
    # observers, twelve units, nominal values with missing ones: alpha = 0.743.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert alpha == pytest.approx(0.743, abs=5e-4)


def test_the_per_theme_table_is_the_libraries_on_the_same_matrix(app: Flask) -> None:
    subs = [subtheme(k) for k in ("listened-to", "feeling-safe", "skills", "mobility")]
    chance = random.Random(21)
    units = []
    for _ in range(60):
        first = {s.id for s in subs if chance.random() < 0.35}
        # The second coder mostly agrees, sometimes not.
        second = {s.id for s in subs if (s.id in first) != (chance.random() < 0.2)}
        units.append(
            services.Unit(frozenset(first), frozenset(second), frozenset(s.id for s in subs))
        )
    table = services.agreement_table(units, subs)
    for sub, row in zip(subs, table.subthemes, strict=True):
        a = [int(sub.id in u.first) for u in units]
        b = [int(sub.id in u.second) for u in units]
        assert row.label == sub.label and row.passages == 60
        assert row.kappa == pytest.approx(cohen_kappa_score(a, b))
        assert row.alpha == pytest.approx(
            krippendorff.alpha(reliability_data=[a, b], level_of_measurement="nominal")
        )
    # A kind is present on a passage when any of its subthemes is.
    process = {s.id for s in subs if s.kind == ThemeKind.PROCESS}
    a = [int(bool(u.first & process)) for u in units]
    b = [int(bool(u.second & process)) for u in units]
    row = next(f for f in table.kinds if f.label == ThemeKind.PROCESS.label)
    assert row.kappa == pytest.approx(cohen_kappa_score(a, b))


def test_nobody_choosing_a_theme_gives_no_number_and_bands_have_words() -> None:
    nothing = services.figure("Unused", [0, 0, 0], [0, 0, 0])
    assert nothing.kappa is None and nothing.alpha is None and not nothing.measurable
    assert services.band(0.6) == "moderate"
    assert services.band(0.61) == "substantial"
    assert services.band(0.15) == "slight"
    assert services.band(0.9) == "almost perfect"
    assert services.band(-0.2).startswith("poor")


# -- blind coding, comparing, settling ----------------------------------------------------------


def test_two_curators_code_blind_compare_and_settle_through_the_themes_service(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    story = make_story(
        teller,
        [f"{TEXT} (part {i})" for i in range(3)],
        audiences={Audience.STATISTICS},
        suggested={0: ["mobility"]},
    )
    story.passages[0].themes[0].confidence = 0.8  # the tagger's suggestion, as it makes them
    db.session.commit()
    ann = make_user(Role.CURATOR, "ann", display_name="Ann")
    bob = make_user(Role.ADMIN, "bob", display_name="Bob")
    first, second = signed_in(app, ann), signed_in(app, bob)
    p0, p1, p2 = (p.id for p in story.passages)
    listened, safe, skills = (subtheme(k).id for k in ("listened-to", "feeling-safe", "skills"))

    page = first.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Code this story blind with a colleague" in page
    assert "% sure" in page  # the story page shows the tagger's suggestion; the coding page won't
    token = csrf_token(first, f"/stories/{story.id}/blind")
    response = first.post(
        f"/stories/{story.id}/blind", data={"colleague": bob.id, "csrf_token": token}
    )
    assert response.status_code == 302
    blind = db.session.scalar(select(BlindRound))
    assert blind is not None and blind.coder_ids() == (ann.id, bob.id)

    # Ann saves her choices; Bob's page shows none of them, nor the tagger's suggestion.
    url = f"/blind/{blind.id}"
    token = csrf_token(first, url)
    first.post(
        url,
        data={f"theme-{p0}": [listened, safe], f"theme-{p1}": [skills], "csrf_token": token},
    )
    bobs_page = second.get(url).get_data(as_text=True)
    assert "checked" not in bobs_page
    assert "% sure" not in bobs_page and "theme-suggested" not in bobs_page
    assert "each of you judges alone" in bobs_page
    # Each passage's themes are grouped by kind, named for screen readers by their passage.
    assert 'Process<span class="sr-only"> themes in passage 3</span>' in bobs_page
    # Nothing a coder chose is a tag yet.
    assert db.session.scalar(select(func.count()).select_from(PassageTheme)) == 1

    # Comparing waits for both.
    assert second.get(f"{url}/compare").status_code == 302
    token = csrf_token(first, url)
    first.post(
        url,
        data={
            f"theme-{p0}": [listened, safe],
            f"theme-{p1}": [skills],
            "action": "finish",
            "csrf_token": token,
        },
    )
    token = csrf_token(second, url)
    response = second.post(
        url,
        data={
            f"theme-{p0}": [listened],
            f"theme-{p2}": [skills],
            "action": "finish",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302 and response.location.endswith(f"{url}/compare")

    compare = second.get(f"{url}/compare").get_data(as_text=True)
    assert "Only Ann chose <strong>Feeling safe</strong>" in compare
    assert "Only Bob chose" in compare
    # This story's figures: only the themes somebody chose.
    assert '<th scope="row">Feeling safe</th>' in compare
    assert '<th scope="row">Having a say</th>' not in compare

    # Settling asks about every difference, in words.
    token = csrf_token(second, f"{url}/compare")
    response = second.post(
        f"{url}/compare", data={f"keep-{p0}-{safe}": "keep", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "for every theme you differ on" in response.get_data(as_text=True)
    response = second.post(
        f"{url}/compare",
        data={
            f"keep-{p0}-{safe}": "keep",
            f"keep-{p1}-{skills}": "perhaps",
            f"keep-{p2}-{skills}": "keep",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400 and "Keep it" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PassageTheme)) == 1

    response = second.post(
        f"{url}/compare",
        data={
            f"keep-{p0}-{safe}": "keep",
            f"keep-{p1}-{skills}": "leave",
            f"keep-{p2}-{skills}": "keep",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    tags = {(t.passage_id, t.subtheme.key): t for t in db.session.scalars(select(PassageTheme))}
    confirmed = {k for k, t in tags.items() if t.status == TagStatus.CONFIRMED}
    assert confirmed == {(p0, "listened-to"), (p0, "feeling-safe"), (p2, "skills")}
    assert all(tags[k].decided_by_id == bob.id for k in confirmed)
    # The tagger's suggestion the settled version leaves out is rejected (and kept).
    assert tags[(p0, "mobility")].status == TagStatus.REJECTED
    assert (p1, "skills") not in tags
    settled = db.session.get(BlindRound, blind.id)
    assert settled is not None and settled.settled and settled.settled_by_id == bob.id
    # Kept for the figures.
    assert db.session.scalar(select(func.count()).select_from(BlindChoice)) == 5


def test_other_peoples_rounds_are_not_found_and_forged_values_get_words(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    story, other_story = a_story(teller), a_story(teller, title="Another")
    ann, bob = make_user(Role.CURATOR, "ann"), make_user(Role.CURATOR, "bob")
    carol = make_user(Role.CURATOR, "carol")
    blind = services.start_round(story, ann, bob.id)
    db.session.commit()
    outsider = signed_in(app, carol)
    assert outsider.get(f"/blind/{blind.id}").status_code == 404
    assert outsider.get(f"/blind/{blind.id}/compare").status_code == 404
    assert outsider.get("/blind/999999").status_code == 404
    trainer = signed_in(app, make_user(Role.TRAINER))
    assert trainer.get("/agreement").status_code == 403
    assert trainer.get(f"/stories/{story.id}/blind").status_code == 403

    coder = signed_in(app, ann)
    url = f"/blind/{blind.id}"
    listened = subtheme("listened-to").id
    p0 = story.passages[0].id
    token = csrf_token(coder, url)
    coder.post(url, data={f"theme-{p0}": [listened], "csrf_token": token})
    for forged in ({f"theme-{p0}": ["999999"]}, {f"theme-{p0}": ["<b>"]}):
        response = coder.post(url, data={**forged, "csrf_token": token})
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "Please choose themes from the list on the page." in text
        assert 'role="alert"' in text
        # What was saved before is still there.
        assert re.search(rf'name="theme-{p0}" value="{listened}" checked', text)
    # Fields the page never had (another story's passage) are not read at all.
    other_passage = other_story.passages[0].id
    response = coder.post(
        url,
        data={f"theme-{p0}": [listened], f"theme-{other_passage}": [listened], "csrf_token": token},
    )
    assert response.status_code == 302
    saved = db.session.scalars(select(BlindChoice.passage_id)).all()
    assert saved == [p0]
    # A colleague who isn't staff, or the same person twice, can't be chosen.
    token = csrf_token(coder, f"/stories/{other_story.id}/blind")
    for colleague in (ann.id, make_user(Role.TRAINER).id, "nobody"):
        response = coder.post(
            f"/stories/{other_story.id}/blind", data={"colleague": colleague, "csrf_token": token}
        )
        assert response.status_code == 400
        assert "Please choose a colleague from the list." in response.get_data(as_text=True)
    # One round at a time on a story.
    with pytest.raises(services.AgreementError):
        services.start_round(story, carol, ann.id)


def test_a_finished_coding_cannot_change(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    story = a_story(teller)
    ann, bob = make_user(Role.CURATOR), make_user(Role.CURATOR)
    blind = services.start_round(story, ann, bob.id)
    services.save_choices(blind, ann, {}, finished=True)
    with pytest.raises(services.AgreementError, match="finished"):
        services.save_choices(
            blind, ann, {story.passages[0].id: {subtheme("skills").id}}, finished=False
        )
    with pytest.raises(services.AgreementError, match="both"):
        services.settle(blind, ann, {})


# -- the figures pages ---------------------------------------------------------------------------


def test_curator_figures_count_finished_rounds_and_the_dashboard_only_counted_stories(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    ann, bob = make_user(Role.CURATOR), make_user(Role.CURATOR)
    # 24 passages: the coders agree on "listened-to" on 12 and differ on 4.
    a = {i: ["listened-to"] for i in range(16)}
    b = {i: ["listened-to"] for i in range(12)} | {i: ["listened-to"] for i in range(20, 24)}
    counted = a_story(teller, 24, title="Counted")
    coded(counted, ann, bob, a, b)
    private = a_story(teller, 24, title="Private", audiences=None)
    coded(private, ann, bob, a, a)
    unfinished = a_story(teller, 24, title="Unfinished")
    services.start_round(unfinished, ann, bob.id)
    db.session.commit()

    first = [int(i < 16) for i in range(24)]
    second = [int(i < 12 or i >= 20) for i in range(24)]
    dashboard = services.curator_agreement(counted_stories())
    process = next(f for f in dashboard.kinds if f.label == ThemeKind.PROCESS.label)
    assert dashboard.passages == 24 and process.passages == 24
    assert process.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=[first, second], level_of_measurement="nominal")
    )
    staff = services.curator_agreement(viewable_stories(ann))
    assert staff.passages == 48  # the private story counts for staff, the unfinished one nowhere

    sentence = services.dashboard_reliability()
    assert sentence.measured
    assert any(
        s.startswith("Curators agreed on Process themes with alpha") for s in sentence.sentences
    )
    viewer = signed_in(app, make_user(Role.MEMBER))
    page = viewer.get("/dashboard").get_data(as_text=True)
    reliability = page[page.index('class="reliability"') :].split("</p>", 1)[0]
    assert f"alpha {process.alpha:.2f}" in reliability and "over 24 passages" in reliability
    assert "Counted" not in reliability and TEXT not in reliability
    assert "/agreement" not in reliability  # the figures page is for staff
    printed = viewer.get("/dashboard/print").get_data(as_text=True)
    assert f"alpha {process.alpha:.2f}" in printed  # a printed report says it too

    # Withdrawn from statistics: the dashboard no longer counts it.
    withdraw(counted, teller)
    db.session.commit()
    assert not services.dashboard_reliability().measured
    page = viewer.get("/dashboard").get_data(as_text=True)
    assert "not yet measured" in page

    figures = signed_in(app, ann).get("/agreement").get_data(as_text=True)
    assert "48 passages coded by two people" in figures
    assert "Landis and Koch" in figures


def test_few_passages_say_too_few_to_tell(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    ann, bob = make_user(Role.CURATOR), make_user(Role.CURATOR)
    coded(a_story(teller, 3), ann, bob, {0: ["skills"]}, {0: ["skills"], 1: ["skills"]})
    assert not services.dashboard_reliability().measured
    page = signed_in(app, ann).get("/agreement").get_data(as_text=True)
    assert "Too few to tell" in page


def test_the_taggers_agreement_with_curators_by_month_and_kind(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    curator = make_user(Role.CURATOR)
    story = a_story(teller, 7)
    listened, mobility = subtheme("listened-to"), subtheme("mobility")
    january = datetime(2026, 1, 15, tzinfo=UTC)
    march = datetime(2026, 3, 2, tzinfo=UTC)

    def tag(position: int, sub: Subtheme, status: TagStatus, *, tagger: bool, when: Any) -> None:
        story.passages[position].themes.append(
            PassageTheme(
                subtheme=sub,
                status=status,
                confidence=0.7 if tagger else None,
                decided_by=curator if when else None,
                decided_at=when,
            )
        )

    # January: the tagger said Process on 0, 1, 2; curators confirmed it on 0, 1 and added 3.
    tag(0, listened, TagStatus.CONFIRMED, tagger=True, when=january)
    tag(1, listened, TagStatus.CONFIRMED, tagger=True, when=january)
    tag(2, listened, TagStatus.REJECTED, tagger=True, when=january)
    tag(3, listened, TagStatus.CONFIRMED, tagger=False, when=january)
    tag(4, mobility, TagStatus.REJECTED, tagger=True, when=january)
    # March: one passage; another still has a suggestion waiting, so it isn't counted.
    tag(5, listened, TagStatus.CONFIRMED, tagger=True, when=march)
    tag(6, listened, TagStatus.CONFIRMED, tagger=True, when=march)
    tag(6, mobility, TagStatus.SUGGESTED, tagger=True, when=None)
    db.session.commit()

    months = services.tagger_agreement(viewable_stories(curator))
    assert [m.month for m in months] == ["2026-01", "2026-03"]
    process = next(f for f in months[0].figures if f.label == ThemeKind.PROCESS.label)
    assert process.passages == 5
    assert process.kappa == pytest.approx(cohen_kappa_score([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]))
    # "mobility" (Change): the tagger said it once, curators never: no better than chance.
    change = next(f for f in months[0].figures if f.label == ThemeKind.CHANGE.label)
    assert change.kappa == pytest.approx(0.0) and change.passages == 5
    # Nobody said Quality of life: no number at all.
    maintenance = next(f for f in months[0].figures if f.label == ThemeKind.MAINTENANCE.label)
    assert maintenance.kappa is None and maintenance.passages == 5
    assert months[1].figures[0].passages == 1


# -- erasure ----------------------------------------------------------------------------------


def test_erasing_a_story_deletes_its_blind_coding(
    app: Flask, teller: User, make_user: Callable[..., User]
) -> None:
    ann, bob = make_user(Role.CURATOR), make_user(Role.CURATOR)
    kept = a_story(teller, title="Kept")
    coded(kept, ann, bob, {0: ["skills"]}, {0: ["skills"]})
    story = a_story(teller, title="Erased")
    blind = coded(story, ann, bob, {0: ["skills"], 1: ["listened-to"]}, {0: ["skills"]})
    blind_id = blind.id
    erase(story, teller)
    db.session.commit()
    assert db.session.get(BlindRound, blind_id) is None
    for model in (BlindUnit, BlindChoice):
        rows = db.session.scalars(select(model).where(model.round_id == blind_id)).all()
        assert rows == []
    assert db.session.scalar(select(func.count()).select_from(BlindRound)) == 1
    assert signed_in(app, ann).get(f"/blind/{blind_id}").status_code == 404
