"""make_passages(): whole sentences, 15-60 s, breaking at long pauses. Pure: no Whisper."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media_pipeline.passages import Passage, ends_sentence, make_passages, split_sentences
from media_pipeline.transcribe import Transcript, Word


def sentence(start: float, seconds: float, n_words: int = 5, *, final: str = ".") -> list[Word]:
    """`n_words` evenly spread over `seconds` from `start`, the last ending with `final`."""
    step = seconds / n_words
    out = [Word(start + i * step, start + (i + 1) * step - 0.05, f" w{i}") for i in range(n_words)]
    out[-1] = Word(out[-1].start, start + seconds, f" end{final}")
    return out


def story(lengths: Sequence[float], pauses: Sequence[float] | float = 0.3) -> list[Word]:
    words: list[Word] = []
    t = 0.0
    for i, seconds in enumerate(lengths):
        words += sentence(t, seconds)
        pause = pauses if isinstance(pauses, float | int) else pauses[i % len(pauses)]
        t += seconds + pause
    return words


def flat(passages: Sequence[Passage]) -> list[Word]:
    return [w for p in passages for w in p.words]


def test_sentence_ends() -> None:
    assert ends_sentence(Word(0, 1, " home."))
    assert ends_sentence(Word(0, 1, ' "Really?"'))
    assert ends_sentence(Word(0, 1, " wait…"))
    assert not ends_sentence(Word(0, 1, " Dr."))
    assert not ends_sentence(Word(0, 1, " well,"))
    words = [Word(0, 1, " Hi."), Word(1, 2, " Dr."), Word(2, 3, " Jones!"), Word(3, 4, " and")]
    assert [len(s) for s in split_sentences(words)] == [1, 2, 1]


def test_empty_and_short_story() -> None:
    assert make_passages([]) == []
    words = story([4, 5, 3])
    [only] = make_passages(Transcript("en", 14, words))
    assert only.words == words and only.start == 0 and only.end == words[-1].end
    assert only.text.startswith("w0 w1") and only.text.endswith("end.")


def test_story_just_under_max_is_one_passage() -> None:
    words = story([20, 20, 19])
    assert len(make_passages(words)) == 1


def test_breaks_at_the_longest_pause_between_sentences() -> None:
    # Ten 8 s sentences (~83 s): two passages; the 2 s pause after sentence 5 is the place.
    pauses = [0.3, 0.3, 0.3, 0.3, 2.0, 0.3, 0.3, 0.3, 0.3, 0.3]
    words = story([8] * 10, pauses)
    passages = make_passages(words)
    assert len(passages) == 2
    assert len(passages[0].words) == 25  # 5 sentences of 5 words
    assert passages[0].words[-1].text.endswith(".")
    assert flat(passages) == words


def test_passages_follow_bounds_on_a_long_story() -> None:
    words = story([7, 9, 12, 5, 11, 8, 6, 10, 9, 13, 7, 8, 12, 6, 9, 10, 11, 7, 5, 9])
    passages = make_passages(words)
    assert flat(passages) == words
    assert all(15 <= p.duration <= 60 for p in passages)
    assert all(p.words[-1].text.endswith(".") for p in passages)


def test_long_sentence_is_cut_at_its_longest_pause() -> None:
    # One 80 s sentence, no full stops; a 3 s pause at 50 s is the natural place to cut.
    words = [Word(i * 1.0, i * 1.0 + 0.8, f" w{i}") for i in range(50)]
    words += [Word(53 + i * 1.0, 53 + i * 1.0 + 0.8, f" v{i}") for i in range(27)]
    words[-1] = Word(words[-1].start, words[-1].end, " done.")
    passages = make_passages(words)
    assert [len(p.words) for p in passages] == [50, 27]
    assert flat(passages) == words


def test_forced_short_passage_when_sentences_leave_no_choice() -> None:
    # 55 s + 10 s: the story is over 60 s, and 65 s can't be one passage.
    words = story([55, 10])
    passages = make_passages(words)
    assert [len(p.words) for p in passages] == [5, 5]
    assert passages[1].duration < 15


def test_single_word_longer_than_max_is_its_own_passage() -> None:
    words = [Word(0, 5, " a."), Word(5.2, 75, " loooong"), Word(75.5, 80, " b.")]
    passages = make_passages(words)
    assert flat(passages) == words
    assert any(p.duration > 60 for p in passages)


def test_deterministic_and_json_round_trip() -> None:
    words = story([9, 11, 7, 13, 8, 10, 12, 6])
    first, second = make_passages(words), make_passages(list(words))
    assert first == second
    assert [Passage.from_dict(p.to_dict()) for p in first] == first


def test_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError):
        make_passages(story([5]), min_seconds=30, max_seconds=10)


# --- invariants ---------------------------------------------------------------------------

_sentences = st.lists(
    st.tuples(
        st.floats(0.5, 40, allow_nan=False),  # seconds of speech
        st.integers(1, 12),  # words
        st.floats(0, 4, allow_nan=False),  # pause after
    ),
    min_size=1,
    max_size=40,
)


def _build(spec: list[tuple[float, int, float]]) -> list[Word]:
    words: list[Word] = []
    t = 0.0
    for seconds, n, pause in spec:
        words += sentence(t, seconds, n)
        t += seconds + pause
    return words


def _all_in_bounds_possible(sentences: list[list[Word]], lo: float, hi: float) -> bool:
    """Oracle: can whole sentences be grouped so every passage lasts lo..hi seconds?"""
    n = len(sentences)
    ok = [True] + [False] * n
    for end in range(1, n + 1):
        ok[end] = any(
            ok[b] and lo <= sentences[end - 1][-1].end - sentences[b][0].start <= hi
            for b in range(end)
        )
    return ok[n]


@settings(max_examples=150, deadline=None)
@given(_sentences)
def test_invariants(spec: list[tuple[float, int, float]]) -> None:
    words = _build(spec)
    passages = make_passages(words)
    # Every word exactly once, in order; passages in order and not overlapping.
    assert flat(passages) == words
    for a, b in itertools.pairwise(passages):
        assert a.end <= b.start
    for p in passages:
        assert p.start == p.words[0].start and p.end == p.words[-1].end
        assert p.duration <= 60 or len(p.words) == 1 or len(passages) == 1
    total = words[-1].end - words[0].start
    if total <= 60:
        assert len(passages) == 1
    sentences = split_sentences(words)
    if all(s[-1].end - s[0].start <= 60 for s in sentences):
        # No sentence had to be cut: every passage ends at a sentence end.
        ends = {id(s[-1]) for s in sentences}
        assert all(id(p.words[-1]) in ends for p in passages)
        if total > 60 and _all_in_bounds_possible(sentences, 15, 60):
            assert all(15 <= p.duration <= 60 for p in passages)
