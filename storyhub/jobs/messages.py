"""Job progress and failure messages: stored in English (the msgid) and shown in the viewer's
language.

A job runs in a worker, outside any request, so it cannot know who will read its messages or in
which language. It stores the English text, marked with ``N_`` where it is made so that it is in
the catalogue, and the page or the progress JSON translates it with ``job_text`` when shown.
"""

from __future__ import annotations

import re

from flask_babel import gettext

from media_pipeline.compile import CARD_STAGE, CLIP_STAGE
from media_pipeline.errors import MESSAGES
from storyhub.i18n import current_language

# Stored messages with numbers in them ("Cutting clip 2 of 3"): each is matched back to its msgid
# so the numbers can be put into the Welsh sentence, in its own word order.
_NUMBERED = tuple(
    (
        msgid,
        re.compile(
            "^" + re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>\\d+)", re.escape(msgid)) + "$",
        ),
    )
    for msgid in (CARD_STAGE, CLIP_STAGE)
)


def job_text(message: str | None, code: str | None = None) -> str:
    """A stored job message (or story failure) in the viewer's language; ``code`` is the
    failure's code, whose general message is shown when this exact one has no translation."""
    if not message:
        return ""
    translated = gettext(message)
    if translated != message or current_language() == "en":
        return translated
    for msgid, pattern in _NUMBERED:
        found = pattern.match(message)
        if found:
            return gettext(msgid, **found.groupdict())
    # A message made with values (a length limit, say) that has no translation of its own: the
    # general message for its kind of failure says the same thing, in the viewer's language.
    if code in MESSAGES:
        return gettext(MESSAGES[code])
    return message
