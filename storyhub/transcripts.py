"""Transcripts: store the machine's words as passages, and let tellers and curators correct them.

Every change makes a numbered revision holding a snapshot of all passages, so nothing is lost and
captions (made from the words on request) always follow the latest edit. Word timings are kept
through corrections: a corrected word keeps its time; a run of new words shares the time of the
words it replaces.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from typing import Any

from flask_babel import gettext as _  # English outside a request (storyhub.i18n)
from sqlalchemy import delete, select

from consent import copies
from consent.policy import can_redact
from media_pipeline.captions import make_webvtt
from media_pipeline.passages import Passage as CutPassage
from media_pipeline.recognition import CHECKED, POOR
from media_pipeline.recognition import judge as judge_recognition
from media_pipeline.transcribe import Transcript as MachineTranscript
from media_pipeline.transcribe import Word
from storyhub import audit
from storyhub.covers import picture_covers
from storyhub.extensions import db
from storyhub.models import (
    Passage,
    Redaction,
    Story,
    Transcript,
    TranscriptRevision,
    User,
    utcnow,
)
from storyhub.themes import services as themes
from storyhub.words import REDACTED_TEXT, unit_text, word_units

# One edit is one short write: an empty line splits a passage, and each split is a new row, so a
# text with hundreds of empty lines would hold the database's write lock for seconds.
MAX_SPLITS_PER_EDIT = 20
# A passage is 15 to 60 seconds of speech (a few hundred words); comparing a far longer text
# with the old words would take long, and no correction needs it (a passage made long by joins
# may be sent back at up to twice its length, so it can always be split again).
MAX_EDIT_CHARS = 20_000
MAX_UNDO_REASON = 500
# Words at most this far apart (in seconds) are one silenced span.
_JOIN_GAP = 0.05
# A word counts as inside a removed span when it overlaps it by more than this (seconds).
_OVERLAP = 0.001


class TranscriptError(ValueError):
    """An edit that can't be made; the message says why in plain words."""


def _word_dict(word: Word) -> dict[str, Any]:
    return {"start": float(word.start), "end": float(word.end), "text": word.text.strip()}


def _text_of(words: list[dict[str, Any]]) -> str:
    """The passage's text as people see it: redacted runs become one "[name removed]"."""
    out: list[str] = []
    for word in words:
        if word.get("redacted"):
            if not out or out[-1] != REDACTED_TEXT:
                out.append(REDACTED_TEXT)
        else:
            out.append(word["text"])
    return " ".join(out)


def _snapshot(story: Story, kind: str, author: User | None) -> None:
    transcript = story.transcript
    assert transcript is not None
    db.session.flush()
    db.session.add(
        TranscriptRevision(
            story_id=story.id,
            revision=transcript.revision,
            kind=kind,
            author_id=author.id if author else None,
            passages=[
                {"start": p.start, "end": p.end, "speaker": p.speaker, "words": p.words}
                for p in story.passages
            ],
        )
    )


def save_machine_transcript(
    story: Story, machine: MachineTranscript, passages: list[CutPassage]
) -> Transcript:
    """Store a fresh machine transcript (replacing any earlier one of this story)."""
    for old in list(story.passages):
        db.session.delete(old)
    if story.transcript is not None:
        db.session.delete(story.transcript)
    # A new machine transcript starts a new history (revision 1 is the machine's words).
    db.session.execute(delete(TranscriptRevision).where(TranscriptRevision.story_id == story.id))
    db.session.flush()
    transcript = Transcript(
        story=story,
        language=machine.language,
        model=machine.model,
        # Poor words wait for a person before anyone else sees them (consent.words_need_checking).
        recognition=judge_recognition(machine).verdict,
    )
    db.session.add(transcript)
    for position, cut in enumerate(passages):
        words = [_word_dict(w) for w in cut.words if w.text.strip()]
        db.session.add(
            Passage(
                story=story,
                position=position,
                start=float(cut.start),
                end=float(cut.end),
                text=_text_of(words),
                words=words,
            )
        )
    db.session.flush()
    db.session.refresh(story)
    # Words a curator removed stay removed in new machine words too (their times still hold).
    _hold_redactions(story)
    _snapshot(story, "machine", None)
    return transcript


def _next_revision(story: Story, kind: str, author: User, *, undoing: bool = False) -> None:
    transcript = story.transcript
    if transcript is None:
        raise TranscriptError(_("This story has no transcript yet."))
    _hold_redactions(story)
    if not undoing:
        _check_nothing_unhidden(story, transcript.revision)
    transcript.revision += 1
    transcript.approved_at = None  # the teller approves the words as they now stand
    transcript.approved_by_id = None
    _renumber(story)
    _snapshot(story, kind, author)
    audit.record(
        f"transcript.{kind}",
        actor=author,
        object_type="story",
        object_id=story.id,
        revision=transcript.revision,
    )


