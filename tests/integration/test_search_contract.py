"""The search contract: the same cases, run on both real engines (tantivy and Elasticsearch).

Each test goes the whole way: stories written to the database, indexed after the commit by the
real sync task, searched through the same service as the page and the API, for a real user whose
consent scope decides what may be found.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from consent.models import Audience
from consent.services import erase, withdraw
from search import Scope, SearchMode, SearchRequest, parse_text
from storyhub import jobs
from storyhub.extensions import db
from storyhub.finder.indexing import all_documents, get_backend, reindex, sync_pending
from storyhub.finder.services import SearchPage, run_search
from storyhub.models import Language, Role, ServiceSetting, TellerKind, User
from storyhub.transcripts import redact
from tests.search_factory import make_story

# The Elasticsearch runs reach the server through getfixturevalue, which conftest.py can't see.
ENGINES = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.elastic)]
TRAINING = {Audience.TRAINING}


@pytest.fixture(scope="session")
def elasticsearch_url() -> Iterator[str]:
    """A real Elasticsearch on 127.0.0.1 for the whole run (or STORYHUB_TEST_ELASTICSEARCH_URL)."""
    given = os.environ.get("STORYHUB_TEST_ELASTICSEARCH_URL")
    if given:
        yield given
        return
    from tests.support.elastic_server import ElasticsearchServer

    with ElasticsearchServer(heap_mb=512) as server:
        yield server.url


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> str:
    """Run the test once per engine; the app is configured for it."""
    name: str = request.param
    if name == "elasticsearch":
        app_config["SEARCH_URL"] = request.getfixturevalue("elasticsearch_url")
        app_config["SEARCH_INDEX"] = f"test-{uuid.uuid4().hex[:10]}"
        app_config["SEARCH_REPLICAS"] = 0
    return name


@pytest.fixture
def search_app(engine: str, app: Flask) -> Iterator[Flask]:
    yield app
    backend = get_backend(app)
    if engine == "elasticsearch":
        backend.delete_everything()  # type: ignore[attr-defined]
    backend.close()


@pytest.fixture
def people(search_app: Flask, make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "teller": make_user(Role.STORYTELLER, "teller"),
        "other_teller": make_user(Role.STORYTELLER, "other"),
        "trainer": make_user(Role.TRAINER, "trainer"),
        "member": make_user(Role.MEMBER, "member"),
        "curator": make_user(Role.CURATOR, "curator"),
    }


def find(user: User, q: str = "", **filters: Any) -> SearchPage:
    args = MultiDict([("q", q)])
    for name, value in filters.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            args.add(name, str(item))
    return run_search(user, args)


def find_by(user: User, mode: str, q: str) -> SearchPage:
    """A search in ``mode`` ("hybrid", "words" or "meaning"), as the page's "Find by" sends it."""
    return find(user, q, mode=mode)


def titles(page: SearchPage) -> list[str]:
    return [r.story.title for r in page.stories]


def passage_texts(page: SearchPage) -> list[str]:
    return [p.passage.text for r in page.stories for p in r.passages]


def engine_story_ids(q: str) -> set[int]:
    """What the engine itself holds for ``q``, with no consent filter and no read-back."""
    request = SearchRequest(text=parse_text(q), scope=Scope(everything=True), stories_per_page=50)
    return {g.story_id for g in get_backend().search(request).groups}


# --- words -----------------------------------------------------------------------------------


