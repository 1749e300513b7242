"""WebVTT captions from timed words: short readable cues that follow the speech.

Each cue holds at most `max_lines` lines of `max_chars_per_line` characters, starts exactly
when its first word starts, never ends before its last word ends, and never overlaps the
next cue. Cues break at sentence ends and at pauses, and a cue too brief to read is kept on
screen into the following silence (never past the next cue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .passages import ends_sentence
from .transcribe import Word, join_words

# A gap in speech at least this long ends a cue.
PAUSE_SECONDS: Final = 0.7
_CLAUSE_END: Final = (",", ";", ":", "\u2014", "\u2013")  # em and en dashes


@dataclass(frozen=True)
class Cue:
    """One caption on screen: times in seconds, text already split into lines (unescaped)."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]


def _wrap(words: Sequence[Word], max_chars: int, max_lines: int) -> list[str] | None:
    """Split words into at most `max_lines` lines of `max_chars`, balanced; None if impossible.

    A single word longer than `max_chars` gets a line to itself rather than failing.
    """
    texts = [w.text.strip() for w in words]
    one = join_words(words)
    if len(one) <= max_chars or len(texts) == 1:
        return [one]
    if max_lines < 2:
        return None
    if max_lines == 2:
        best: tuple[int, int, list[str]] | None = None
        for cut in range(1, len(words)):
            top, bottom = join_words(words[:cut]), join_words(words[cut:])
            longest = max(len(top), len(bottom))
            single_word_line = cut == 1 or cut == len(words) - 1
            if longest > max_chars and not (single_word_line and longest == max(map(len, texts))):
                continue
            # Most balanced wins; on a tie, the longer bottom line (text reads as a pyramid).
            key = (longest, len(top))
            if best is None or key < best[:2]:
                best = (key[0], key[1], [top, bottom])
        return best[2] if best else None
    lines: list[str] = []
    current: list[Word] = []
    for word in words:
        if current and len(join_words([*current, word])) > max_chars:
            lines.append(join_words(current))
            current = []
        current.append(word)
    lines.append(join_words(current))
    return lines if len(lines) <= max_lines else None


