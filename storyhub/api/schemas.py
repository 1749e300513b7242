"""The API's one declaration of each resource: marshmallow schemas.

Each schema does three jobs at once (flask-smorest wires it up): it checks a request
(``@bp.arguments``), it turns an object into JSON (``@bp.response``), and it is the description
in ``/api/v1/openapi.json``. So a field can't be accepted, shown or documented differently.

Requests are read strictly, as JSON says them: a number sent as text, true sent as a number, or a
field we don't know is a mistake to refuse with a plain message, never to convert or ignore. An
optional field sent as null is read as left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, url_for
from flask_babel import gettext
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_dump,
    pre_load,
    validate,
)

from consent.describe import sharing
from consent.models import Audience, ConsentAction, ConsentStatus, Naming, RecordedFor
from search.query import SearchMode
from storyhub import MAX_ID
from storyhub.api.errors import in_language
from storyhub.dashboard.services import Behind, Dashboard, Row
from storyhub.extensions import N_
from storyhub.finder.services import MAX_FILTER_VALUES, MatchedBy, SearchPage
from storyhub.models import (
    JobState,
    Language,
    MediaRole,
    ServiceSetting,
    Story,
    StoryState,
    TellerKind,
    User,
    as_utc,
)
from storyhub.themes.models import ThemeKind, Valence
from storyhub.training import clip_files
from storyhub.training import exports as training_exports
from storyhub.training import services as training
from storyhub.training.models import Clip, ItemKind, Lesson, LessonExport

TITLE_CHARS, TEXT_CHARS = 200, 2000


def _viewer() -> User:
    """The token's owner: what a clip or a session shows depends on who asks."""
    user: User = g.api_user
    return user


def _values(kind: Any) -> list[str]:
    return [member.value for member in kind]


# --- fields: strict as JSON is, each message naming its field --------------------------------


NEEDED = {"required": N_("{name} is needed."), "null": N_("{name} is needed.")}


def _messages(own: dict[str, str], given: dict[str, str] | None) -> dict[str, Any]:
    """A field's messages: "{name}" in them becomes the field's name (see make_error)."""
    return {**NEEDED, **own, **(given or {})}


def _field_error(field: fields.Field, key: str, **values: Any) -> ValidationError:
    """A field's message in the request's language, its name and values put in after."""
    message = field.error_messages.get(key)
    if not isinstance(message, str):  # none (a mistake in the schema) or not words: as it was
        return fields.Field.make_error(field, key, name=field.name, **values)
    return ValidationError(in_language(message, name=field.name, **values))


# Validators whose messages are translated before their values are put in.
class Length(validate.Length):
    def _format_error(self, value: Any, message: str) -> str:
        return in_language(
            self.error or message, input=value, min=self.min, max=self.max, equal=self.equal
        )


class Range(validate.Range):
    def _format_error(self, value: Any, message: str) -> str:
        return in_language(self.error or message, input=value, min=self.min, max=self.max)


class OneOf(validate.OneOf):
    def _format_error(self, value: Any) -> str:
        return in_language(
            self.error, input=value, choices=self.choices_text, labels=self.labels_text
        )


class Whole(fields.Integer):
    """A whole number: not text, not a fraction, not true or false."""

    def __init__(self, *, error_messages: dict[str, str] | None = None, **kwargs: Any) -> None:
        own = {
            "invalid": N_("{name} must be a whole number."),
            "too_large": N_("{name} is too large."),
        }
        super().__init__(strict=True, error_messages=_messages(own, error_messages), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):  # JSON's true is not a number, though Python's True is 1
            raise self.make_error("invalid")
        return super()._validated(value)

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        return _field_error(self, key, **kwargs)


class Text(fields.String):
    """Text, and only text (a number or a list is refused, not turned into text)."""

    def __init__(self, *, error_messages: dict[str, str] | None = None, **kwargs: Any) -> None:
        own = {"invalid": N_("{name} must be text.")}
        super().__init__(error_messages=_messages(own, error_messages), **kwargs)

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        return _field_error(self, key, **kwargs)


