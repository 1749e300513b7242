"""The blind coding forms. The coding and settling forms have a field per passage (or per
difference), so each page's form class is made for its round: WTForms then checks every value
against what the page offered, and a forged one gets the page's own words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import lazy_gettext
from wtforms import RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import StopValidation

from storyhub.forms import IdField, PageForm

# Lazy: the fields are made at import, their messages are read in the language of each page.
CHOOSE_COLLEAGUE = lazy_gettext("Please choose a colleague from the list.")
CHOOSE_THEMES = lazy_gettext("Please choose themes from the list on the page.")
ANSWER_EVERY = lazy_gettext(
    "Please choose “Keep it” or “Leave it out” for every theme you differ on."
)
KEEP, LEAVE = "keep", "leave"


class StartForm(PageForm):
    colleague = IdField(message=CHOOSE_COLLEAGUE)


class ThemesField(SelectMultipleField):
    """The subthemes ticked for one passage (by id); none ticked sends nothing, which is none."""

    def __init__(self, subtheme_ids: Iterable[int], **kwargs: Any) -> None:
        super().__init__(
            choices=[SelectChoice(str(i), str(i)) for i in subtheme_ids],
            coerce=int,
            invalid_value_message=CHOOSE_THEMES,
            invalid_choice_message=CHOOSE_THEMES,
            **kwargs,
        )


class CodingForm(PageForm):
    """One coder's choices: ``theme-<passage id>`` fields, and which button was pressed."""

    # The button pressed: "finish", or (anything else) save for later.
    action = SelectField(
        choices=[SelectChoice("save"), SelectChoice("finish")], validate_choice=False
    )

    @property
    def finishing(self) -> bool:
        return self.action.data == "finish"

    def chosen(self) -> dict[int, set[int]]:
        """passage id -> the subtheme ids ticked for it (every passage on the page)."""
        return {
            int(field.name.removeprefix("theme-")): set(field.data or ())
            for field in self
            if field.name.startswith("theme-")
        }


def coding_form(passage_ids: Sequence[int], subtheme_ids: Sequence[int]) -> CodingForm:
    """The coding form of one round: a field for each of its passages."""
    fields = {f"theme-{p}": ThemesField(subtheme_ids) for p in passage_ids}
    form_class = type("RoundCodingForm", (CodingForm,), fields)
    form: CodingForm = form_class()
    return form


class AnswerField(RadioField):
    """Keep or leave out one theme only one coder chose; nothing, or anything else, is refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[
                SelectChoice(KEEP, lazy_gettext("Keep it")),
                SelectChoice(LEAVE, lazy_gettext("Leave it out")),
            ],
            **kwargs,
        )

    def pre_validate(self, form: Any) -> None:
        if self.data not in (KEEP, LEAVE):
            raise StopValidation(str(ANSWER_EVERY))


class SettleForm(PageForm):
    """The settled version: a ``keep-<passage id>-<subtheme id>`` answer for each difference."""

    def answers(self) -> dict[tuple[int, int], bool]:
        """(passage id, subtheme id) -> keep it?"""
        found = {}
        for field in self:
            if field.name.startswith("keep-"):
                passage_id, subtheme_id = field.name.removeprefix("keep-").split("-")
                found[(int(passage_id), int(subtheme_id))] = field.data == KEEP
        return found

    def sent(self) -> dict[str, str]:
        """What was chosen, by field name (to show the page again with it)."""
        return {f.name: f.data for f in self if f.name.startswith("keep-") and f.data}


def settle_form(differences: Iterable[tuple[int, int]]) -> SettleForm:
    """The settling form of one round: a field for each (passage id, subtheme id) difference."""
    fields = {f"keep-{p}-{s}": AnswerField() for p, s in differences}
    form_class = type("RoundSettleForm", (SettleForm,), fields)
    form: SettleForm = form_class()
    return form
