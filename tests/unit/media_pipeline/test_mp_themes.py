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


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_the_reasons_mark_the_words_that_drove_each_suggestion(shipped: ThemeModel) -> None:
    text = "The carer really listened to me and asked what mattered."
    (suggestion,) = suggest(shipped, [text])
    assert "listened-to" in suggestion.subthemes
    assert set(suggestion.reasons) == {*suggestion.kinds, *suggestion.subthemes}
    reasons = marked(text, suggestion.reasons["listened-to"])
    assert "listened" in reasons and any(r.startswith("asked") for r in reasons)
    assert "to me" not in reasons and "The" not in reasons  # no words of no meaning alone
    for spans in suggestion.reasons.values():
        assert 0 < len(spans) <= 6
        for start, end in spans:  # whole words
            assert text[start].isalnum() and text[end - 1].isalnum()
            assert start == 0 or not text[start - 1].isalnum()
            assert end == len(text) or not text[end].isalnum()


def test_the_reasons_of_a_long_passage_come_from_its_best_window(shipped: ThemeModel) -> None:
    background = (
        "I was born in Merthyr in 1950 and I worked in the biscuit factory for thirty years. "
        "My husband drove a bus and we had two boys, who both live in Bristol now. "
    )
    walking = "Since the physio came I can walk to the end of the garden again without my frame."
    text = background + walking
    (suggestion,) = suggest(shipped, [text])
    assert "mobility" in suggestion.subthemes
    start = text.index(walking)
    assert all(a >= start for a, _ in suggestion.reasons["mobility"])
    assert "walk" in marked(text, suggestion.reasons["mobility"])


def test_adjust_changes_the_scores_before_the_thresholds(shipped: ThemeModel) -> None:
    text = "My son works as an electrician in Cardiff and his wife is a teacher."
    vectors = embed([text])
    (plain,) = shipped.suggest(vectors, [text])
    assert plain.kinds == ()
    seen: list[tuple[int, int]] = []

    def teach(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
        seen.append((table.shape[0], rows.shape[0]))
        table = table.copy()
        table[:, shipped.labels.index("seeing-people")] = 0.99
        table[:, shipped.labels.index("maintenance")] = 0.99
        return table

    (taught,) = shipped.suggest(vectors, [text], adjust=teach)
    assert seen == [(1, 1)]
    assert taught.kinds == ("maintenance",) and taught.subthemes[0] == "seeing-people"
    assert taught.scores["seeing-people"] == pytest.approx(0.99)
    assert taught.reasons.keys() == {"maintenance", *taught.subthemes}


def test_the_shipped_tagger_is_calibrated_on_the_real_passages(shipped: ThemeModel) -> None:
    from media_pipeline.tagger import real_rows
    from media_pipeline.tagger.crossval import KIND_THRESHOLD

    assert shipped.meta["real_passages"] == len(real_rows()) == shipped.meta["calibrated_on"]
    assert all(row["source_url"] for row in real_rows())
    for kind in KINDS:
        col = shipped.labels.index(kind)
        assert not np.allclose(shipped.calibration[col], [1.0, 0.0])  # fitted, not left as is
        assert shipped.calibration[col, 0] > 0  # keeps the scores' order
        assert shipped.thresholds[col] == pytest.approx(KIND_THRESHOLD)
    again = ThemeModel.from_bytes(shipped.to_bytes())
    assert np.array_equal(again.calibration, shipped.calibration)
    assert np.array_equal(again.thresholds, shipped.thresholds)


def test_platt_scaling_makes_overconfident_scores_honest() -> None:
    from media_pipeline.tagger.crossval import expected_calibration_error, platt

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 2000).astype(np.int8)
    # Right only 75% of the time, but always 95% sure.
    right = rng.random(2000) < 0.75
    raw = np.where(truth == right, 0.95, 0.05).astype(np.float32)
    a, b = platt(raw, truth)
    model_logit = np.log(raw / (1 - raw)) * a + b
    calibrated = (1 / (1 + np.exp(-model_logit))).astype(np.float32)
    assert expected_calibration_error(raw, truth) > 0.15
    assert expected_calibration_error(calibrated, truth) < 0.03
    assert calibrated.max() == pytest.approx(0.75, abs=0.03)


def test_the_reliability_table_counts_each_bin() -> None:
    from media_pipeline.tagger import expected_calibration_error, reliability

    probs = np.array([0.05, 0.05, 0.15, 0.95, 0.95, 0.95, 0.95], dtype=np.float32)
    truth = np.array([0, 0, 1, 1, 1, 1, 0], dtype=np.int8)
    table = reliability(probs, truth)
    assert len(table) == 10 and sum(b.count for b in table) == 7
    assert (table[0].count, table[0].observed) == (2, 0.0)
    assert (table[1].count, table[1].observed) == (1, 1.0)
    assert (table[9].count, table[9].predicted, table[9].observed) == (4, pytest.approx(0.95), 0.75)
    expected = (2 * 0.05 + 1 * 0.85 + 4 * 0.2) / 7
    assert expected_calibration_error(probs, truth) == pytest.approx(expected, abs=1e-6)


def test_a_tagger_saved_before_calibration_still_loads_uncalibrated(shipped: ThemeModel) -> None:
    import io
    import json

    saved = np.load(io.BytesIO(shipped.to_bytes()), allow_pickle=False)
    arrays = {k: saved[k] for k in saved.files if k not in ("calibration", "thresholds")}
    header = json.loads(arrays["header"].tobytes().decode())
    arrays["header"] = np.frombuffer(json.dumps({**header, "format": 3}).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    old = ThemeModel.from_bytes(buffer.getvalue())
    assert np.array_equal(old.calibration[:, 0], np.ones(len(old.labels)))
    assert np.array_equal(old.thresholds, np.full(len(old.labels), 0.5, np.float32))
    texts = ["I feel like myself again."]
    assert np.allclose(
        old.scores(embed(texts), texts), shipped.raw_scores(embed(texts), texts), atol=1e-3
    )