class Flag(fields.Boolean):
    """true or false, as JSON sends them (not "yes", not 1)."""

    def __init__(self, *, error_messages: dict[str, str] | None = None, **kwargs: Any) -> None:
        own = {"invalid": N_("{name} must be true or false.")}
        super().__init__(error_messages=_messages(own, error_messages), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        return _field_error(self, key, **kwargs)


class Moment(fields.DateTime):
    """A stored time as RFC 3339: times are kept in UTC, but the databases hand them back
    without their zone."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else as_utc(value).isoformat()


class Blankable(fields.Field):
    """A filter of the site's own forms, which send a field left empty as an empty value: empty
    means "no filter". Documentation only: the finder and the dashboard check their filters
    (the same rules and words as their pages)."""

    def __init__(self, inner: fields.Field, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = inner


BLANK = {
    "type": "string",
    "pattern": "^\\s*$",
    "description": "Empty: no filter",  # untranslated: developer docs
}


def blankable2properties(self: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """apispec: a Blankable filter is its inner field's schema, or an empty value."""
    if not isinstance(field, Blankable):
        return {}
    return {"anyOf": [self.field2property(field.inner), BLANK]}


def title_field(**kwargs: Any) -> Text:
    return Text(
        validate=Length(max=TITLE_CHARS, error=N_("The title can be at most {max} characters.")),
        **kwargs,
    )


def text_field(**kwargs: Any) -> Text:
    return Text(
        validate=Length(max=TEXT_CHARS, error=N_("That can be at most {max} characters.")), **kwargs
    )


def optional(field: fields.Field) -> fields.Field:
    """An optional field: null reads as left out (Body drops it)."""
    field.allow_none = True
    return field


# --- request bodies ----------------------------------------------------------------------------


class Body(Schema):
    """A JSON request body: fields we don't know are refused, not ignored (a typo must not pass
    silently), and an optional field sent as null is as if left out."""

    # Said to a client who sends seconds where word numbers are wanted (clips only).
    unknown_hint = ""

    class Meta:
        unknown = RAISE  # the document says so: additionalProperties false

    @pre_load
    def _known_fields_only(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if self.opts.unknown != RAISE:
            return data
        allowed = sorted(field.data_key or name for name, field in self.load_fields.items())
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            message = gettext(
                "Unknown field(s): %(unknown)s. Allowed: %(allowed)s.",
                unknown=", ".join(unknown),
                allowed=", ".join(allowed),
            )
            if self.unknown_hint and {"start", "end"} & set(unknown):
                message += " " + gettext(self.unknown_hint)
            raise ValidationError(message)
        return data

    @post_load
    def _nulls_as_left_out(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {name: value for name, value in data.items() if value is not None}


NOT_IN_STORY = N_("Those words are not in this story. Please choose again.")
WORD_HINT = N_(
    "A clip starts and ends on word numbers (start_word, end_word), "
    "as listed by GET /stories/{story_id}/words."
)


class ClipUpdate(Body):
    unknown_hint = WORD_HINT
    start_word = optional(Whole(validate=Range(min=0, error=NOT_IN_STORY)))
    end_word = optional(Whole(validate=Range(min=0, error=NOT_IN_STORY)))
    title = optional(title_field())
    note = optional(text_field())


class ClipCreate(ClipUpdate):
    story_id = Whole(required=True)
    start_word = Whole(required=True, validate=Range(min=0, error=NOT_IN_STORY))
    end_word = Whole(required=True, validate=Range(min=0, error=NOT_IN_STORY))
    title = title_field(required=True)


class SessionDetails(Body):
    title = optional(title_field())
    summary = optional(text_field())


class SessionItemCreate(Body):
    kind = Text(
        required=True,
        validate=OneOf(
            _values(ItemKind), error=N_("Please choose a heading, a clip or a discussion prompt.")
        ),
    )
    text = optional(
        text_field(
            metadata={
                "description": "Needed for a heading or a prompt"  # untranslated: developer docs
            }  # untranslated: developer docs
        )
    )
    clip_id = optional(
        Whole(metadata={"description": "Needed for a clip"})  # untranslated: developer docs
    )
    notes = optional(text_field())


class SessionItemUpdate(Body):
    text = optional(text_field())
    notes = optional(text_field())


ORDER_MESSAGE = N_("items must be a list of the session's item ids.")


class SessionOrder(Body):
    items = fields.List(
        Whole(error_messages={"invalid": ORDER_MESSAGE}),
        required=True,
        error_messages={"invalid": ORDER_MESSAGE, "required": ORDER_MESSAGE, "null": ORDER_MESSAGE},
    )


class ExportRequest(Body):
    burn_captions = optional(
        Flag(
            metadata={
                "description": "Put the captions into the picture"  # untranslated: developer docs
            }  # untranslated: developer docs
        )
    )


class ThirdParty(Schema):
    class Meta:
        unknown = EXCLUDE  # only what the wizard records, so nothing else is stored with it

    name = Text(required=True)
    agreed = Flag(load_default=False)


def _choice(kind: Any) -> Text:
    return Text(validate=OneOf(_values(kind), error=N_("{input} is not one of: {choices}.")))


class ConsentChoices(Body):
    """Consent step 2 or a change. Other fields are ignored, as they always were."""

    class Meta:
        unknown = EXCLUDE

    watched = optional(Flag())
    audiences = optional(fields.List(_choice(Audience)))
    clips_allowed = optional(Flag())
    naming = optional(_choice(Naming))
    review_months = optional(
        Whole(validate=Range(min=1, max=36, error=N_("review_months goes from {min} to {max}.")))
    )
    recorded_for = optional(_choice(RecordedFor))
    proxy_name = optional(Text())
    proxy_relationship = optional(Text())
    best_interests_note = optional(Text())
    adult_on = optional(fields.Date(error_messages={"invalid": N_("adult_on must be a date.")}))
    third_parties = optional(fields.List(fields.Nested(ThirdParty)))
    notes = optional(Text())


class ConsentRenewal(Body):
    class Meta:
        unknown = EXCLUDE

    months = optional(
        Whole(validate=Range(min=1, max=36, error=N_("months goes from {min} to {max}.")))
    )


class ConsentWithdrawal(Body):
    class Meta:
        unknown = EXCLUDE

    reason = optional(Text())


# --- query strings ---------------------------------------------------------------------------


class StoryPaging(Schema):
    # Refused, not quietly changed: a client must not think it has them all.
    limit = fields.Integer(
        load_default=50, validate=Range(1, 200, error=N_("limit goes from {min} to {max}."))
    )
    offset = fields.Integer(
        load_default=0, validate=Range(0, MAX_ID, error=N_("offset goes from {min} to {max}."))
    )


class BehindPaging(Schema):
    error_code = "bad_filter"  # as the dashboard's own filters say it
    page = fields.Integer(
        load_default=1,
        validate=Range(1, 10_000, error=N_("page must be a whole number from 1 to 10000.")),
    )


def _filter_list(values: list[str] | None = None) -> fields.List:
    inner = Text(validate=OneOf(values)) if values else Text()
    return fields.List(Blankable(inner), validate=Length(max=MAX_FILTER_VALUES))


def _filter(inner: fields.Field, **kwargs: Any) -> Blankable:
    return Blankable(inner, **kwargs)


class SimilarFilters(Schema):
    """The filters "more like this" takes, and search too (documentation: the finder checks
    them, as for its pages)."""

    kind = _filter_list(_values(ThemeKind))
    subtheme = _filter_list()
    language = _filter_list(_values(Language))
    teller = _filter_list(_values(TellerKind))
    setting = _filter_list(_values(ServiceSetting))
    year = _filter_list()
    from_ = _filter(fields.Date(), data_key="from")
    to = _filter(fields.Date())
    page = _filter(fields.Integer(validate=Range(1, 100)))


class SearchFilters(SimilarFilters):
    """The search page's words, mode and filters (documentation: the finder checks them)."""

    q = Text(
        metadata={
            "description": "Only its first 500 characters count"  # untranslated: developer docs
        }
    )
    mode = _filter(
        Text(validate=OneOf(_values(SearchMode))),
        metadata={
            "description": "hybrid (the default): by meaning and words, fused into one ranking; "
            "words: every word must match (by stem); meaning: by meaning alone. Quoted phrases "
            "and prefixes must match in every mode."
        },
    )
    story = _filter(fields.Integer())


class OutcomeFilters(Schema):
    """The dashboard's filters (documentation: the dashboard checks them, as for its page)."""

    kind = _filter(Text(validate=OneOf(_values(ThemeKind))))
    subtheme = _filter(Text())
    teller = _filter(Text(validate=OneOf(_values(TellerKind))))
    setting = _filter(Text(validate=OneOf(_values(ServiceSetting))))
    language = _filter(Text(validate=OneOf(_values(Language))))
    valence = _filter(Text(validate=OneOf([*_values(Valence), "unmarked"])))
    year = _filter(Text(validate=fields.validate.Regexp("^[0-9]{4}$")))
    from_ = _filter(Text(validate=fields.validate.Regexp("^[0-9]{4}-[0-9]{2}$")), data_key="from")
    to = _filter(Text(validate=fields.validate.Regexp("^[0-9]{4}-[0-9]{2}$")))
    by = _filter(Text(validate=OneOf(["quarter", "year"])))


# --- answers -----------------------------------------------------------------------------------
# Dumped from the app's own objects; where a value is worked out (consent's say, a link), a
# pre_dump hook works it out once.


class Answer(Schema):
    """What the API sends: the document lists its fields but does not forbid others, so a field
    added later does not break a client."""

    class Meta:
        unknown = EXCLUDE


class ErrorDetail(Answer):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        metadata={
            "description": "Each field's problems"  # untranslated: developer docs
        },
    )


class Error(Answer):
    """The one shape of every API error."""

    error = fields.Nested(ErrorDetail, required=True)


class Job(Answer):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    state = fields.Enum(JobState, by_value=fields.String, required=True)
    progress = fields.Function(
        lambda job: round(job.progress, 3),
        required=True,
        metadata={"type": "number", "minimum": 0, "maximum": 1},
    )
    message = fields.String(required=True)
    error = fields.String(attribute="error_message", allow_none=True)
    finished = fields.Boolean(required=True)
    story_id = fields.Integer(allow_none=True)


def _story_links(story: Story) -> dict[str, str]:
    return {
        "self": url_for("api.get_story", story_id=story.id, _external=True),
        "page": url_for("stories.show", story_id=story.id, _external=True),
        # The web copy: names a curator removed are silent in it (the original keeps them).
        "media": url_for(
            "stories.media", story_id=story.id, role=MediaRole.RENDITION.value, _external=True
        ),
    }


Links = fields.Dict(keys=fields.String(), values=fields.String())


class StoryOut(Answer):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String()
    language = fields.Enum(Language, by_value=fields.String, required=True)
    teller_kind = fields.Enum(TellerKind, by_value=fields.String, required=True)
    state = fields.Enum(StoryState, by_value=fields.String, required=True)
    kind = fields.String(validate=OneOf(["video", "audio"]), allow_none=True)
    duration = fields.Float(allow_none=True)
    created_at = Moment()
    failure_message = fields.String(allow_none=True)
    sharing = fields.Function(lambda story: sharing(story).text, metadata={"type": "string"})
    job = fields.Nested(Job, attribute="latest_job", allow_none=True)
    links = fields.Function(_story_links, required=True, metadata={"type": "object"})


class StoryPage(Answer):
    stories = fields.List(fields.Nested(StoryOut), required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class StoryUpload(Answer):
    """multipart/form-data (documentation: the upload form checks it, as on the upload page)."""

    media = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    title = Text(required=True, validate=Length(max=TITLE_CHARS))
    description = Text(validate=Length(max=TEXT_CHARS))
    language = Text(validate=OneOf(_values(Language)))
    teller_kind = Text(validate=OneOf(_values(TellerKind)))
    storyteller = Text(
        metadata={
            "description": "Staff only: the storyteller's user id, or 'self'"  # untranslated: docs
        }
    )
    take_part = Text(
        required=True,
        validate=OneOf(["true", "y", "yes", "on", "1"]),
        metadata={
            "description": "Consent step 1: the teller agrees to take part and have the story "
            "stored and prepared (nobody else sees it yet)"
        },
    )


class Consent(Answer):
    version = fields.Integer(required=True)
    action = fields.Enum(ConsentAction, by_value=fields.String, required=True)
    status = fields.Enum(ConsentStatus, by_value=fields.String, required=True)
    created_at = Moment()
    recorded_by = fields.Integer(attribute="recorded_by_id", allow_none=True)
    released = fields.Boolean(required=True)
    audiences = fields.Function(
        lambda version: sorted(a.value for a in version.audiences),
        required=True,
        metadata={"type": "array", "items": {"type": "string", "enum": _values(Audience)}},
    )
    clips_allowed = fields.Boolean()
    naming = fields.Enum(Naming, by_value=fields.String)
    review_date = fields.Date(allow_none=True)
    recorded_for = fields.Enum(RecordedFor, by_value=fields.String)
    third_parties = fields.List(fields.Dict())


class ConsentState(Answer):
    """A story's consent now (``history``: every version, for GET only)."""

    current = fields.Nested(Consent, required=True, allow_none=True)
    sharing = fields.String(required=True)
    history = fields.List(fields.Nested(Consent))

    @pre_dump
    def _of_story(self, story: Story, **kwargs: Any) -> dict[str, Any]:
        state: dict[str, Any] = {"current": story.consent, "sharing": sharing(story).text}
        if self.with_history:
            state["history"] = story.consent_history
        return state

    with_history = False


class ConsentWithHistory(ConsentState):
    with_history = True


# --- search and the dashboard ----------------------------------------------------------------


class ThemeOut(Answer):
    key = fields.String()
    kind = fields.Enum(ThemeKind, by_value=fields.String)
    label = fields.String()


class SearchPassage(Answer):
    id = fields.Integer(attribute="passage.id", required=True)
    start = fields.Float(attribute="passage.start", required=True)
    end = fields.Float(attribute="passage.end", required=True)
    snippet = fields.Function(
        lambda hit: [{"text": t, "match": m} for t, m in hit.snippet.pieces],
        required=True,
        metadata={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "match": {"type": "boolean"}},
            },
        },
    )
    snippet_cut_before = fields.Boolean(attribute="snippet.cut_before")
    snippet_cut_after = fields.Boolean(attribute="snippet.cut_after")
    themes = fields.List(fields.Nested(ThemeOut))
    matched_by = fields.Enum(
        MatchedBy,
        by_value=fields.String,
        required=True,
        metadata={
            "description": "Why it is here. words: it holds the query's words (the snippet's "
            "match pieces); meaning: it is near the query in meaning (the match piece is its "
            "sentence closest in meaning); words_and_meaning: both (words marked); filters: no "
            "words were asked for."
        },
    )
    similarity = fields.Float(
        allow_none=True,
        required=True,
        metadata={
            "description": "Cosine similarity of the passage to the query (or to the passage "
            "asked about), from -1 to 1, when found by meaning; otherwise null"
        },
    )


class SearchStory(Answer):
    id = fields.Integer(attribute="story.id", required=True)
    title = fields.String(attribute="story.title", required=True)
    teller_kind = fields.Enum(TellerKind, by_value=fields.String, attribute="story.teller_kind")
    setting = fields.Enum(ServiceSetting, by_value=fields.String, attribute="story.setting")
    language = fields.Enum(Language, by_value=fields.String, attribute="story.language")
    passages = fields.List(fields.Nested(SearchPassage), required=True)


class FacetOption(Answer):
    value = fields.String()
    label = fields.String()
    count = fields.Integer()
    selected = fields.Boolean()


class SearchResults(Answer):
    query = fields.String(required=True)
    page = fields.Integer(attribute="request.page", required=True)
    pages = fields.Integer(required=True)
    total_passages = fields.Integer(required=True)
    total_stories = fields.Integer(required=True)
    stories = fields.List(fields.Nested(SearchStory), required=True)
    facets = fields.Dict(
        keys=fields.String(), values=fields.List(fields.Nested(FacetOption)), required=True
    )

    @pre_dump
    def _facets_by_name(self, page: SearchPage, **kwargs: Any) -> dict[str, Any]:
        return {
            **{
                name: getattr(page, name)
                for name in (
                    "query",
                    "request",
                    "pages",
                    "total_passages",
                    "total_stories",
                    "stories",
                )
            },
            "facets": {facet.name: facet.options for facet in page.facets},
        }


class CountOut(Answer):
    """A count: null numbers when hidden, and the words shown instead."""

    passages = fields.Integer(required=True, allow_none=True)
    stories = fields.Integer(required=True, allow_none=True)
    text = fields.String(required=True)


class CellOut(CountOut):
    filters = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={
            "description": "The drill-down's query"  # untranslated: developer docs
        },
    )

    @pre_dump
    def _count_and_link(self, cell: Any, **kwargs: Any) -> dict[str, Any]:
        count = cell.count
        return {
            "passages": count.passages,
            "stories": count.stories,
            "text": count.text,
            "filters": cell.link,
        }


