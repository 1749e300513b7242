"""What an organisation teaches the tagger: bounded, local, plain numbers (no database here)."""

from __future__ import annotations

import numpy as np
import pytest

from media_pipeline.tagger import KINDS, ThemeModel, embed, shipped_model, shipped_taxonomy
from media_pipeline.tagger.learning import (
    MAX_PULL,
    MAX_SHIFT,
    MEMORY_RADIUS,
    Adaptation,
    Decision,
    base_scores,
    fit_adaptation,
)

KIND_OF = {"listened-to": "process", "mobility": "change"}
LABELS = ("maintenance", "process", "change", "listened-to", "mobility")


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def table(rows: int, score: float) -> np.ndarray:
    return np.full((rows, len(LABELS)), score, dtype=np.float32)


def test_a_labels_shift_needs_several_decisions_and_is_capped() -> None:
    # Every decided passage far from the others, so only the shift is at work.
    one = fit_adaptation(
        LABELS, table(1, 0.7), unit(1)[None], [Decision(frozenset(), frozenset({"change"}))], {}
    )
    many = fit_adaptation(
        LABELS,
        table(20, 0.7),
        np.eye(20, dtype=np.float32),
        [Decision(frozenset(), frozenset({"change"}))] * 20,
        {},
    )
    change = LABELS.index("change")
    assert -0.4 < float(one.shift[change]) < 0
    assert float(many.shift[change]) == pytest.approx(-MAX_SHIFT)
    # Labels nobody decided on are left as they were.
    assert float(many.shift[LABELS.index("process")]) == 0.0
    (described,) = many.changes()
    assert (described.label, described.direction, described.rejected) == ("change", "less", 20)


def test_the_memory_reaches_only_passages_within_its_radius() -> None:
    decided = unit(1)
    adaptation = fit_adaptation(
        LABELS, table(1, 0.5), decided[None], [Decision(frozenset({"listened-to"}))], KIND_OF
    )
    adaptation.shift[:] = 0  # the memory alone
    same = decided
    near = unit(1, 0.3)  # cosine 0.96
    far = unit(1, 1)  # cosine 0.71, outside the radius
    assert float(near @ decided) > MEMORY_RADIUS > float(far @ decided)
    after = adaptation.apply(LABELS, table(3, 0.2), np.stack([same, near, far]))
    listened = LABELS.index("listened-to")
    assert after[0, listened] == pytest.approx(0.2 + MAX_PULL * 0.8)
    assert 0.2 < after[1, listened] < after[0, listened]
    assert after[2, listened] == pytest.approx(0.2)
    # The subtheme's kind was taught too; the labels no one decided on are untouched.
    assert after[0, LABELS.index("process")] > 0.2
    assert after[0, LABELS.index("maintenance")] == pytest.approx(0.2)


def test_it_is_kept_as_bytes_and_reads_back_the_same() -> None:
    adaptation = fit_adaptation(
        LABELS,
        table(4, 0.4),
        np.eye(8, dtype=np.float32)[:4],
        [Decision(frozenset({"mobility"}), frozenset({"listened-to"}))] * 4,
        KIND_OF,
        suggested=[frozenset({"listened-to"})] * 4,
    )
    again = Adaptation.from_bytes(adaptation.to_bytes())
    vectors = np.eye(8, dtype=np.float32)[2:6]
    assert np.allclose(
        again.apply(LABELS, table(4, 0.4), vectors),
        adaptation.apply(LABELS, table(4, 0.4), vectors),
    )
    assert again.changes() == adaptation.changes()
    listened = next(c for c in again.changes() if c.label == "listened-to")
    assert (listened.suggested, listened.suggested_rejected) == (4, 4)
    # Another tagger's labels, in another order: applied by name.
    other = ("change", "mobility", "something-new")
    moved = again.apply(other, np.full((1, 3), 0.4, np.float32), np.eye(8, dtype=np.float32)[7:])
    assert moved[0, 0] > 0.4 and moved[0, 1] > 0.4 and moved[0, 2] == pytest.approx(0.4)