def active_redactions(story: Story) -> list[Redaction]:
    """The story's redactions in force (not undone), earliest first."""
    return list(
        db.session.scalars(
            select(Redaction)
            .where(Redaction.story_id == story.id, Redaction.undone_at.is_(None))
            .order_by(Redaction.start, Redaction.id)
        )
    )


def redactions_in(passage: Passage) -> list[Redaction]:
    """The redactions in force over words of ``passage`` (for a curator's undo buttons)."""
    return [
        r
        for r in active_redactions(passage.story)
        if any(w.get("redacted") and _overlaps(w, r.start, r.end) for w in passage.words)
    ]


def _overlaps(word: dict[str, Any], start: float, end: float) -> bool:
    """Whether a word lies (even partly, or as a zero-length word) inside ``start``-``end``."""
    return float(word["start"]) < end - _OVERLAP and float(word["end"]) > start + _OVERLAP


def _hold_redactions(story: Story) -> None:
    """Mark every word inside a redaction as removed: the records hold, whatever the words say.

    New words typed into a removed span (or machine words heard there) are hidden with it.
    """
    spans = [(r.start, r.end) for r in active_redactions(story)]
    if not spans:
        return
    for passage in story.passages:
        if not any(
            not w.get("redacted") and any(_overlaps(w, s, e) for s, e in spans)
            for w in passage.words
        ):
            continue
        words = [dict(w) for w in passage.words]
        for word in words:
            if any(_overlaps(word, s, e) for s, e in spans):
                word["redacted"] = True
        passage.words = words
        passage.text = _text_of(words)


def _removed_words(passages: list[dict[str, Any]] | list[Passage]) -> set[tuple[float, float]]:
    found: set[tuple[float, float]] = set()
    for passage in passages:
        words = passage["words"] if isinstance(passage, dict) else passage.words
        for word in words:
            if word.get("redacted"):
                found.add((round(float(word["start"]), 3), round(float(word["end"]), 3)))
    return found


def _check_nothing_unhidden(story: Story, revision: int) -> None:
    """Refuse any change after which a word that was removed is no longer removed, at its time.

    Edits keep removed words by design; this is the last line, should a future change forget.
    """
    before = db.session.scalar(
        select(TranscriptRevision.passages).where(
            TranscriptRevision.story_id == story.id, TranscriptRevision.revision == revision
        )
    )
    if before is None:
        return
    if not _removed_words(before) <= _removed_words(list(story.passages)):
        raise TranscriptError(
            _(
                "We couldn't save that without bringing back words a curator removed, "
                "so nothing was changed."
            )
        )


def _renumber(story: Story) -> None:
    ordered = sorted(story.passages, key=lambda p: p.start)
    # Two passes through a gap so the unique (story, position) index never sees a clash.
    for index, passage in enumerate(ordered):
        passage.position = -(index + 1)
    db.session.flush()
    for index, passage in enumerate(ordered):
        passage.position = index
    db.session.flush()


_TOKEN = re.compile(r"\S+")
# The placeholder for removed words counts as one token when a corrected text comes back.
_EDIT_TOKEN = re.compile(re.escape(REDACTED_TEXT) + r"|\S+")


def _compare_key(token: str) -> str:
    """Words match whatever their capitals or punctuation ("Swansea." is "swansea")."""
    if token == REDACTED_TEXT:
        return token
    return re.sub(r"[^\w']", "", token.lower()) or token


