"""The codebook import form: a REFI-QDA file, and the kind its codes go under when the file does
not say. Whether the file is a sound codebook is decided in ``refi``."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField
from wtforms.validators import AnyOf

from storyhub.forms import PageForm
from storyhub.themes.models import KIND_LABELS, ThemeKind


class ImportCodebookForm(PageForm):
    """A ``.qdc`` codebook or ``.qdpx`` project, and the kind for codes under no kind's name."""

    codebook = FileField(
        lazy_gettext("Codebook file"),
        validators=[FileRequired(lazy_gettext("Please choose a codebook file to import."))],
    )
    # validate_choice=False: AnyOf says what is wrong in plain words, not "Not a valid choice".
    kind = SelectField(
        lazy_gettext("Kind for the other themes"),
        choices=[SelectChoice(k.value, lazy_gettext(KIND_LABELS[k])) for k in ThemeKind],
        validate_choice=False,
        validators=[
            AnyOf(
                [k.value for k in ThemeKind],
                message=lazy_gettext("Please choose one of the three kinds."),
            )
        ],
    )
