"""Pure parts of search: parsing what was typed, the Elasticsearch request body, paging stories,
and the highlighter."""

from __future__ import annotations

from datetime import date

from search.backend import best_passages, page_of_stories
from search.elastic import search_body
from search.highlight import snippet
from search.query import ParsedText, Scope, SearchRequest, parse_text


def test_parse_words_phrases_prefixes_and_common_words() -> None:
    parsed = parse_text('Lonely after the "listened to" carer* a')
    assert parsed.terms == ("lonely", "after")
    assert parsed.phrases == (("listened", "to"),)
    assert parsed.prefixes == ("carer",)


def test_parse_keeps_common_words_when_nothing_else_was_typed() -> None:
    assert parse_text("to be").terms == ("to", "be")


def test_parse_never_fails_on_odd_input() -> None:
    assert parse_text('"unclosed phrase').phrases == (("unclosed", "phrase"),)
    assert parse_text('*** !!! ""').empty
    # A one-letter prefix would match almost everything: it is taken as the word itself.
    assert parse_text("c*") == ParsedText(terms=("c",))
    assert parse_text('name:"x" OR (y) AND -z').terms == ("name", "x", "y", "z")
    long = parse_text("word " * 1000)
    assert long.terms == ("word",)


def test_elasticsearch_body_for_a_trainer() -> None:
    request = SearchRequest(
        text=parse_text('lonely "listened to" carer*'),
        scope=Scope(teller_id=7, audience="training", today=20261122),
        filters={"kind": ("process",), "setting": ("home_care", "hospital")},
        date_from=date(2025, 1, 1),
        page=2,
    )
    body = search_body(request)
    assert body["from"] == 10 and body["size"] == 10
    # Each in English passages ("text", stemmed) or in Welsh ones ("text_cy", folded).
    either = [
        ({"match": {"text": {"query": "lonely"}}}, {"match": {"text_cy": {"query": "lonely"}}}),
        ({"match_phrase": {"text": "listened to"}}, {"match_phrase": {"text_cy": "listened to"}}),
        ({"prefix": {"text.exact": "carer"}}, {"prefix": {"text_cy": "carer"}}),
    ]
    assert body["query"]["bool"]["must"] == [
        {"bool": {"should": [english, welsh], "minimum_should_match": 1}}
        for english, welsh in either
    ]
    assert body["query"]["bool"]["filter"] == [
        {
            "bool": {
                "should": [
                    {"term": {"teller_id": 7}},
                    {
                        "bool": {
                            "filter": [
                                {"term": {"audiences": "training"}},
                                {"range": {"review_by": {"gte": 20261122}}},
                            ]
                        }
                    },
                ],
                "minimum_should_match": 1,
            }
        },
        {"terms": {"kinds": ["process"]}},
        {"terms": {"setting": ["home_care", "hospital"]}},
        {"range": {"story_date": {"gte": 20250101}}},
    ]
    assert body["collapse"]["field"] == "story_id"
    assert body["collapse"]["inner_hits"]["size"] == 3
    assert set(body["aggs"]) == {"kind", "subtheme", "language", "teller", "setting", "year",
                                 "stories"}  # fmt: skip
    assert "sort" not in body  # by relevance


def test_elasticsearch_body_for_staff_browsing() -> None:
    body = search_body(SearchRequest(text=ParsedText(), scope=Scope(everything=True)))
    assert body["query"]["bool"] == {"must": [{"match_all": {}}], "filter": []}
    assert body["sort"][0] == {"story_date": "desc"}


def test_a_page_of_stories_is_ordered_by_each_story_s_best_passage() -> None:
    request = SearchRequest(text=ParsedText(), scope=Scope(), stories_per_page=2, page=2)
    page, ran_out = page_of_stories([5, 5, 3, 5, 9, 1, 3], request)
    assert (page, ran_out) == ([9, 1], False)
    page, ran_out = page_of_stories([5, 3, 9], request)
    assert (page, ran_out) == ([9], True)
    groups = best_passages([(5, 50, 3.0), (9, 90, 2.0), (5, 51, 1.5), (5, 52, 1.0)], [5, 9], 2)
    assert [(g.story_id, [h.passage_id for h in g.hits]) for g in groups] == [
        (5, [50, 51]),
        (9, [90]),
    ]


def test_snippet_marks_stems_phrases_and_prefixes() -> None:
    text = "The carers listened. Then, listening again, she listened to me."
    marked = [t for t, m in snippet(text, parse_text('listen "listened to" carer*')).pieces if m]
    assert marked == ["carers", "listened", "listening", "listened", "to"]
    assert "".join(t for t, _ in snippet(text, parse_text("nothing")).pieces) == text


def test_snippet_of_a_long_passage_centres_on_the_matches() -> None:
    text = " ".join(["filler"] * 100 + ["lonely", "winter"] + ["filler"] * 100)
    cut = snippet(text, parse_text("lonely"), max_words=20)
    words = "".join(t for t, _ in cut.pieces).split()
    assert len(words) == 20
    assert "lonely" in words
    assert cut.cut_before and cut.cut_after


def test_welsh_words_are_marked_folded_not_stemmed() -> None:
    text = "Rhoddais fy nghaniatâd i'r plant ganu."
    marked = [t for t, m in snippet(text, parse_text("nghaniatad planting gan*"), language="cy")
              .pieces if m]  # fmt: skip
    assert marked == ["nghaniatâd", "ganu"]  # "planting" is not "plant" (children) in Welsh
    english = [t for t, m in snippet("The plant grew.", parse_text("planting")).pieces if m]
    assert english == ["plant"]
