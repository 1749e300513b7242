"""The consent wizard's form (one question per screen in the browser), and the small forms for
renewing, withdrawing and erasing."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext, ngettext
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consent.models import (
    AUDIENCE_LABELS,
    NAMING_LABELS,
    RECORDED_FOR_LABELS,
    Audience,
    Naming,
    RecordedFor,
)
from consent.services import Choices
from storyhub.forms import PageForm

REVIEW_MONTHS = (6, 12, 24)


def months_label(months: int) -> str:
    """A sharing period in words, in the page's language: "6 months", "2 years"."""
    if months % 12 == 0 and months > 12:
        years = months // 12
        return ngettext("%(num)d year", "%(num)d years", years)
    return ngettext("%(num)d month", "%(num)d months", months)


def review_choices(extra_months: int | None = None) -> list[SelectChoice]:
    """The sharing periods offered (``extra_months`` first when it isn't one of them), labelled
    when the form is made, so in the page's language."""
    offered = list(REVIEW_MONTHS)
    if extra_months is not None and extra_months not in offered:
        offered.insert(0, extra_months)
    return [SelectChoice(str(months), months_label(months)) for months in offered]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: each audience is its own large, separate choice."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class OtherPersonForm(Form):
    name = StringField(lazy_gettext("Name"), validators=[Optional(), Length(max=120)])
    agreed = RadioField(
        lazy_gettext("Have they agreed to be in the story?"),
        choices=[
            SelectChoice("yes", lazy_gettext("Yes, they agreed")),
            SelectChoice("no", lazy_gettext("No, or not asked: please remove their name")),
        ],
        default="no",
        validators=[Optional()],
    )


class ConsentForm(PageForm):
    watched = BooleanField(
        lazy_gettext(
            "Yes, I have watched (or listened to) my finished story and checked its words"
        ),
        description=lazy_gettext("You choose who may see it only after you have seen it yourself."),
    )
    audiences = MultiCheckboxField(
        lazy_gettext("Who may see your story?"),
        description=lazy_gettext(
            "Tick as many or as few as you like. You can change this at any time."
        ),
        # Each choice is one whole message (lazy: read in the page's language).
        choices=[SelectChoice(a.value, AUDIENCE_LABELS[a][2]) for a in Audience],
        validators=[Optional()],
    )
    clips_allowed = RadioField(
        lazy_gettext("May trainers use short parts of your story?"),
        description=lazy_gettext(
            "A trainer might show 40 seconds of it, with captions, in a course."
        ),
        choices=[
            SelectChoice("yes", lazy_gettext("Yes, short parts may be used")),
            SelectChoice("no", lazy_gettext("No, only the whole story")),
        ],
        default="no",
        validators=[InputRequired(lazy_gettext("Please choose yes or no."))],
    )
    naming = RadioField(
        lazy_gettext("How should your name be shown?"),
        choices=[SelectChoice(n.value, NAMING_LABELS[n.value]) for n in Naming],
        default=Naming.FIRST.value,
        validators=[InputRequired(lazy_gettext("Please choose how your name is shown."))],
    )
    others = FieldList(
        FormField(OtherPersonForm),
        label=lazy_gettext("Is anyone else named or shown in your story?"),
        min_entries=3,
        max_entries=10,
    )
    review_months = RadioField(
        lazy_gettext("For how long may it be shared?"),
        description=lazy_gettext(
            "When this time is up we will ask you again. Nothing is shared after it."
        ),
        choices=[],  # set when the form is made: see offer_review
        default="12",
        validators=[InputRequired(lazy_gettext("Please choose how long."))],
    )
    recorded_for = RadioField(
        lazy_gettext("Who is making these choices?"),
        choices=[SelectChoice(r.value, RECORDED_FOR_LABELS[r.value]) for r in RecordedFor],
        default=RecordedFor.SELF.value,
        validators=[InputRequired(lazy_gettext("Please say who is making these choices."))],
    )
    proxy_name = StringField(
        lazy_gettext("Their name (for someone deciding for the storyteller, or a parent)"),
        validators=[Optional(), Length(max=120)],
    )
    proxy_relationship = StringField(
        lazy_gettext("How they know the storyteller"), validators=[Optional(), Length(max=120)]
    )
    best_interests_note = TextAreaField(
        lazy_gettext("Why sharing is in the storyteller's best interests"),
        validators=[Optional(), Length(max=2000)],
    )
    adult_on = DateField(
        lazy_gettext("For a child: the date they turn 18"),
        description=lazy_gettext("We will ask them for their own consent then."),
        validators=[Optional()],
    )
    notes = TextAreaField(
        lazy_gettext("Anything else to note (optional)"), validators=[Length(max=2000)]
    )
    # The confirmation page's two buttons: save the answers, or go back and change them.
    confirm = SubmitField(lazy_gettext("Save these choices"))
    edit = SubmitField(lazy_gettext("Change my answers"))

    def offer_review(self, default_months: int) -> None:
        """Offer the configured review period first, as well as the usual ones."""
        self.review_months.choices = review_choices(default_months)
        if not self.is_submitted():
            self.review_months.data = str(default_months)

    def choices(self) -> Choices:
        """The answers, typed for consent.services."""
        others: list[dict[str, Any]] = [
            {"name": entry.form.name.data.strip(), "agreed": entry.form.agreed.data == "yes"}
            for entry in self.others
            if (entry.form.name.data or "").strip()
        ]
        return Choices(
            audiences={Audience(a) for a in self.audiences.data or []},
            clips_allowed=self.clips_allowed.data == "yes",
            naming=Naming(self.naming.data),
            review_months=int(self.review_months.data or 12),
            recorded_for=RecordedFor(self.recorded_for.data),
            proxy_name=self.proxy_name.data or "",
            proxy_relationship=self.proxy_relationship.data or "",
            best_interests_note=self.best_interests_note.data or "",
            adult_on=self.adult_on.data,
            third_parties=others,
            notes=self.notes.data or "",
        )

    def fill_from(self, consent: Any) -> None:
        """Start from the current choices (when changing them)."""
        self.audiences.data = [a.value for a in consent.audiences]
        self.clips_allowed.data = "yes" if consent.clips_allowed else "no"
        self.naming.data = consent.naming.value
        self.recorded_for.data = consent.recorded_for.value
        self.proxy_name.data = consent.proxy_name
        self.proxy_relationship.data = consent.proxy_relationship
        self.best_interests_note.data = consent.best_interests_note
        self.adult_on.data = consent.adult_on
        self.notes.data = consent.notes
        for entry, person in zip(self.others, consent.third_parties, strict=False):
            entry.form.name.data = person.get("name", "")
            entry.form.agreed.data = "yes" if person.get("agreed") else "no"


class RenewForm(PageForm):
    months = RadioField(
        lazy_gettext("Keep sharing for"),
        choices=[],  # set in __init__, in the page's language
        default="12",
        validators=[InputRequired(lazy_gettext("Please choose how long."))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.months.choices = review_choices()


class WithdrawForm(PageForm):
    reason = TextAreaField(
        lazy_gettext("Why is it being withdrawn? (needed when you act for the storyteller)"),
        validators=[Length(max=2000)],
    )


class EraseForm(PageForm):
    reason = TextAreaField(
        lazy_gettext("Why is it being erased? (needed when you act for the storyteller)"),
        validators=[Length(max=2000)],
    )
    understood = BooleanField(
        lazy_gettext("I understand the story's video, sound and words will be deleted for good."),
        validators=[DataRequired(lazy_gettext("Please tick the box to confirm."))],
    )
