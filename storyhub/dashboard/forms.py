"""The dashboard's filter form (a GET form: its query string is the slice's address, so every
number links to the same form narrowed). What a slice may be is decided by ``Slice.parse``,
which the JSON API and the CSV share; this form is how the pages read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext
from wtforms import Form, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from storyhub.dashboard.slices import BadSlice, Slice
from storyhub.themes.models import ThemeKind

MAX_PAGE = 10_000
NO_SUCH_PAGE = lazy_gettext("That page number is not one we can show.")


class PageField(IntegerField):
    """A page of passages; words get NO_SUCH_PAGE, not WTForms' "Not a valid integer value"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(NO_SUCH_PAGE)) from None


def _choice(label: Any, **kwargs: Any) -> SelectField:
    # The page offers the choices; Slice.parse says what is wrong with any other value (one typed
    # into an address), in its own words, so WTForms' "Not a valid choice" is never shown.
    return SelectField(label, choices=[], validate_choice=False, **kwargs)


class SliceForm(Form):
    """The filters, as the page's form and every number's link send them."""

    kind = _choice(lazy_gettext("Kind of outcome"))
    subtheme = _choice(lazy_gettext("Theme"))
    teller = _choice(lazy_gettext("Who tells the story"))
    setting = _choice(lazy_gettext("Service setting"))
    language = _choice(lazy_gettext("Language"))
    valence = _choice(lazy_gettext("Good or bad experience"))
    # "from" is a Python keyword: the field is ``month_from``, its name in the address "from".
    month_from = _choice(lazy_gettext("From"), name="from")
    month_to = _choice(lazy_gettext("To"), name="to")
    year = _choice(lazy_gettext("Year"))
    by = _choice(lazy_gettext("Group time"))
    # The slice is for counts (the page, print, CSV), not for the passages behind one number.
    counting = True

    def __init__(self, formdata: Any, subthemes: Mapping[str, ThemeKind]) -> None:
        """``subthemes``: the themes that exist (key -> kind)."""
        super().__init__(formdata)
        self.subthemes = subthemes
        self.slice: Slice | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        """Each field, then the slice they make (its first problem is the form's error)."""
        valid = super().validate(extra_validators)
        given = {name: field.data for name, field in self._slice_fields() if field.data}
        try:
            self.slice = Slice.parse(given, self.subthemes, self.counting)
        except BadSlice as problem:
            self.form_errors.append(str(problem))
            return False
        return valid

    def _slice_fields(self) -> list[tuple[str, Any]]:
        return [(f.name, f) for f in self if isinstance(f, SelectField)]

    def problem(self) -> str | None:
        """Why these filters can't be shown, in plain words (None: they can)."""
        messages = [*self.form_errors, *(m for f in self for m in f.errors)]
        return str(messages[0]) if messages else None


class PassagesForm(SliceForm):
    """The passages behind one number: its slice (narrower than counts allow) and a page."""

    counting = False
    page = PageField(
        lazy_gettext("Page"),
        default=1,
        validators=[Optional(), NumberRange(1, MAX_PAGE, NO_SUCH_PAGE)],
    )
