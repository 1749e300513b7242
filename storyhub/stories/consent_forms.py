"""The consent wizard's form (one question per screen in the browser), and the small forms for
renewing, withdrawing and erasing."""

from __future__ import annotations

from typing import Any

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

from consent.models import Audience, Naming, RecordedFor
from consent.services import Choices
from storyhub.forms import PageForm

REVIEW_CHOICES = [
    SelectChoice("6", "6 months"),
    SelectChoice("12", "12 months"),
    SelectChoice("24", "2 years"),
]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: each audience is its own large, separate choice."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class OtherPersonForm(Form):
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    agreed = RadioField(
        "Have they agreed to be in the story?",
        choices=[
            SelectChoice("yes", "Yes, they agreed"),
            SelectChoice("no", "No, or not asked: please remove their name"),
        ],
        default="no",
        validators=[Optional()],
    )


class ConsentForm(PageForm):
    watched = BooleanField(
        "Yes, I have watched (or listened to) my finished story and checked its words",
        description="You choose who may see it only after you have seen it yourself.",
    )
    audiences = MultiCheckboxField(
        "Who may see your story?",
        description="Tick as many or as few as you like. You can change this at any time.",
        choices=[
            SelectChoice(a.value, f"{a.label.capitalize()}: {a.explanation}") for a in Audience
        ],
        validators=[Optional()],
    )
    clips_allowed = RadioField(
        "May trainers use short parts of your story?",
        description="A trainer might show 40 seconds of it, with captions, in a course.",
        choices=[
            SelectChoice("yes", "Yes, short parts may be used"),
            SelectChoice("no", "No, only the whole story"),
        ],
        default="no",
        validators=[InputRequired("Please choose yes or no.")],
    )
    naming = RadioField(
        "How should your name be shown?",
        choices=[SelectChoice(n.value, n.label) for n in Naming],
        default=Naming.FIRST.value,
        validators=[InputRequired("Please choose how your name is shown.")],
    )
    others = FieldList(
        FormField(OtherPersonForm),
        label="Is anyone else named or shown in your story?",
        min_entries=3,
        max_entries=10,
    )
    review_months = RadioField(
        "For how long may it be shared?",
        description="When this time is up we will ask you again. Nothing is shared after it.",
        choices=REVIEW_CHOICES,
        default="12",
        validators=[InputRequired("Please choose how long.")],
    )
    recorded_for = RadioField(
        "Who is making these choices?",
        choices=[SelectChoice(r.value, r.label) for r in RecordedFor],
        default=RecordedFor.SELF.value,
        validators=[InputRequired("Please say who is making these choices.")],
    )
    proxy_name = StringField(
        "Their name (for someone deciding for the storyteller, or a parent)",
        validators=[Optional(), Length(max=120)],
    )
    proxy_relationship = StringField(
        "How they know the storyteller", validators=[Optional(), Length(max=120)]
    )
    best_interests_note = TextAreaField(
        "Why sharing is in the storyteller's best interests",
        validators=[Optional(), Length(max=2000)],
    )
    adult_on = DateField(
        "For a child: the date they turn 18",
        description="We will ask them for their own consent then.",
        validators=[Optional()],
    )
    notes = TextAreaField("Anything else to note (optional)", validators=[Length(max=2000)])
    # The confirmation page's two buttons: save the answers, or go back and change them.
    confirm = SubmitField("Save these choices")
    edit = SubmitField("Change my answers")

    def offer_review(self, default_months: int) -> None:
        """Offer the configured review period first, as well as the usual ones."""
        values = {c.value for c in REVIEW_CHOICES}
        choices = list(REVIEW_CHOICES)
        if str(default_months) not in values:
            choices.insert(0, SelectChoice(str(default_months), f"{default_months} months"))
        self.review_months.choices = choices
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
        "Keep sharing for",
        choices=REVIEW_CHOICES,
        default="12",
        validators=[InputRequired("Please choose how long.")],
    )


class WithdrawForm(PageForm):
    reason = TextAreaField(
        "Why is it being withdrawn? (needed when you act for the storyteller)",
        validators=[Length(max=2000)],
    )


class EraseForm(PageForm):
    reason = TextAreaField(
        "Why is it being erased? (needed when you act for the storyteller)",
        validators=[Length(max=2000)],
    )
    understood = BooleanField(
        "I understand the story's video, sound and words will be deleted for good.",
        validators=[DataRequired("Please tick the box to confirm.")],
    )