def _group(
    words: Sequence[Word], max_chars: int, max_lines: int, max_duration: float
) -> list[list[Word]]:
    """Split words into cue-sized runs."""

    def fits(run: Sequence[Word]) -> bool:
        if len(run) == 1:
            return True
        return (
            run[-1].end - run[0].start <= max_duration
            and _wrap(run, max_chars, max_lines) is not None
        )

    groups: list[list[Word]] = []
    current: list[Word] = []
    for i, word in enumerate(words):
        if current and not fits([*current, word]):
            # Prefer to break after a comma late in the cue over mid-phrase.
            cut = len(current)
            for j in range(len(current) - 1, len(current) // 2, -1):
                if current[j - 1].text.strip().endswith(_CLAUSE_END):
                    cut = j
                    break
            groups.append(current[:cut])
            current = current[cut:]
            if current and not fits([*current, word]):
                groups.append(current)
                current = []
        current.append(word)
        following = words[i + 1] if i + 1 < len(words) else None
        if following is None or ends_sentence(word) or following.start - word.end >= PAUSE_SECONDS:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _tidy(words: Sequence[Word]) -> list[Word]:
    """Drop empty words, sort by time, and trim each word so it ends by the next one's start."""
    ordered = sorted((w for w in words if w.text.strip()), key=lambda w: (w.start, w.end))
    tidy: list[Word] = []
    for i, w in enumerate(ordered):
        start = max(0.0, w.start)
        end = max(start, w.end)
        if i + 1 < len(ordered):
            end = max(start, min(end, ordered[i + 1].start))
        tidy.append(Word(start, end, w.text, w.probability))
    return tidy


def make_cues(
    words: Sequence[Word],
    *,
    max_chars_per_line: int = 42,
    max_lines: int = 2,
    min_duration: float = 1.0,
    max_duration: float = 6.0,
    until: float | None = None,
) -> list[Cue]:
    """Build caption cues from timed words (see the module docstring for the rules).

    Words are first tidied (sorted; each trimmed to end by the next word's start). `until`
    caps how far the last cue may be extended (the end of a clip).
    """
    if max_chars_per_line < 1 or max_lines < 1 or min_duration < 0 or max_duration <= 0:
        raise ValueError("caption limits must be positive")
    groups: list[list[Word]] = []
    for group in _group(_tidy(words), max_chars_per_line, max_lines, max_duration):
        # Two cues may not start in the same millisecond: merge such (zero-length) runs.
        if groups and _ms(group[0].start) <= _ms(groups[-1][0].start):
            groups[-1] = [*groups[-1], *group]
        else:
            groups.append(group)
    # Times in whole milliseconds from here on, so the written file keeps every guarantee.
    starts = [_ms(g[0].start) for g in groups]
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = starts[i]
        # Tidied words end by the next word's start, and cues start in distinct milliseconds,
        # so the spoken end never passes the next cue's start.
        spoken_end = max(start + 1, max(_ms(w.end) for w in group))
        readable = max(spoken_end, start + _ms(min(min_duration, max_duration)))
        if i + 1 < len(groups):
            limit: float = starts[i + 1]
        else:
            limit = _ms(until) if until is not None else float("inf")
        end = int(max(spoken_end, min(readable, limit)))
        lines = _wrap(group, max_chars_per_line, max_lines) or [join_words(group)]
        cues.append(Cue(start / 1000, end / 1000, tuple(lines), tuple(group)))
    return cues


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def timestamp(seconds: float) -> str:
    """Format seconds as a WebVTT timestamp, HH:MM:SS.mmm."""
    total = _ms(seconds)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def escape(text: str) -> str:
    """Escape text for a WebVTT cue payload."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_webvtt(cues: Sequence[Cue]) -> str:
    """Write cues as a WebVTT file."""
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts.append(f"{timestamp(cue.start)} --> {timestamp(cue.end)}")
        parts.extend(escape(line) for line in cue.lines)
        parts.append("")
    return "\n".join(parts) + "\n"


def shift_words(words: Sequence[Word], offset: float) -> list[Word]:
    """Move every word by `offset` seconds (negative moves earlier), clamping at 0."""
    return [
        Word(max(0.0, w.start + offset), max(0.0, w.end + offset), w.text, w.probability)
        for w in words
    ]


def clip_words(words: Sequence[Word], start: float, end: float) -> list[Word]:
    """Words spoken in [start, end], re-based so `start` becomes 0 and clipped to the window.

    A word belongs to the window if its middle falls inside it, so a word cut by the edge
    goes to whichever side holds most of it.
    """
    if end <= start:
        raise ValueError("the window must end after it starts")
    length = end - start
    chosen: list[Word] = []
    for w in words:
        middle = (w.start + w.end) / 2
        if start <= middle < end or (middle == end == w.end):
            s = min(max(w.start - start, 0.0), length)
            e = min(max(w.end - start, s), length)
            chosen.append(Word(s, e, w.text, w.probability))
    return chosen


def make_webvtt(
    words: Sequence[Word],
    *,
    max_chars_per_line: int = 42,
    max_lines: int = 2,
    min_duration: float = 1.0,
    max_duration: float = 6.0,
    offset: float = 0.0,
) -> str:
    """Return WebVTT captions for `words`; `offset` seconds are added to every time first."""
    if offset:
        words = shift_words(words, offset)
    cues = make_cues(
        words,
        max_chars_per_line=max_chars_per_line,
        max_lines=max_lines,
        min_duration=min_duration,
        max_duration=max_duration,
    )
    return format_webvtt(cues)


def make_webvtt_window(
    words: Sequence[Word],
    start: float,
    end: float,
    *,
    max_chars_per_line: int = 42,
    max_lines: int = 2,
    min_duration: float = 1.0,
    max_duration: float = 6.0,
) -> str:
    """Captions for the clip [start, end] of a story, timed from the clip's own start (0)."""
    return format_webvtt(
        make_cues(
            clip_words(words, start, end),
            max_chars_per_line=max_chars_per_line,
            max_lines=max_lines,
            min_duration=min_duration,
            max_duration=max_duration,
            until=end - start,
        )
    )