def retime(old: list[dict[str, Any]], new_text: str) -> list[dict[str, Any]]:
    """New words for a corrected passage, keeping the timings of words that stayed the same.

    Unchanged words keep their times; a replaced run of words shares out the time of the run it
    replaces; inserted words take a sliver of time at the point they go in. Removed words (shown
    as "[name removed]") stay removed and silent at their own times, whatever the new text does
    with the placeholder (left, moved, deleted or typed elsewhere).
    """
    tokens = _EDIT_TOKEN.findall(new_text)
    if not tokens:
        raise TranscriptError(_("A passage can't be empty. To remove words, redact them instead."))
    units = word_units(old)
    before = [_compare_key(unit_text(u)) for u in units]
    after = [_compare_key(t) for t in tokens]
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    words: list[dict[str, Any]] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for offset in range(b1 - b0):
                unit = units[a0 + offset]
                if unit[0].get("redacted"):
                    words.extend(dict(w) for w in unit)
                else:
                    kept = dict(unit[0])
                    kept["text"] = tokens[b0 + offset]  # capitals and punctuation may change
                    words.append(kept)
            continue
        if op == "delete":
            # Removed words stay removed, at their own times, even if their placeholder was
            # deleted from the text: only a curator's undo can bring them back.
            words.extend(dict(w) for unit in units[a0:a1] if unit[0].get("redacted") for w in unit)
            continue
        new_tokens = [t for t in tokens[b0:b1] if t != REDACTED_TEXT]
        replaced = [w for unit in units[a0:a1] for w in unit]
        if any(w.get("redacted") for w in replaced):
            # Editing across a removed name must not bring it back: keep it removed and silent,
            # and give the new words the time of the first run of ordinary words replaced, so
            # they never take (or widen) the removed name's time.
            words.extend(dict(w) for w in replaced if w.get("redacted"))
            run: list[dict[str, Any]] = []
            for w in replaced:
                if not w.get("redacted"):
                    run.append(w)
                elif run:
                    break
            replaced = run
        if not new_tokens:
            continue
        if replaced:
            start, end = replaced[0]["start"], replaced[-1]["end"]
        else:  # inserted between words: the moment where it goes in
            flat_before = [w for unit in units[:a0] for w in unit]
            flat_after = [w for unit in units[a0:] for w in unit]
            start = flat_before[-1]["end"] if flat_before else (old[0]["start"] if old else 0.0)
            end = max(flat_after[0]["start"] if flat_after else start, start)
        step = (end - start) / len(new_tokens)
        for i, token in enumerate(new_tokens):
            words.append(
                {
                    "start": round(start + i * step, 3),
                    "end": round(start + (i + 1) * step, 3),
                    "text": token,
                }
            )
    words.sort(key=lambda w: (w["start"], w["end"]))
    if not words:
        raise TranscriptError(_("A passage can't be empty. To remove words, redact them instead."))
    return words


def _check_not_typed_back(passage: Passage, words: list[dict[str, Any]]) -> None:
    """Refuse a correction that types a removed word (a name, a place) back into the words."""
    removed = {
        _compare_key(str(w["text"]))
        for p in passage.story.passages
        for w in p.words
        if w.get("redacted")
    }
    if not removed:
        return
    before = Counter(_compare_key(str(w["text"])) for w in passage.words if not w.get("redacted"))
    after = Counter(_compare_key(str(w["text"])) for w in words if not w.get("redacted"))
    if any(after[key] > before[key] for key in removed):
        raise TranscriptError(
            _(
                "That puts back words a curator removed, so nothing was changed. "
                "If they should come back, please ask a curator."
            )
        )


def edit_passage(passage: Passage, new_text: str, author: User) -> Passage:
    """Correct the words of one passage; the other passages are untouched."""
    words = retime(passage.words, new_text.strip())
    _check_not_typed_back(passage, words)
    changed = _text_of(words) != passage.text
    passage.words = words
    passage.text = _text_of(words)
    if changed:
        themes.after_edit(passage)
    _next_revision(passage.story, "edit", author)
    return passage


def split_passage(passage: Passage, before_word: int, author: User) -> Passage:
    """Split a passage in two before word number ``before_word``; return the new second part."""
    new = _split(passage, before_word)
    themes.schedule_suggestions(passage.story)
    _next_revision(passage.story, "split", author)
    return new


def _split(passage: Passage, before_word: int) -> Passage:
    if not 0 < before_word < len(passage.words):
        raise TranscriptError(_("Choose a word inside the passage to split it there."))
    first, second = passage.words[:before_word], passage.words[before_word:]
    passage.words, passage.text, passage.end = first, _text_of(first), first[-1]["end"]
    story = passage.story
    new = Passage(
        story=story,
        position=len(story.passages) + 1000,  # renumbered by _next_revision
        start=second[0]["start"],
        end=max(second[-1]["end"], passage.end),
        text=_text_of(second),
        words=second,
        speaker=passage.speaker,
    )
    db.session.add(new)
    db.session.flush()
    themes.after_split(passage, new)
    return new


def merge_with_next(passage: Passage, author: User) -> Passage:
    """Join a passage with the one after it."""
    story = passage.story
    ordered = sorted(story.passages, key=lambda p: p.position)
    index = ordered.index(passage)
    if index + 1 >= len(ordered):
        raise TranscriptError(_("This is the last passage; there is nothing after it to join."))
    following = ordered[index + 1]
    themes.before_merge(passage, following)
    themes.schedule_suggestions(story)
    passage.words = passage.words + following.words
    passage.text = _text_of(passage.words)
    passage.end = following.end
    story.passages.remove(following)
    db.session.delete(following)
    db.session.flush()
    _next_revision(story, "merge", author)
    return passage


