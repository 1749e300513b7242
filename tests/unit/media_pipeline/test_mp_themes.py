"""The theme tagger without the app: taxonomy, seed set, training, scoring, memory, storing."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from media_pipeline.tagger import (
    KINDS,
    Example,
    ThemeModel,
    embed,
    evaluate,
    fit,
    seed_rows,
    shipped_model,
    shipped_taxonomy,
)


def test_the_shipped_taxonomy_has_three_fixed_kinds_and_their_subthemes() -> None:
    taxonomy = shipped_taxonomy()
    assert [k.key for k in taxonomy.kinds] == list(KINDS)
    assert len(taxonomy.subthemes) == 18
    assert taxonomy.kind_of("listened-to") == "process"
    assert taxonomy.kind_of("no-such-theme") is None


def test_the_seed_set_covers_every_subtheme_with_consistent_labels() -> None:
    taxonomy = shipped_taxonomy()
    rows = seed_rows()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "seed ids must be unique"
    main = collections.Counter(row["subthemes"][0] for row in rows if row["subthemes"])
    for sub in taxonomy.subthemes:
        assert main[sub.key] >= 30, f"{sub.key} has only {main[sub.key]} seed passages"
    for row in rows:
        kinds = {taxonomy.kind_of(s) for s in row["subthemes"]}
        assert None not in kinds, row["id"]
        assert set(row["labels"]) == (kinds or {"none"}), row["id"]
    assert sum(1 for row in rows if not row["subthemes"]) >= 50, "too few passages with no theme"


def test_evaluate_counts_per_kind_f1_and_macro_f1() -> None:
    truth = [["process"], ["maintenance", "change"], ["none"], ["change"]]
    guess = [["process"], ["maintenance"], ["process"], ["change"]]
    result = evaluate(truth, guess)
    scores = {k.kind: k for k in result.kinds}
    assert scores["process"].precision == 0.5 and scores["process"].recall == 1.0
    assert scores["maintenance"].f1 == 1.0
    assert scores["change"].recall == 0.5 and scores["change"].precision == 1.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 1.0 + 2 / 3) / 3)


@pytest.fixture(scope="module")
def shipped() -> ThemeModel:
    return shipped_model()


def suggest(model: ThemeModel, texts: list[str]):  # type: ignore[no-untyped-def]
    return model.suggest(embed(texts), texts)


def test_the_shipped_tagger_tells_the_kinds_apart(shipped: ThemeModel) -> None:
    texts = [
        # Written for this test (not in the seed set or the measuring set).
        "The woman from the council sat at my kitchen table and wrote down what I told her, "
        "not what she thought I needed.",
        "Since the physio came I can walk to the end of the garden again without my frame.",
        "My son works as an electrician in Cardiff and his wife is a teacher.",
    ]
    process, change, neither = suggest(shipped, texts)
    assert "process" in process.kinds and "listened-to" in process.subthemes
    assert "change" in change.kinds and "mobility" in change.subthemes
    assert neither.kinds == ()
    assert all(0.0 <= v <= 1.0 for v in process.scores.values())


def test_a_saved_tagger_scores_exactly_as_before(shipped: ThemeModel) -> None:
    texts = ["Nobody phoned to say the day centre was closing.", "I feel like myself again."]
    vectors = embed(texts)
    again = ThemeModel.from_bytes(shipped.to_bytes())
    assert np.array_equal(again.scores(vectors, texts), shipped.scores(vectors, texts))
    assert again.meta["source"] == "shipped"


def test_a_theme_with_too_few_examples_is_never_suggested() -> None:
    kind_of = {"lonely": "maintenance", "late": "process"}
    examples = [
        Example("I haven't spoken to anyone for days.", frozenset({"lonely"})),
        Example("Nobody visits me any more.", frozenset({"lonely"})),
        Example("The carer came two hours late.", frozenset()),
        Example("They never turn up on time.", frozenset()),
        Example("I like the garden.", frozenset()),
    ]
    texts = [e.text for e in examples]
    model = fit(examples, embed(texts), kind_of)
    assert model.trained[model.labels.index("lonely")]
    assert not model.trained[model.labels.index("late")]  # no positive example at all
    for suggestion in suggest(model, ["The carer was late again."]):
        assert "late" not in suggestion.subthemes
        assert suggestion.scores["late"] == 0.0


# Slow (about 10 s): fits a whole tagger on the seed set.
@pytest.mark.slow
def test_a_curators_example_sways_the_suggestion_for_near_identical_words(
    shipped: ThemeModel,
) -> None:
    from media_pipeline.tagger import fitting_set

    seed, vectors = fitting_set()
    text = "My budgie Joey sings when I come down in the morning and it makes the day start right."
    similar = "Joey my budgie sings when I come downstairs in the morning; it starts the day right."
    before = suggest(shipped, [similar])[0].scores["things-to-do"]
    curator = Example(text, frozenset({"things-to-do"}), frozenset(), weight=3, from_curator=True)
    learned = fit(
        [*seed, curator],
        np.concatenate([vectors, embed([text])]),
        {s.key: s.kind for s in shipped_taxonomy().subthemes},
    )
    after = suggest(learned, [similar])[0]
    assert after.scores["things-to-do"] > max(0.5, before)
    assert "things-to-do" in after.subthemes


def test_a_long_passage_is_also_scored_in_windows_of_sentences(shipped: ThemeModel) -> None:
    from media_pipeline.tagger.model import WINDOW_WORDS, split_windows

    assert split_windows("A short passage. Only a few words.") == []
    background = (
        "I was born in Merthyr in 1950 and I worked in the biscuit factory for thirty years. "
        "My husband drove a bus and we had two boys, who both live in Bristol now. "
        "We moved to the flat in 2015 after the stairs got too much for him. "
    )
    listened = (
        "Then a new social worker sat down and asked me what mattered to me, and she wrote it down."
    )
    text = background + listened
    windows = split_windows(text)
    assert len(windows) >= 2
    # A window is one sentence, or as many whole sentences as fit in WINDOW_WORDS words.
    sentences = [s.strip() for s in text.replace(". ", ".\n").splitlines() if s.strip()]
    assert all(w in sentences or len(w.split()) <= WINDOW_WORDS for w in windows)
    assert any(listened in w for w in windows)
    whole_only = shipped.scores(embed([text]), [text])[0][shipped.labels.index("listened-to")]
    (suggestion,) = suggest(shipped, [text])
    assert suggestion.scores["listened-to"] > whole_only
    assert "listened-to" in suggestion.subthemes
