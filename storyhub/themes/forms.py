"""The theme forms: a curator's tag on a passage (and whether it tells of a good or a bad
experience), and an administrator's list of themes. Whether a theme may be added or renamed is
decided in ``services``; these say what is wrong with a value on its own."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from storyhub.forms import IdField, PageForm
from storyhub.themes.models import ThemeKind, Valence

NOT_MARKED = SelectChoice("", "Not marked")


class ValenceForm(PageForm):
    """Good, bad or mixed experience, or not marked (empty)."""

    # validate_choice=False: AnyOf says what is wrong in plain words, not "Not a valid choice".
    valence = SelectField(
        "Experience",
        choices=[NOT_MARKED] + [SelectChoice(v.value, v.label) for v in Valence],
        validate_choice=False,
        validators=[
            Optional(),
            AnyOf(
                [v.value for v in Valence],
                message="Please choose good, bad or mixed experience, or not marked.",
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

    subtheme = IdField("Theme", message="Please choose a theme from the list.")
    # Whether the words are in the passage is checked against it (find_phrase).
    words = StringField(
        "Only these words (optional)",
        validators=[Length(max=500, message="Please type just the words to tag, or none.")],
    )


class SubthemeForm(PageForm):
    """A theme's name and description (renaming keeps its tags)."""

    # add_subtheme and rename_subtheme refuse an empty or taken name, and keep 80 characters.
    label = StringField(
        "Name", validators=[Length(max=1000, message="Please give the theme a shorter name.")]
    )
    description = TextAreaField(
        "What it covers",
        validators=[Length(max=4000, message="Please describe the theme in fewer words.")],
    )


class NewSubthemeForm(SubthemeForm):
    """A new theme, under one of the three kinds of outcome."""

    kind = SelectField(
        "Kind of outcome",
        choices=[SelectChoice(k.value, k.label) for k in ThemeKind],
        validate_choice=False,
        validators=[
            AnyOf([k.value for k in ThemeKind], message="Please choose one of the three kinds.")
        ],
    )
