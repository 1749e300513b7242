"""The forms of the showcase pages (Flask-WTF; CSRF is checked for every POST).

They turn what was sent into typed values, with a plain message when that fails; the rules
(lengths, which stories may go in, the event's window) live in showcases.services.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString
from wtforms import DateField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from storyhub.forms import PageForm
from storyhub.playlists.forms import IdListField, id_field

CALENDAR = lazy_gettext("Please give dates as the calendar offers them.")


class _NotEchoed:
    """A date box shows back only a real date: anything else typed is refused, not repeated
    (a date box can't show it anyway). Left empty, it is simply not given."""

    process_errors: list[Any]

    def _value(self) -> str:
        if self.process_errors:
            return ""
        return super()._value()  # type: ignore[misc]


class CalendarDateField(_NotEchoed, DateField):
    pass


class CalendarTimeField(_NotEchoed, DateTimeLocalField):
    """A moment in UTC, as the page says; shown back as the browser's box writes it."""

    def __init__(self, label: str | LazyString, **binding: Any) -> None:
        super().__init__(
            label,
            format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
            tz=UTC,
            invalid_value_message=CALENDAR,
            validators=[Optional()],
            **binding,
        )


class ShowcaseForm(PageForm):
    """A new showcase, or a showcase's details."""

    title = StringField(lazy_gettext("Title"))
    introduction = TextAreaField(lazy_gettext("Introduction (shown first)"))
    event_date = CalendarDateField(
        lazy_gettext("Date of the event"), validators=[Optional()], invalid_value_message=CALENDAR
    )
    event_place = StringField(lazy_gettext("Place"))
    opens_at = CalendarTimeField(lazy_gettext("From"))
    closes_at = CalendarTimeField(lazy_gettext("Until"))

    def event(self) -> dict[str, Any]:
        """The event's date, place and code window, as the services take them."""
        return {
            "event_date": self.event_date.data,
            "event_place": self.event_place.data,
            "opens_at": self.opens_at.data,
            "closes_at": self.closes_at.data,
        }


class AddItemForm(PageForm):
    """A whole story (its button), or one of the builder's clips (the list)."""

    story = id_field(lazy_gettext("Story"), lazy_gettext("Please choose a story from the list."))
    clip = id_field(lazy_gettext("Clip"), lazy_gettext("Please choose one of your clips."))


class ItemChangeForm(PageForm):
    """What to listen for, saved; or the item moved or removed (its buttons)."""

    listen_for = TextAreaField(lazy_gettext("What to listen for"))
    action = SelectField(choices=["up", "down", "remove"], validate_choice=False)


class MembersForm(PageForm):
    user = IdListField()


class EventCodeForm(PageForm):
    code = StringField(lazy_gettext("Event code"))