class RowOut(Answer):
    label = fields.String(required=True)
    level = fields.Integer(required=True)
    cells = fields.List(fields.Nested(CellOut), required=True)
    total = fields.Nested(CellOut, required=True)

    @pre_dump
    def _cells_then_total(self, row: Row, **kwargs: Any) -> dict[str, Any]:
        return {"label": row.label, "level": row.level, "cells": row.cells[:-1], "total": row.total}


class TableOut(Answer):
    key = fields.String(required=True)
    title = fields.String(required=True)
    columns = fields.Function(
        lambda table: [c.label for c in table.columns],
        required=True,
        metadata={"type": "array", "items": {"type": "string"}},
    )
    rows = fields.List(fields.Nested(RowOut), required=True)
    totals = fields.Nested(RowOut, required=True)


class Outcomes(Answer):
    """Every table with its (suppressed) counts and each cell's drill-down filters."""

    threshold = fields.Integer(required=True)
    filters = fields.Function(
        lambda board: board["slice"].args(),
        required=True,
        metadata={"type": "object", "additionalProperties": {"type": "string"}},
    )
    total = fields.Nested(CountOut, required=True)
    tables = fields.List(fields.Nested(TableOut), required=True)

    @pre_dump
    def _tables_in_order(self, board: Dashboard, **kwargs: Any) -> dict[str, Any]:
        return {
            "threshold": board.threshold,
            "slice": board.slice,
            "total": board.total,
            "tables": list(board.tables.values()),
        }