def set_speaker(passage: Passage, speaker: str, author: User) -> Passage:
    """Name who is speaking in a passage (e.g. the teller, or an interviewer)."""
    passage.speaker = speaker.strip()[:80]
    _next_revision(passage.story, "speaker", author)
    return passage


def redact(passage: Passage, first_word: int, last_word: int, author: User) -> Passage:
    """Hide words (a name, a place): "[name removed]" in text and captions, silence in media."""
    return redact_places(passage, [(first_word, last_word)], author)


def redact_places(passage: Passage, places: list[tuple[int, int]], author: User) -> Passage:
    """Hide several runs of words in one change (one revision, however often a name occurs)."""
    if not places or not all(0 <= a <= b < len(passage.words) for a, b in places):
        raise TranscriptError(_("Choose the words to remove from within the passage."))
    words = [dict(w) for w in passage.words]
    # Words already removed keep their one record, so a single undo brings them back.
    places = [(a, b) for a, b in places if not all(w.get("redacted") for w in words[a : b + 1])]
    if not places:
        raise TranscriptError(_("Those words are already removed."))
    copies.before_removal(passage.story)  # the web copy playing now still has these words
    for first_word, last_word in places:
        for word in words[first_word : last_word + 1]:
            word["redacted"] = True
        # The record is what holds: word edits can't lose it, only a curator's undo ends it.
        db.session.add(
            Redaction(
                story_id=passage.story_id,
                start=float(words[first_word]["start"]),
                end=float(words[last_word]["end"]),
                created_by_id=author.id,
            )
        )
    passage.words = words
    passage.text = _text_of(words)
    _next_revision(passage.story, "redact", author)
    return passage


def undo_redaction(story: Story, redaction_id: int, author: User, reason: str) -> Redaction:
    """A curator brings back words they removed, saying why; recorded in the audit trail.

    The caller makes the web copy again (as after a redaction), so the words are heard again.
    """
    if not can_redact(author, story):
        raise TranscriptError(_("Only a curator can bring back words that were removed."))
    redaction = db.session.get(Redaction, redaction_id)
    if redaction is None or redaction.story_id != story.id or redaction.undone_at is not None:
        raise TranscriptError(_("Those words aren't removed any more, or we couldn't find them."))
    why = " ".join(reason.split())
    if not why:
        raise TranscriptError(_("Please say why these words should come back."))
    if len(why) > MAX_UNDO_REASON:
        raise TranscriptError(
            _("Please say why in fewer than %(count)s characters.", count=MAX_UNDO_REASON)
        )
    copies.before_removal(story)  # the web copy playing now was made with these words silent
    redaction.undone_at = utcnow()
    redaction.undone_by_id = author.id
    redaction.undo_reason = why
    db.session.flush()
    still = [(r.start, r.end) for r in active_redactions(story)]
    for passage in story.passages:
        words = [dict(w) for w in passage.words]
        for word in words:
            if (
                word.get("redacted")
                and _overlaps(word, redaction.start, redaction.end)
                and not any(_overlaps(word, s, e) for s, e in still)
            ):
                word.pop("redacted")
        if words != passage.words:
            passage.words = words
            passage.text = _text_of(words)
    _next_revision(story, "unredact", author, undoing=True)
    audit.record(
        "transcript.redaction_undone",
        actor=author,
        object_type="story",
        object_id=story.id,
        redaction=redaction.id,
        start=redaction.start,
        end=redaction.end,
        reason=why,
    )
    return redaction


def redacted_spans(story: Story) -> list[tuple[float, float]]:
    """The time spans to silence in the web copy (and anything cut from it later).

    Both the redaction records and the words marked removed count, so neither alone can let a
    removed name be heard.
    """
    found = [(float(r.start), float(r.end)) for r in active_redactions(story)]
    for passage in story.passages:
        for word in passage.words:
            if word.get("redacted"):
                found.append((float(word["start"]), float(word["end"])))
    spans: list[tuple[float, float]] = []
    for start, end in sorted(found):
        if spans and start - spans[-1][1] < _JOIN_GAP:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def redaction_state(story: Story) -> str:
    """A short fingerprint of everything removed from ``story``'s words, sound and picture.

    Every copy made from a story (the web copy, clip files, exports, packs) records the state it
    was made under; a copy whose state is no longer the story's current one still holds something
    that has since been removed, and must not be handed out.
    """
    removed = [f"{start:.3f}-{end:.3f}" for start, end in redacted_spans(story)]
    # Covered picture (people who didn't agree, where they can be seen). Only added when there
    # is some, so a story without covers keeps the fingerprint its copies recorded.
    removed += [f"picture:{start:.3f}-{end:.3f}" for start, end in picture_covers(story)]
    return hashlib.sha256(";".join(removed).encode()).hexdigest()[:16]


