"""make_webvtt(): readable cues timed from the words, valid WebVTT. Pure: no Whisper."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media_pipeline.captions import (
    clip_words,
    escape,
    make_cues,
    make_webvtt,
    make_webvtt_window,
    timestamp,
)
from media_pipeline.transcribe import Word

_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TIME} --> {_TIME}$")


@dataclass
class ParsedCue:
    start: float
    end: float
    lines: list[str]


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return (int(h) * 3_600_000 + int(m) * 60_000 + int(s) * 1000 + int(ms)) / 1000


def parse_webvtt(text: str) -> list[ParsedCue]:
    """A strict little WebVTT reader: header, blank-line separated cues, no raw & < >."""
    assert text.startswith("WEBVTT\n")
    assert text.endswith("\n")
    blocks = text.split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues: list[ParsedCue] = []
    for block in blocks[1:]:
        if not block.strip():
            continue
        timing, *lines = block.split("\n")
        match = _TIMING.match(timing)
        assert match, f"bad timing line {timing!r}"
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        assert lines and all(line.strip() for line in lines)
        for line in lines:
            assert "-->" not in line and "<" not in line and ">" not in line
            assert not re.search(r"&(?!amp;|lt;|gt;)", line)
        cues.append(ParsedCue(start, end, lines))
    return cues


def words_from(text: str, start: float = 0.0, step: float = 0.4, gap: float = 0.05) -> list[Word]:
    out = []
    t = start
    for token in text.split():
        out.append(Word(t, t + step - gap, " " + token))
        t += step
    return out


def test_timestamps_and_escaping() -> None:
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(3723.4567) == "01:02:03.457"
    assert timestamp(59.9996) == "00:01:00.000"
    assert escape("Tom & Jerry <3 > 2") == "Tom &amp; Jerry &lt;3 &gt; 2"
    vtt = make_webvtt([Word(0, 0.5, " Fish"), Word(0.5, 1, " &"), Word(1, 1.5, " <chips>.")])
    assert "Fish &amp; &lt;chips&gt;." in vtt
    assert parse_webvtt(vtt)[0].lines == ["Fish &amp; &lt;chips&gt;."]


def test_empty() -> None:
    assert make_webvtt([]) == "WEBVTT\n\n"
    assert parse_webvtt(make_webvtt([])) == []


def test_lines_wrap_at_42_and_two_lines_at_most() -> None:
    text = "a district nurse sat at our kitchen table and simply listened to what mattered most"
    cues = parse_webvtt(make_webvtt(words_from(text, step=0.2)))
    assert all(len(cue.lines) <= 2 for cue in cues)
    assert all(len(line) <= 42 for cue in cues for line in cue.lines)
    assert " ".join(" ".join(c.lines) for c in cues) == text


def test_breaks_at_sentence_end_and_pause() -> None:
    words = words_from("I was scared. Then she came")
    words += words_from("and everything changed", start=words[-1].end + 1.5)
    cues = make_cues(words)
    assert [" ".join(c.lines) for c in cues] == [
        "I was scared.",
        "Then she came",
        "and everything changed",
    ]


def test_short_cue_extends_into_the_gap_but_not_over_the_next() -> None:
    words = [Word(1.0, 1.3, " Yes."), Word(1.6, 2.0, " No."), Word(5.0, 5.2, " Maybe.")]
    cues = make_cues(words)
    assert (cues[0].start, cues[0].end) == (1.0, 1.6)  # stops where the next cue starts
    assert (cues[1].start, cues[1].end) == (1.6, 2.6)  # extended to 1 s
    assert (cues[2].start, cues[2].end) == (5.0, 6.0)


def test_cue_never_exceeds_max_duration_by_extension() -> None:
    words = words_from("slowly " * 30, step=1.0, gap=0.1)
    for cue in make_cues(words, max_duration=6.0):
        assert cue.end - cue.start <= 6.0 + 1e-9


def test_long_word_and_offset() -> None:
    word = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"
    cues = parse_webvtt(make_webvtt([Word(0, 2, " " + word)]))
    assert cues[0].lines == [word]
    shifted = parse_webvtt(make_webvtt(words_from("hello there."), offset=10))
    assert shifted[0].start == 10.0


def test_window_is_rebased_and_clipped() -> None:
    words = words_from("one two three four five six seven eight nine ten.", step=1.0)
    clipped = clip_words(words, 3.0, 6.0)
    assert [w.text for w in clipped] == [" four", " five", " six"]
    assert clipped[0].start == 0.0 and clipped[-1].end <= 3.0
    cues = parse_webvtt(make_webvtt_window(words, 3.0, 6.0))
    assert cues[0].start == 0.0 and cues[-1].end <= 3.0
    assert " ".join(" ".join(c.lines) for c in cues) == "four five six"
    with pytest.raises(ValueError):
        clip_words(words, 5, 5)


# --- invariants ---------------------------------------------------------------------------

_word_specs = st.lists(
    st.tuples(
        st.floats(0, 2.0, allow_nan=False),  # gap before
        st.floats(0, 1.5, allow_nan=False),  # duration (may be 0)
        st.text(alphabet="abcdefghij&<>,.?'", min_size=1, max_size=14),
    ),
    max_size=60,
)


def _build(specs: list[tuple[float, float, str]]) -> list[Word]:
    words, t = [], 0.0
    for gap, seconds, text in specs:
        t += gap
        words.append(Word(t, t + seconds, " " + text))
        t += seconds
    return words


@settings(max_examples=200, deadline=None)
@given(_word_specs)
def test_invariants(specs: list[tuple[float, float, str]]) -> None:
    words = _build(specs)
    cues = make_cues(words)
    parsed = parse_webvtt(make_webvtt(words))
    assert len(parsed) == len(cues)
    # Every word once, in order.
    assert [w.text for c in cues for w in c.words] == [w.text for w in words]
    for i, (cue, p) in enumerate(zip(cues, parsed, strict=True)):
        assert p.start == cue.start == round(cue.words[0].start, 3)
        assert cue.end >= round(max(w.end for w in cue.words), 3) - 0.001
        assert cue.end > cue.start
        assert len(cue.lines) <= 2
        longest_word = max(len(w.text.strip()) for w in cue.words)
        assert all(len(line) <= max(42, longest_word) for line in cue.lines)
        if i + 1 < len(cues):
            assert cue.end <= cues[i + 1].start  # never overlapping
            assert cues[i + 1].start > cue.start
            # Extended to be readable unless the next cue or max duration is in the way.
            assert cue.end - cue.start >= 1.0 - 1e-9 or cue.end == cues[i + 1].start
        else:
            assert cue.end - cue.start >= 1.0 - 1e-9