def _behind_span(item: Behind, end: bool) -> float | None:
    if item.tag.is_span:
        return item.tag.span_end if end else item.tag.span_start
    return item.passage.end if end else item.passage.start


class BehindPassage(Answer):
    story_id = fields.Integer(attribute="story.id")
    story_title = fields.String(attribute="story.title")
    passage_id = fields.Integer(attribute="passage.id")
    start = fields.Function(lambda item: _behind_span(item, end=False), metadata={"type": "number"})
    end = fields.Function(lambda item: _behind_span(item, end=True), metadata={"type": "number"})
    text = fields.String(attribute="passage.text")
    subtheme = fields.String(attribute="tag.subtheme.key")
    kind = fields.Enum(ThemeKind, by_value=fields.String, attribute="tag.subtheme.kind")
    valence = fields.Enum(Valence, by_value=fields.String, attribute="tag.valence", allow_none=True)


class OutcomePassages(Answer):
    page = fields.Integer(required=True)
    more = fields.Boolean(required=True)
    limited = fields.Boolean(required=True)
    passages = fields.List(fields.Nested(BehindPassage), attribute="items", required=True)


# --- clips and training sessions ---------------------------------------------------------------


class ClipOut(Answer):
    """A clip and whether the viewer may be shown it now: its words only when they may."""

    id = fields.Integer(required=True)
    story_id = fields.Integer(required=True)
    story_title = fields.String()
    start = fields.Float(
        required=True,
        metadata={
            "description": "Seconds into the story"  # untranslated: developer docs
        },
    )
    end = fields.Float(required=True)
    duration = fields.Float()
    start_word = fields.Integer(
        allow_none=True,
        metadata={"description": "Its first word's number (null when it can't be used)"},
    )
    end_word = fields.Integer(allow_none=True)
    title = fields.String(required=True)
    note = fields.String(
        allow_none=True,
        metadata={
            "description": "Its maker's only"  # untranslated: developer docs
        },
    )
    mine = fields.Boolean()
    created_at = Moment()
    updated_at = Moment()
    usable = fields.Boolean(
        required=True,
        metadata={
            "description": (
                "Whether its story's consent lets you be shown it now"  # untranslated: docs
            )
        },
    )
    reason = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Why it can't be used"  # untranslated: developer docs
        },
    )
    redacted = fields.Boolean(metadata={"description": "A name or place was removed"})
    text = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Its words, when usable"  # untranslated: developer docs
        },
    )
    links = Links

    @pre_dump
    def _as_viewer_sees_it(self, clip: Clip, **kwargs: Any) -> dict[str, Any]:
        viewer = _viewer()
        standing = training.clip_standing(clip, viewer)
        first = last = None
        if standing.usable:
            words = training.story_words(clip.story)
            first = training.word_index_at(words, clip.start, last=False)
            last = training.word_index_at(words, clip.end, last=True)
        mine = clip.owner_id == viewer.id
        return {
            **{
                name: getattr(clip, name)
                for name in (
                    "id",
                    "story_id",
                    "start",
                    "end",
                    "duration",
                    "title",
                    "created_at",
                    "updated_at",
                )
            },
            "story_title": clip.story.title,
            "start_word": first,
            "end_word": last,
            # The note is its maker's own, like a session's trainer's notes.
            "note": clip.note if mine else None,
            "mine": mine,
            "usable": standing.usable,
            "reason": standing.reason,
            "redacted": standing.redacted,
            "text": standing.text if standing.usable else None,
            "links": {"self": url_for("api.get_clip", clip_id=clip.id, _external=True)},
        }


