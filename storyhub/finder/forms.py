"""The search form: the words and filters of ``/search`` and ``GET /api/v1/search`` (one query
string for both). A GET form, so a plain ``wtforms.Form`` (no token: it changes nothing).

Each message says, in plain words, which value can't be used; ``services.run_search`` shows the
first one (the page as a 400 with the form again, the API as a 400 error)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext, lazy_gettext
from wtforms import DateField, Field, Form, IntegerField, StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from search.query import FACET_FIELDS, MAX_QUERY_CHARS, SearchMode
from storyhub.forms import MAX_ID

# Lazy: made at import, shown in the language of each request.
FACET_LABELS = {
    "kind": lazy_gettext("Outcome"),
    "subtheme": lazy_gettext("Theme"),
    "teller": lazy_gettext("Who tells the story"),
    "setting": lazy_gettext("Service setting"),
    "language": lazy_gettext("Language"),
    "year": lazy_gettext("Year added"),
}
MAX_PAGE = 100
# Values one filter may hold at once (the page offers checkboxes; more would only be work).
MAX_FILTER_VALUES = 50
WHOLE_NUMBERS = lazy_gettext("The page and story should be whole numbers.")


class FacetField(Field):
    """A filter's chosen values (checkboxes sharing a name): blanks dropped, each value once."""

    data: list[str]

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = list(dict.fromkeys(v for v in valuelist if str(v).strip()))

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])


class WholeNumberField(IntegerField):
    """A whole number from the first non-blank value; words get WHOLE_NUMBERS, not WTForms'."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        given = [v for v in valuelist if str(v).strip()]
        try:
            super().process_formdata(given[:1])
        except ValueError:
            raise ValueError(str(WHOLE_NUMBERS)) from None


class IsoDateField(DateField):
    """A date written like 2026-03-31 (what a browser's date box sends)."""

    def __init__(self, label: Any, *, what_wrong: Any, **kwargs: Any) -> None:
        super().__init__(label, validators=[Optional()], **kwargs)
        # The whole sentence for a date that can't be read (one message per field, for Welsh).
        self.what_wrong = what_wrong

    def process_formdata(self, valuelist: list[Any]) -> None:
        given = [str(v).strip() for v in valuelist if str(v).strip()]
        if not given:
            return
        try:
            self.data = date.fromisoformat(given[0])
        except ValueError:
            raise ValueError(str(self.what_wrong)) from None


def _first_text(valuelist: list[Any]) -> str:
    return next((str(v) for v in valuelist if str(v).strip()), "")


class QueryField(StringField):
    """The words searched for: the first non-blank value, cut to MAX_QUERY_CHARS (not refused:
    a long paste still searches)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = _first_text(valuelist)[:MAX_QUERY_CHARS]


# How passages may be found, as the page offers them (``meaning`` alone is for the address and
# the API: the page shows it only when it was asked for).
MODE_LABELS = {
    SearchMode.HYBRID: lazy_gettext("Meaning and words"),
    SearchMode.WORDS: lazy_gettext("Exact words"),
    SearchMode.MEANING: lazy_gettext("Meaning only"),
}
UNKNOWN_MODE = lazy_gettext(
    "Please choose how to find passages: by meaning and words, or by exact words."
)


class ModeField(Field):
    """How to find passages (``search.query.SearchMode``): the first non-blank value; none given
    means meaning and words, the default."""

    data: SearchMode | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        given = _first_text(valuelist).strip().lower()
        if not given:
            self.data = SearchMode.HYBRID
            return
        try:
            self.data = SearchMode(given)
        except ValueError:
            self.data = None
            raise ValueError(str(UNKNOWN_MODE)) from None

    def process_data(self, value: Any) -> None:
        self.data = SearchMode(value) if value else SearchMode.HYBRID


class KnownValues:
    """A filter's values: not too many, each one that exists (the form's ``labels``; the year,
    which has no list, must look like one)."""

    def __init__(self, facet: str) -> None:
        self.facet = facet

    def __call__(self, form: SearchForm, field: FacetField) -> None:
        label = FACET_LABELS[self.facet]
        if len(field.data) > MAX_FILTER_VALUES:
            raise ValidationError(
                gettext(
                    "Please choose up to %(most)s of “%(filter)s” at a time.",
                    most=MAX_FILTER_VALUES,
                    filter=label,
                )
            )
        known = form.labels.get(self.facet)
        for value in field.data:
            if known is not None and value not in known:
                raise ValidationError(
                    gettext(
                        "There is no %(filter)s called %(value)s.",
                        filter=str(label).lower(),
                        value=repr(value),
                    )
                )
            if self.facet == "year" and not (value.isdigit() and len(value) == 4):
                raise ValidationError(gettext("A year should be four digits, like 2026."))


def _facet(name: str) -> FacetField:
    return FacetField(FACET_LABELS[name], validators=[KnownValues(name)])


class SearchForm(Form):
    """The search page's query string, checked against the filter values that exist. Fields are
    checked in this order, so the first message is about the filters, then the page, the dates."""

    q = QueryField(lazy_gettext("Words to find"))
    mode = ModeField(lazy_gettext("Find by"))
    kind = _facet("kind")
    subtheme = _facet("subtheme")
    language = _facet("language")
    teller = _facet("teller")
    setting = _facet("setting")
    year = _facet("year")
    page = WholeNumberField(
        lazy_gettext("Page"),
        default=1,
        validators=[
            Optional(),
            NumberRange(1, MAX_PAGE, lazy_gettext("Pages go from 1 to %(most)s.", most=MAX_PAGE)),
        ],
    )
    story = WholeNumberField(
        lazy_gettext("Story"),
        validators=[Optional(), NumberRange(1, MAX_ID, lazy_gettext("There is no such story."))],
    )
    # "from" is a Python keyword: the field is ``date_from``, its name in the address "from".
    date_from = IsoDateField(
        lazy_gettext("Added from"),
        what_wrong=lazy_gettext("The “from” date should look like 2026-03-31."),
        name="from",
    )
    date_to = IsoDateField(
        lazy_gettext("Added until"),
        what_wrong=lazy_gettext("The “to” date should look like 2026-03-31."),
        name="to",
    )

    def __init__(self, formdata: Any, labels: dict[str, dict[str, str]]) -> None:
        """``labels``: facet name -> the values that exist (the year has none)."""
        super().__init__(formdata)
        self.labels = labels

    def validate_date_to(self, field: IsoDateField) -> None:
        start = self.date_from.data
        if start and field.data and start > field.data:
            raise ValidationError(gettext("The “from” date is after the “to” date."))

    def filters(self) -> dict[str, tuple[str, ...]]:
        """The chosen values of each filter that has any."""
        return {name: tuple(self[name].data) for name in FACET_FIELDS if self[name].data}
