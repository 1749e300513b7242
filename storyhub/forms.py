"""What every HTML form shares: ids sent back in hidden fields, and the one message a small form
shows when it is refused. Each package's own forms live in its ``forms.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import Form, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional

from storyhub import MAX_ID  # the largest id the database hands out; a bigger one is "not found"


class PageForm(FlaskForm):
    """The base of every HTML form: Flask-WTF's, reading only what a browser's form sends.

    Flask-WTF would also read a JSON body as the form; a body that is a list or a number then
    fails inside it (a server error), and a number where text belongs reaches the services. Pages
    are never sent JSON (the site's scripts send forms), so a JSON body counts as an empty form:
    refused like any form with nothing filled in.
    """

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            # Not given formdata of its own (a page's form, read from the request), and sent JSON.
            if request.is_json and formdata is not None and not isinstance(formdata, Mapping):
                formdata = ImmutableMultiDict()
            return super().wrap_formdata(form, formdata)


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
            # A lazy message (lazy_gettext, made at import) is written out in the page's language.
            if isinstance(message, str | LazyString):
                return str(message)
    return "Something in that form needs another look. Please try again."