class ClipList(Answer):
    clips = fields.List(fields.Nested(ClipOut), required=True)


class ClipFile(Answer):
    """The clip's file: its link once it is cut."""

    ready = fields.Boolean(required=True)
    url = fields.Url(required=True, allow_none=True)

    @pre_dump
    def _link(self, clip: Clip, **kwargs: Any) -> dict[str, Any]:
        ready = clip_files.file_ready(clip)
        url = url_for("api.download_clip_file", clip_id=clip.id, _external=True) if ready else None
        return {"ready": ready, "url": url}


class ClipFileCutting(Answer):
    """The clip's file while it is cut, and the job cutting it."""

    ready = fields.Boolean(required=True)
    url = fields.Url(required=True, allow_none=True)
    job = fields.Nested(Job, required=True)


class Word(Answer):
    index = fields.Integer(required=True)
    start = fields.Float(required=True)
    end = fields.Float(required=True)
    text = fields.String(required=True)
    redacted = fields.Boolean(required=True)
    passage_id = fields.Integer()


class StoryWords(Answer):
    """The story's numbered words, for choosing where a clip starts and ends."""

    story_id = fields.Integer(required=True)
    story_title = fields.String()
    state = fields.Enum(StoryState, by_value=fields.String)
    max_clip_seconds = fields.Float()
    words = fields.List(fields.Nested(Word), required=True)

    @pre_dump
    def _numbered(self, story: Story, **kwargs: Any) -> dict[str, Any]:
        return {
            "story_id": story.id,
            "story_title": story.title,
            "state": story.state,
            "max_clip_seconds": training.MAX_CLIP_SECONDS,
            "words": training.story_words(story),
        }