def test_an_organisations_own_theme_is_learnt_from_a_few_confirmations() -> None:
    rng = np.random.default_rng(0)
    theme = unit(0, 0, 0, 0, 0, 0, 0, 1)
    positives = np.stack([theme + 0.2 * unit(*rng.normal(size=7)) for _ in range(3)])
    positives /= np.linalg.norm(positives, axis=1, keepdims=True)
    background = np.stack([unit(*rng.normal(size=7)) for _ in range(40)])
    adaptation = fit_adaptation(
        LABELS,
        table(3, 0.3),
        positives,
        [Decision(frozenset({"pets"}))] * 3,
        {**KIND_OF, "pets": "maintenance"},
        background=background,
    )
    assert adaptation.new_labels == ("pets",) and adaptation.new_counts == (3,)
    scores = adaptation.new_scores(np.stack([theme, background[0]]))["pets"]
    assert scores[0] > 0.5 > scores[1]
    # Two confirmations are not enough.
    fewer = fit_adaptation(
        LABELS,
        table(2, 0.3),
        positives[:2],
        [Decision(frozenset({"pets"}))] * 2,
        {**KIND_OF, "pets": "maintenance"},
        background=background,
    )
    assert fewer.new_labels == ()


# -- with the real shipped tagger --------------------------------------------------------------

HOPES = [
    "I hope that one day I will be able to walk to the shops on my own again.",
    "I really hope I can get back to walking to the shop by myself one day.",
    "My hope is that I can walk to the shops on my own again someday.",
    "I wish I could walk to the shops on my own like I used to.",
    "If I keep hoping, maybe next year I will walk to the shops on my own.",
    "What I hope for most is to walk to the shops alone one day.",
]
# Not taught: a curator never saw it.
LATER_HOPE = "One day I hope I can walk down to the shops by myself again."
FAR = [
    "The carer really listened to me and asked what mattered to me.",
    "The nurse never told us when the district team would be coming.",
    "After six weeks with the physio I can walk to the post office again on my own.",
]
NEUTRAL = "I was born in 1948 in a house on Station Road, the youngest of five."


@pytest.fixture(scope="module")
def shipped() -> ThemeModel:
    return shipped_model()


def adapt(model: ThemeModel, texts: list[str], decisions: list[Decision]) -> Adaptation:
    vectors = embed(texts)
    scores, _ = base_scores(model, vectors, texts)
    kind_of = {s.key: s.kind for s in shipped_taxonomy().subthemes}
    return fit_adaptation(model.labels, scores, vectors, decisions, kind_of)


@pytest.mark.slow
def test_teaching_changes_the_suggestion_for_a_similar_passage_it_never_saw(
    shipped: ThemeModel,
) -> None:
    """On six passages about hoping to walk again, curators say the opposite of the shipped
    tagger about the kind it is least sure of there: a later hope, which no curator saw, follows
    them. (A kind it is very sure of moves too, but a few decisions are not meant to overturn
    it: see the next test.)"""
    vectors = embed([LATER_HOPE])
    (before,) = shipped.suggest(vectors, [LATER_HOPE])
    unsure = min(KINDS, key=lambda kind: abs(before.scores[kind] - 0.5))
    shipped_says = unsure in before.kinds
    taught = frozenset({unsure})
    decision = Decision(frozenset(), taught) if shipped_says else Decision(taught)
    adaptation = adapt(shipped, HOPES, [decision] * len(HOPES))
    (after,) = shipped.suggest(vectors, [LATER_HOPE], adjust=adaptation.adjuster(shipped.labels))
    assert (unsure in after.kinds) is not shipped_says
    moved = after.scores[unsure] - before.scores[unsure]
    assert (moved < -0.15) if shipped_says else (moved > 0.15)
    said = {c.label: c.direction for c in adaptation.changes()}
    assert said[unsure] == ("less" if shipped_says else "more")


@pytest.mark.slow
def test_one_bad_decision_leaves_passages_far_from_it_alone(shipped: ThemeModel) -> None:
    """A curator wrongly confirms Mobility on a passage about where someone was born."""
    adaptation = adapt(shipped, [NEUTRAL], [Decision(frozenset({"mobility"}))])
    texts = [*FAR, LATER_HOPE, NEUTRAL.replace("five", "five children")]
    vectors = embed(texts)
    before = shipped.suggest(vectors, texts)
    after = shipped.suggest(vectors, texts, adjust=adaptation.adjuster(shipped.labels))
    for was, now in list(zip(before, after, strict=True))[:4]:
        assert (was.kinds, was.subthemes) == (now.kinds, now.subthemes)
        assert all(abs(now.scores[k] - was.scores[k]) < 0.1 for k in was.scores)
    # Only the words it was made on (nearly the same passage) follow it.
    assert "mobility" not in before[4].subthemes and "mobility" in after[4].subthemes
