"""The forms of the clip and session pages (Flask-WTF; CSRF is checked for every POST).

They turn what was sent into typed values, with a plain message when that fails; the rules
(lengths, what a trainer may choose) live in training.services, which the API calls too.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from markupsafe import Markup
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField, widgets

from storyhub.forms import PageForm
from storyhub.playlists.core import MOVES
from storyhub.playlists.forms import IdListField, id_field
from storyhub.training.models import ItemKind

CHOOSE_WORDS = lazy_gettext("Please choose the words the clip starts and ends on.")


class ClipForm(PageForm):
    start_word = IntegerField(lazy_gettext("Starts with"), invalid_value_message=CHOOSE_WORDS)
    end_word = IntegerField(lazy_gettext("Ends with"), invalid_value_message=CHOOSE_WORDS)
    title = StringField(lazy_gettext("Title"))
    note = TextAreaField(lazy_gettext("Note (for you)"))
    # Optional: put the clip straight into one of the trainer's sessions.
    session = id_field(
        lazy_gettext("Add it to a session"), lazy_gettext("Please choose one of your sessions.")
    )


class SessionForm(PageForm):
    """A new session, or a session's details."""

    title = StringField(lazy_gettext("Title"))
    summary = TextAreaField(lazy_gettext("What it is for"))


class ItemForm(PageForm):
    """A heading, prompt or clip added to a session; or an item's words and notes changed."""

    kind = SelectField(
        choices=[kind.value for kind in ItemKind],
        validate_choice=False,  # the service refuses any other kind in its own words
    )
    text = TextAreaField(lazy_gettext("Words"))
    clip = id_field(lazy_gettext("Clip"), lazy_gettext("Please choose one of your clips."))
    notes = TextAreaField(lazy_gettext("Notes for you"))

    def text_as_line(self, **attributes: Any) -> Markup:
        """The words as a one-line box (a heading is a line; a prompt, a paragraph)."""
        # The widget escapes the value and returns markup, as a field's own rendering does.
        rendered: Markup = widgets.TextInput()(self.text, **attributes)
        return rendered


class MoveForm(PageForm):
    direction = SelectField(choices=list(MOVES), validate_choice=False)


class OrderForm(PageForm):
    """Every item's id, in the new order (sent by the page's script after dragging)."""

    item = IdListField()


class ShareForm(PageForm):
    user = IdListField()


class ExportForm(PageForm):
    burn = BooleanField(
        lazy_gettext("Put the captions into the picture"),
        # Only a ticked box (or "yes") burns captions in; a forged "no" must not.
        false_values=(False, "false", "", "no", "n", "0", "off"),
    )
