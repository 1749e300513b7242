"""Jinja filters that put numbers and states into plain words."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from consent.models import Audience
from storyhub.models import StoryState
from storyhub.transcripts import redactions_in
from storyhub.words import display_words

STATE_LABELS = {
    StoryState.UPLOADED: lazy_gettext("Waiting to be prepared"),
    StoryState.PROCESSING: lazy_gettext("Being prepared"),
    StoryState.TRANSCRIBED: lazy_gettext("Words ready; video being prepared"),
    StoryState.READY: lazy_gettext("Ready to watch"),
    StoryState.FAILED: lazy_gettext("Needs attention"),
}


def duration(seconds: float | None) -> str:
    """Seconds as "1 min 05 s" (or "45 s")."""
    if seconds is None:
        return ""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return gettext("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)
    if minutes:
        return gettext("%(minutes)d min %(seconds)02d s", minutes=minutes, seconds=secs)
    return gettext("%(seconds)d s", seconds=secs)


def state_label(state: StoryState | str) -> str:
    """A story state as words a storyteller understands."""
    return str(STATE_LABELS.get(StoryState(state), state))


def timecode(seconds: float) -> str:
    """Seconds as a clock reading, "1:05" or "1:02:05"."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def audience_order(audiences: set[Audience]) -> list[Audience]:
    """Audiences in the order the wizard asks about them, not alphabetical."""
    return [a for a in Audience if a in audiences]


def css_string(value: object) -> Markup:
    """Text for inside a CSS string ("..."), as CSS escapes: any character but a letter or a
    digit becomes ``\\HHHHHH``. Nothing typed can end the string or the <style> element (which
    is raw text, so HTML escapes such as &#39; would show as typed). Spaces are escaped too: CSS
    swallows one space after an escape."""
    # Safe as markup: the result holds letters, digits and backslash escapes only.
    return Markup(  # noqa: S704
        "".join(ch if ch.isascii() and ch.isalnum() else f"\\{ord(ch):06X}" for ch in str(value))
    )


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(audience_order, "audience_order")
    app.add_template_filter(css_string, "css_string")
    app.add_template_filter(timecode, "timecode")
    app.add_template_global(display_words, "display_words")
    app.add_template_global(redactions_in, "redactions_in")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(state_label, "state_label")