def approve(story: Story, author: User) -> None:
    """The teller (or a curator with them) has checked the words."""
    transcript = story.transcript
    if transcript is None:
        raise TranscriptError(_("This story has no transcript yet."))
    transcript.approved_at = utcnow()
    transcript.approved_by_id = author.id
    if transcript.recognition == POOR:
        transcript.recognition = CHECKED  # a person has looked: others may now see the words
    audit.record("transcript.approved", actor=author, object_type="story", object_id=story.id)


def caption_words(story: Story) -> list[Word]:
    """All the story's words for captions, redacted runs shown as "[name removed]"."""
    words: list[Word] = []
    for passage in story.passages:
        for word in passage.words:
            if word.get("redacted"):
                if words and words[-1].text == REDACTED_TEXT:
                    last = words[-1]
                    words[-1] = Word(start=last.start, end=float(word["end"]), text=REDACTED_TEXT)
                    continue
                text = REDACTED_TEXT
            else:
                text = word["text"]
            words.append(Word(start=float(word["start"]), end=float(word["end"]), text=text))
    return words


def webvtt(story: Story) -> str:
    """The story's captions as WebVTT, made from the current words."""
    return make_webvtt(caption_words(story))


def split_text(text: str) -> list[str]:
    """A corrected passage's text, split where the editor left an empty line."""
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _placeholders(tokens: list[str]) -> list[int]:
    return [i for i, token in enumerate(tokens) if token == REDACTED_TEXT]


def correct_passage(passage: Passage, text: str, speaker: str | None, author: User) -> list[str]:
    """Save a corrected passage from the editor: new words, speaker, and splits.

    An empty line in the text splits the passage there (the parts keep their words' times), up
    to MAX_SPLITS_PER_EDIT at a time. Returns notes to show the person (e.g. that a removed name
    was kept removed although the text left out its "[name removed]").
    """
    if len(text) > max(MAX_EDIT_CHARS, 2 * len(passage.text)):
        raise TranscriptError(
            _(
                "That is too much text for one passage. Please shorten it and save again; "
                "nothing was changed."
            )
        )
    parts = split_text(text)
    if not parts:
        raise TranscriptError(_("A passage can't be empty. To hide words, ask a curator."))
    if len(parts) > MAX_SPLITS_PER_EDIT + 1:
        raise TranscriptError(
            _(
                "You can split a passage at up to %(count)s empty lines at a time. "
                "Please take out some empty lines and save again; nothing was changed.",
                count=MAX_SPLITS_PER_EDIT,
            )
        )
    notes: list[str] = []
    joined = " ".join(parts)
    if joined != passage.text or len(parts) > 1:
        edit_passage(passage, joined, author)
    submitted = _EDIT_TOKEN.findall(joined)
    saved = _EDIT_TOKEN.findall(passage.text)
    if _placeholders(submitted) != _placeholders(saved):
        notes.append(
            _(
                "“[name removed]” stays where a curator took out a name or a place, so we kept "
                "it there. Only a curator can bring those words back."
            )
        )
    if speaker is not None and speaker.strip() != passage.speaker:
        set_speaker(passage, speaker, author)
    if len(parts) == 1:
        return notes
    unit_counts = [len(_EDIT_TOKEN.findall(part)) for part in parts]
    units = word_units(passage.words)
    if len(units) != sum(unit_counts):
        # The saved words differ from the text (a removed name was kept): the empty lines no
        # longer say where to split, so the person splits again on the saved words.
        notes.append(_("We saved the words but didn't split the passage. Please split it again."))
        return notes
    boundaries = []
    for cut in (sum(unit_counts[: i + 1]) for i in range(len(parts) - 1)):
        boundaries.append(sum(len(unit) for unit in units[:cut]))
    # Split from the last boundary backwards, so earlier word numbers stay right; one revision
    # and one request for suggestions for all of them.
    for boundary in reversed(boundaries):
        _split(passage, boundary)
    themes.schedule_suggestions(passage.story)
    _next_revision(passage.story, "split", author)
    return notes
