"""Form fields both builders' pages use: ids chosen from a list, and lists of them.

The forms only turn what was sent into typed values, with a plain message when it can't be; the
rules (lengths, who may be chosen, what may go in) stay in the services, which the API calls too.
"""

from __future__ import annotations

from typing import Any

from flask_babel.speaklater import LazyString
from wtforms import Field

from storyhub.forms import IdField, PageForm, first_error
from storyhub.playlists.core import PlaylistError


def id_field(label: str | LazyString, message: str | LazyString) -> IdField:
    """An optional id chosen from a list (a select or a button); anything else gets ``message``."""
    return IdField(label, message=message, optional=True)


class IdListField(Field):
    """The ids ticked in a list of checkboxes, or sent in order by a script, as they came.

    Not turned into numbers here: the service checks every one against what may be chosen, so
    a refusal says what is wrong with the list (a stale page, someone not on it) in its words.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = list(valuelist)

    def _value(self) -> str:
        return ""


def require_valid(form: PageForm) -> None:
    """Refuse a form whose values can't be read (an id or a date that isn't one) in its own
    plain words, as the services refuse a change: one way for a page to answer both."""
    if not form.validate():
        # A field's own message is lazy (translated in the page's language when read); the
        # shared first_error() takes only plain text, so read them here first.
        for messages in form.errors.values():
            for message in messages:
                if isinstance(message, LazyString):
                    raise PlaylistError(str(message))
        raise PlaylistError(first_error(form))