def test_stemming_finds_every_form_of_a_word(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(teller, ["The social worker listened to me for an hour."], title="Listened",
               audiences=TRAINING)  # fmt: skip
    make_story(teller, ["Nobody was listening to what I said."], title="Listening",
               audiences=TRAINING)  # fmt: skip
    make_story(teller, ["I like to watch the football."], title="Football", audiences=TRAINING)

    page = find(people["trainer"], "listens", mode="words")  # words alone: the exact rule
    assert sorted(titles(page)) == ["Listened", "Listening"]
    assert page.total_passages == 2
    marked = [t for r in page.stories for p in r.passages for t, m in p.snippet.pieces if m]
    assert sorted(marked) == ["listened", "listening"]


def test_phrases_match_words_together_in_order(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(teller, ["At last someone listened to me properly."], title="Together",
               audiences=TRAINING)  # fmt: skip
    make_story(teller, ["I went to the shops and nobody listened."], title="Apart",
               audiences=TRAINING)  # fmt: skip

    assert titles(find(people["trainer"], '"listened to"')) == ["Together"]
    assert sorted(titles(find(people["trainer"], "listened to"))) == ["Apart", "Together"]
    assert titles(find(people["trainer"], '"to listened"')) == []


def test_prefixes_and_common_words(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(teller, ["The carers came every morning."], title="Carers", audiences=TRAINING)
    make_story(teller, ["I was lonely after my stroke."], title="Stroke", audiences=TRAINING)
    make_story(teller, ["My car broke down."], title="Car", audiences=TRAINING)

    assert titles(find(people["trainer"], "carer*")) == ["Carers"]
    assert sorted(titles(find(people["trainer"], "car*"))) == ["Car", "Carers"]
    # "the" is ignored outside quotes, so the teller's own words still match.
    assert titles(find(people["trainer"], "lonely after the stroke")) == ["Stroke"]


def test_results_are_grouped_by_story_with_its_best_passages(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(
        teller,
        [
            "Lonely, lonely, so lonely in the winter.",
            "The bus was late.",
            "I felt lonely at night.",
            "Lonely on Sundays too.",
            "Sometimes lonely at lunch.",
        ],
        title="Many",
        audiences=TRAINING,
    )
    make_story(teller, ["Once I was lonely."], title="One", audiences=TRAINING)

    page = find(people["trainer"], "lonely")
    assert page.total_passages == 5
    assert page.total_stories == 2
    many = next(r for r in page.stories if r.story.title == "Many")
    assert len(many.passages) == 3  # the best three; the story's own link lists the rest
    assert many.passages[0].passage.position == 0  # the densest passage first
    within = find(people["trainer"], "lonely", story=many.story.id)
    assert len(within.stories) == 1
    assert within.total_passages == 4


# --- filters and facets ------------------------------------------------------------------------


def test_filters_and_facet_counts_equal_the_matching_passages(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(
        teller,
        ["My support worker listened.", "I go to the day centre.", "They listened again."],
        title="Home",
        audiences=TRAINING,
        setting=ServiceSetting.HOME_CARE,
        themes={0: ["listened-to"], 2: ["listened-to", "confidence-morale"]},
        suggested={1: ["listened-to"]},  # a suggestion is not counted until confirmed
        created=date(2025, 3, 1),
    )
    make_story(
        teller,
        ["The nurse listened to my wife."],
        title="Carer",
        audiences=TRAINING,
        teller_kind=TellerKind.CARER,
        setting=ServiceSetting.HOSPITAL,
        themes={0: ["kept-informed"]},
        created=date(2026, 5, 1),
    )
    make_story(
        teller,
        ["Gwrando arna i. Listened in Welsh too."],
        title="Welsh",
        audiences=TRAINING,
        language=Language.WELSH,
        created=date(2026, 6, 1),
    )
    trainer = people["trainer"]

    page = find(trainer, "listened")
    assert page.total_passages == 4
    facets = {f.name: {o.value: o.count for o in f.options} for f in page.facets}
    assert facets["kind"] == {"process": 3, "change": 1}
    assert facets["subtheme"] == {"listened-to": 2, "kept-informed": 1, "confidence-morale": 1}
    assert facets["teller"] == {"service_user": 3, "carer": 1}
    assert facets["setting"] == {"home_care": 2, "hospital": 1, "not_said": 1}
    assert facets["language"] == {"en": 3, "cy": 1}
    assert facets["year"] == {"2025": 2, "2026": 2}
    # Each count is exactly what choosing that value finds.
    for name, counts in facets.items():
        for value, count in counts.items():
            assert find(trainer, "listened", **{name: value}).total_passages == count, (name, value)

    assert titles(find(trainer, "listened", kind="change")) == ["Home"]
    assert sorted(titles(find(trainer, "", subtheme=["kept-informed", "confidence-morale"]))) == [
        "Carer",
        "Home",
    ]
    assert titles(find(trainer, "listened", teller="carer", setting="hospital")) == ["Carer"]
    assert titles(find(trainer, "listened", language="cy")) == ["Welsh"]
    assert sorted(titles(find(trainer, "listened", **{"from": "2026-01-01"}))) == ["Carer", "Welsh"]
    assert titles(find(trainer, "listened", to="2025-12-31")) == ["Home"]
    assert titles(find(trainer, "listened", year="2025")) == ["Home"]


# --- consent -----------------------------------------------------------------------------------


def test_each_person_finds_only_what_consent_lets_them_see(people: dict[str, User]) -> None:
    teller = people["teller"]
    make_story(teller, ["The garden keeps me going."], title="Training", audiences=TRAINING)
    make_story(teller, ["The garden keeps me going."], title="Care team",
               audiences={Audience.CARE_TEAM})  # fmt: skip
    make_story(teller, ["The garden keeps me going."], title="Events",
               audiences={Audience.LEARNING_EVENTS})  # fmt: skip
    make_story(teller, ["The garden keeps me going."], title="Private")
    make_story(people["other_teller"], ["My garden too."], title="Someone else's")

    assert titles(find(people["trainer"], "garden")) == ["Training"]
    assert titles(find(people["member"], "garden")) == ["Events"]
    assert sorted(titles(find(teller, "garden"))) == ["Care team", "Events", "Private", "Training"]
    assert titles(find(people["other_teller"], "garden")) == ["Someone else's"]
    assert len(titles(find(people["curator"], "garden"))) == 5
    # The engine itself was asked only for the trainer's scope: the facets count nothing else.
    assert find(people["trainer"], "garden").total_passages == 1


def test_a_withdrawn_story_vanishes_from_results(people: dict[str, User]) -> None:
    teller = people["teller"]
    story = make_story(teller, ["Being listened to changed my life."], title="Mine",
                       audiences=TRAINING)  # fmt: skip
    assert titles(find(people["trainer"], "listened")) == ["Mine"]

    withdraw(story, teller)
    db.session.commit()

    assert titles(find(people["trainer"], "listened")) == []
    assert titles(find(people["curator"], "listened")) == []  # withdrawal stops all use
    assert story.id not in engine_story_ids("listened")  # gone from the index, not just hidden


def test_an_expired_story_is_not_found_by_its_audience(people: dict[str, User]) -> None:
    story = make_story(people["teller"], ["The lunch club saved me."], title="Lunch",
                       audiences=TRAINING)  # fmt: skip
    assert titles(find(people["trainer"], "lunch")) == ["Lunch"]
    assert story.consent is not None
    story.consent.review_date = date.today() - timedelta(days=1)  # time passes; nothing else
    db.session.commit()
    sync_pending()
    page = find(people["trainer"], "lunch")
    assert page.total_passages == 0  # refused by the engine's own filter, not only on read-back
    assert titles(find(people["teller"], "lunch")) == ["Lunch"]


def test_a_redacted_name_cannot_be_found(people: dict[str, User], make_user: Any) -> None:
    story = make_story(people["teller"], ["My neighbour Bronwen helps with my shopping."],
                       title="Shopping", audiences=TRAINING)  # fmt: skip
    assert titles(find(people["trainer"], "Bronwen")) == ["Shopping"]

    redact(story.passages[0], 2, 2, people["curator"])
    db.session.commit()

    assert titles(find(people["trainer"], "Bronwen")) == []
    assert titles(find(people["curator"], "Bronwen")) == []
    assert story.id not in engine_story_ids("bronwen")
    assert titles(find(people["trainer"], "shopping")) == ["Shopping"]


def test_read_back_hides_what_a_lagging_index_still_holds(
    people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    story = make_story(people["teller"], ["The day centre is my lifeline."], title="Centre",
                       audiences=TRAINING)  # fmt: skip
    # The worker is down: changes wait in the database and the index lags behind.
    monkeypatch.setattr(jobs, "send", lambda name: None)
    withdraw(story, people["teller"])
    db.session.commit()

    assert story.id in engine_story_ids("lifeline")  # the index has not caught up...
    assert titles(find(people["trainer"], "lifeline")) == []  # ...but nobody is shown it

    monkeypatch.undo()
    assert sync_pending() == 1  # the waiting change is still there when the worker is back
    assert story.id not in engine_story_ids("lifeline")


# --- upkeep ------------------------------------------------------------------------------------


def test_indexing_is_idempotent_and_reindex_rebuilds_from_the_database(
    people: dict[str, User],
) -> None:
    for n in range(3):
        make_story(people["teller"], [f"Story {n} about the allotment.", "And the weather."],
                   title=f"S{n}", audiences=TRAINING)  # fmt: skip
    before = find(people["trainer"], "allotment")
    assert before.total_passages == 3

    backend = get_backend()
    stats = backend.stats()
    assert stats.documents == 6
    assert stats.healthy

    assert sync_pending() == 0  # nothing waiting
    assert reindex() == 6
    assert reindex() == 6
    after = find(people["trainer"], "allotment")
    assert after.total_passages == 3
    assert sorted(titles(after)) == sorted(titles(before))
    assert backend.stats().documents == 6


def test_search_keeps_answering_while_the_index_is_rebuilt(people: dict[str, User]) -> None:
    make_story(people["teller"], ["We walk by the river on Fridays."], title="River",
               audiences=TRAINING)  # fmt: skip
    make_story(people["teller"], ["The river path is flat and safe."], title="Path",
               audiences=TRAINING)  # fmt: skip
    seen_during: list[list[str]] = []

    def documents_with_a_search_half_way() -> Iterator[Any]:
        for number, doc in enumerate(all_documents()):
            if number == 1:  # the new index is half written and not yet switched to
                seen_during.append(sorted(titles(find(people["trainer"], "river"))))
            yield doc

    assert get_backend().rebuild(documents_with_a_search_half_way(), lambda n: None) == 2
    assert seen_during == [["Path", "River"]]
    assert sorted(titles(find(people["trainer"], "river"))) == ["Path", "River"]


# --- meaning ------------------------------------------------------------------------------------

HERMIT = "Most of my friends have drifted off, and I'm close to being a hermit these days."
BUS = "The bus pass means I can get to the market on Tuesdays."
LONELY = "feeling lonely and isolated"  # shares no word with HERMIT


def stored_keys(story_id: int) -> set[int]:
    """The vector keys the live vector index holds on disk for ``story_id``'s passages."""
    vectors = get_backend()._live_vectors() if hasattr(get_backend(), "_live_vectors") else None
    if vectors is None:
        vectors = get_backend().live_vectors()  # type: ignore[attr-defined]
    assert vectors is not None
    return set(vectors.story_keys(story_id))


def test_a_question_finds_a_passage_that_shares_none_of_its_words(
    people: dict[str, User],
) -> None:
    make_story(people["teller"], [HERMIT], title="Hermit", audiences=TRAINING)
    make_story(people["teller"], [BUS], title="Bus", audiences=TRAINING)

    assert titles(find_by(people["trainer"], "words", LONELY)) == []  # no word in common
    for mode in ("hybrid", "meaning"):
        page = find_by(people["trainer"], mode, LONELY)
        assert titles(page)[:1] == ["Hermit"], mode
        found = page.stories[0].passages[0]
        assert found.by_meaning_only
    assert "Bus" not in titles(find_by(people["trainer"], "meaning", LONELY))  # below the floor


def test_meaning_stays_within_what_consent_lets_each_person_see(people: dict[str, User]) -> None:
    make_story(people["teller"], [HERMIT], title="Private")
    make_story(people["other_teller"], [HERMIT], title="Theirs", audiences=TRAINING)
    make_story(people["teller"], [HERMIT], title="Events",
               audiences={Audience.LEARNING_EVENTS})  # fmt: skip

    assert titles(find_by(people["trainer"], "meaning", LONELY)) == ["Theirs"]
    assert titles(find_by(people["member"], "meaning", LONELY)) == ["Events"]
    assert sorted(titles(find_by(people["teller"], "meaning", LONELY))) == ["Events", "Private"]
    page = find_by(people["trainer"], "hybrid", LONELY)
    assert titles(page) == ["Theirs"] and page.total_passages == 1


def test_quoted_phrases_stay_strict_when_meaning_is_searched(people: dict[str, User]) -> None:
    make_story(people["teller"], [HERMIT], title="Hermit", audiences=TRAINING)
    make_story(people["teller"], ["I feel so alone since my friends moved away."],
               title="Alone", audiences=TRAINING)  # fmt: skip
    for mode in ("hybrid", "meaning"):
        assert titles(find_by(people["trainer"], mode, 'lonely "friends moved"')) == ["Alone"]


def test_withdrawal_and_erasure_remove_the_vectors_from_the_disk(people: dict[str, User]) -> None:
    teller = people["teller"]
    kept = make_story(teller, [BUS], title="Bus", audiences=TRAINING)
    withdrawn = make_story(teller, [HERMIT], title="Withdrawn", audiences=TRAINING)
    erased = make_story(teller, [HERMIT.replace("Most", "All")], title="Erased",
                        audiences=TRAINING)  # fmt: skip
    assert stored_keys(withdrawn.id) and stored_keys(erased.id)

    withdraw(withdrawn, teller)
    erase(erased, teller)
    db.session.commit()

    assert stored_keys(withdrawn.id) == set() and stored_keys(erased.id) == set()
    assert stored_keys(kept.id)
    assert titles(find_by(people["curator"], "meaning", LONELY)) == []


def test_a_redacted_passage_is_found_by_what_it_says_now(people: dict[str, User]) -> None:
    story = make_story(people["teller"], [HERMIT], title="Hermit", audiences=TRAINING)
    before = stored_keys(story.id)
    assert titles(find_by(people["trainer"], "meaning", LONELY)) == ["Hermit"]

    # Everything but the first word goes: what remains means nothing about loneliness.
    redact(story.passages[0], 1, len(HERMIT.split()) - 1, people["curator"])
    db.session.commit()

    after = stored_keys(story.id)
    assert after and not (after & before)  # the old vector is gone, a new one stands for it
    assert titles(find_by(people["trainer"], "meaning", LONELY)) == []
    assert titles(find_by(people["curator"], "meaning", LONELY)) == []


def test_welsh_passages_are_not_ranked_by_an_english_model(people: dict[str, User]) -> None:
    welsh = make_story(people["teller"], ["Mae fy ffrindiau wedi mynd, dw i ar fy mhen fy hun."],
                       title="Cymraeg", audiences=TRAINING, language=Language.WELSH)  # fmt: skip
    assert stored_keys(welsh.id) == set()
    assert titles(find_by(people["trainer"], "meaning", LONELY)) == []
    assert titles(find_by(people["trainer"], "hybrid", "ffrindiau")) == ["Cymraeg"]  # by words


def test_welsh_passages_are_found_by_welsh_words_not_english_stems(
    people: dict[str, User],
) -> None:
    teller, trainer = people["teller"], people["trainer"]
    make_story(teller, ["Rhoddais fy nghaniatâd i'r plant ganu yn y côr."], title="Cymraeg",
               audiences=TRAINING, language=Language.WELSH)  # fmt: skip
    make_story(teller, ["I walked to the day centre every morning."], title="Walked",
               audiences=TRAINING)  # fmt: skip

    # A Welsh word is found as typed, with or without its accent (to bach), and marked.
    for typed in ("nghaniatâd", "nghaniatad", "NGHANIATAD"):
        page = find(trainer, typed, mode="words")
        assert titles(page) == ["Cymraeg"], typed
        marked = [t for r in page.stories for p in r.passages for t, m in p.snippet.pieces if m]
        assert marked == ["nghaniatâd"]
    assert titles(find(trainer, "cor", mode="words")) == ["Cymraeg"]
    # An English stemmer would make "planting" the stem "plant" and find "plant" (children).
    assert titles(find(trainer, "plant", mode="words")) == ["Cymraeg"]
    assert titles(find(trainer, "planting", mode="words")) == []
    assert titles(find(trainer, "plants", mode="words")) == []
    assert titles(find(trainer, '"plant ganu"', mode="words")) == ["Cymraeg"]
    assert titles(find(trainer, '"ganu plant"', mode="words")) == []
    assert titles(find(trainer, "nghaniatâ*", mode="words")) == ["Cymraeg"]
    assert titles(find(trainer, "nghaniata*", mode="words")) == ["Cymraeg"]
    # English passages are still stemmed.
    assert titles(find(trainer, "walking", mode="words")) == ["Walked"]
    assert titles(find(trainer, "walk", mode="hybrid")) == ["Walked"]


def test_reindex_rebuilds_the_vectors_too(people: dict[str, User]) -> None:
    story = make_story(people["teller"], [HERMIT, BUS], title="Two", audiences=TRAINING)
    keys = stored_keys(story.id)
    assert len(keys) == 2
    assert reindex() == 2
    assert stored_keys(story.id) == keys
    assert titles(find_by(people["trainer"], "meaning", LONELY)) == ["Two"]


def test_more_like_this_excludes_the_passage_itself(people: dict[str, User]) -> None:
    story = make_story(people["teller"], [HERMIT], title="Hermit", audiences=TRAINING)
    make_story(people["teller"], ["Since my wife died I hardly see a soul from week to week."],
               title="Widower", audiences=TRAINING)  # fmt: skip
    make_story(people["teller"], [BUS], title="Bus", audiences=TRAINING)
    from storyhub.themes.services import vectors_for

    request = SearchRequest(
        text=parse_text(""),
        scope=Scope(everything=True),
        mode=SearchMode.MEANING,
        vector=vectors_for([HERMIT])[0],
        exclude_passage_id=story.passages[0].id,
    )
    found = [g.story_id for g in get_backend().search(request).groups]
    assert story.id not in found
    assert found and found[0] != story.id