class LessonItemOut(Answer):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.Enum(ItemKind, by_value=fields.String, required=True)
    text = fields.String(
        required=True,
        metadata={
            "description": "The heading or the prompt"  # untranslated: developer docs
        },
    )
    # Trainer's notes: for everyone who runs the session (the room never sees them).
    notes = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The trainer's notes"  # untranslated: developer docs
        },
    )
    clip = fields.Nested(ClipOut, required=True, allow_none=True)


def _session_link(session: Lesson) -> dict[str, str]:
    return {"self": url_for("api.get_session", session_id=session.id, _external=True)}


class SessionSummary(Answer):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    owner = fields.String(
        attribute="owner.display_name",
        required=True,
        metadata={
            "description": "Its owner's name"  # untranslated: developer docs
        },
    )
    editable = fields.Function(
        lambda session: training.can_edit(_viewer(), session),
        metadata={
            "type": "boolean",
            "description": "Only its owner changes it",  # untranslated: developer docs
        },
    )
    item_count = fields.Function(
        lambda session: len(session.items), required=True, metadata={"type": "integer"}
    )
    created_at = Moment()
    updated_at = Moment(required=True)
    links = fields.Function(_session_link, metadata={"type": "object"})


class SessionOut(SessionSummary):
    items = fields.List(fields.Nested(LessonItemOut), required=True)


