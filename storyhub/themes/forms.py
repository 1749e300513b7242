"""The theme forms: a curator's tag on a passage (and whether it tells of a good or a bad
experience), and an administrator's list of themes. Whether a theme may be added or renamed is
decided in ``services``; these say what is wrong with a value on its own."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from storyhub.forms import IdField, PageForm
from storyhub.themes.models import KIND_LABELS, VALENCE_LABELS, ThemeKind, Valence

# Labels are lazy: the forms are made at import, and shown in each request's language.
NOT_MARKED = SelectChoice("", lazy_gettext("Not marked"))


class ValenceForm(PageForm):
    """Good, bad or mixed experience, or not marked (empty)."""

    # validate_choice=False: AnyOf says what is wrong in plain words, not "Not a valid choice".
    valence = SelectField(
        lazy_gettext("Experience"),
        choices=[NOT_MARKED]
        + [SelectChoice(v.value, lazy_gettext(VALENCE_LABELS[v.value])) for v in Valence],
        validate_choice=False,
        validators=[
            Optional(),
            AnyOf(
                [v.value for v in Valence],
                message=lazy_gettext("Please choose good, bad or mixed experience, or not marked."),
            ),
        ],
    )

    def valence_is_forged(self) -> bool:
        """Whether the valence sent is none of the choices (the page never sends one)."""
        self.validate()
        return bool(self.valence.errors)

    def chosen_valence(self) -> Valence | None:
        """The valence chosen (None: not marked)."""
        return Valence(self.valence.data) if self.valence.data else None


class AddThemeForm(ValenceForm):
    """A theme for a whole passage, or for some of its words."""

    subtheme = IdField(
        lazy_gettext("Theme"), message=lazy_gettext("Please choose a theme from the list.")
    )
    # Whether the words are in the passage is checked against it (find_phrase).
    words = StringField(
        lazy_gettext("Only these words (optional)"),
        validators=[
            Length(max=500, message=lazy_gettext("Please type just the words to tag, or none."))
        ],
    )


class SubthemeForm(PageForm):
    """A theme's name and description (renaming keeps its tags)."""

    # add_subtheme and rename_subtheme refuse an empty or taken name, and keep 80 characters.
    label = StringField(
        lazy_gettext("Name"),
        validators=[
            Length(max=1000, message=lazy_gettext("Please give the theme a shorter name."))
        ],
    )
    description = TextAreaField(
        lazy_gettext("What it covers"),
        validators=[
            Length(max=4000, message=lazy_gettext("Please describe the theme in fewer words."))
        ],
    )


class NewSubthemeForm(SubthemeForm):
    """A new theme, under one of the three kinds of outcome."""

    kind = SelectField(
        lazy_gettext("Kind of outcome"),
        choices=[SelectChoice(k.value, lazy_gettext(KIND_LABELS[k])) for k in ThemeKind],
        validate_choice=False,
        validators=[
            AnyOf(
                [k.value for k in ThemeKind],
                message=lazy_gettext("Please choose one of the three kinds."),
            )
        ],
    )
