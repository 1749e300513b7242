"""What every HTML form shares: ids sent back in hidden fields, and the one message a small form
shows when it is refused. Each package's own forms live in its ``forms.py``."""

from __future__ import annotations

from typing import Any

from wtforms import Form, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional

from storyhub import MAX_ID  # the largest id the database hands out; a bigger one is "not found"


class IdField(IntegerField):
    """An id a page sends back (a hidden field or a choice): a whole number from 1 to MAX_ID.

    Anything else (missing, words, a number too big to be an id) fails with ``message``, in the
    page's own words rather than WTForms' "Not a valid integer value".
    """

    def __init__(
        self, label: str | None = None, *, message: str, optional: bool = False, **kwargs: Any
    ) -> None:
        self.message = message
        # Optional: a choice that may be left empty (a select with nothing picked).
        present = Optional() if optional else InputRequired(message)
        super().__init__(label, validators=[present, NumberRange(1, MAX_ID, message)], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.message) from None


def first_error(form: Form) -> str:
    """The first thing wrong with a refused form, for a page that answers with one message."""
    for messages in form.errors.values():
        for message in messages:
            # FieldList and FormField give nested lists or dicts; small forms have neither.
            if isinstance(message, str):
                return message
    return "Something in that form needs another look. Please try again."