class SessionLists(Answer):
    owned = fields.List(fields.Nested(SessionSummary), required=True)
    shared = fields.List(fields.Nested(SessionSummary), required=True)


class LeftOut(Answer):
    title = fields.String()
    reason = fields.String()


class ExportOut(Answer):
    """An export: links to its files only while every story in it may still be used."""

    id = fields.Integer(required=True)
    session_id = fields.Integer()
    created_at = Moment(required=True)
    finished_at = Moment(allow_none=True)
    burn_captions = fields.Boolean(required=True)
    state = fields.String(
        required=True, validate=OneOf(["queued", "running", "done", "failed", "revoked"])
    )
    job_id = fields.Integer(allow_none=True)
    left_out = fields.List(fields.Nested(LeftOut))
    duration = fields.Float(allow_none=True)
    files = fields.Dict(
        keys=fields.String(),
        values=fields.Url(),
        required=True,
        allow_none=True,
        metadata={
            "description": (
                "File kind to download address, only while every story "  # untranslated: docs
                "in it may still be used"
            )
        },
    )
    refusal = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Why the files can't be downloaded now"  # untranslated: developer docs
        },
    )

    @pre_dump
    def _state_and_files(self, export: LessonExport, **kwargs: Any) -> dict[str, Any]:
        job = export.job
        if export.revoked_at is not None:
            state = "revoked"
        elif job is not None:
            state = job.state.value
        else:
            state = "done" if export.files else "failed"
        refusal = training_exports.export_refusal(_viewer(), export)
        if state == "failed" and job is not None and job.error_message:
            refusal = job.error_message
        files = None
        if refusal is None:
            files = {
                kind: url_for(
                    "api.download_export",
                    session_id=export.session_id,
                    export_id=export.id,
                    kind=kind,
                    _external=True,
                )
                for kind in training_exports.EXPORT_FILES
                if kind in export.files
            }
        return {
            **{
                name: getattr(export, name)
                for name in (
                    "id",
                    "session_id",
                    "created_at",
                    "finished_at",
                    "burn_captions",
                    "job_id",
                    "duration",
                )
            },
            "state": state,
            "left_out": list(export.left_out or []),
            "files": files,
            "refusal": refusal,
        }


class ExportList(Answer):
    exports = fields.List(fields.Nested(ExportOut), required=True)


class ExportQueued(Answer):
    export = fields.Nested(ExportOut, required=True)
    job = fields.Nested(Job, required=True)
