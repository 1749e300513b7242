"""The upload form, shared by the web page and the JSON API (which turns CSRF off: token auth)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from storyhub.extensions import db
from storyhub.models import Language, Role, ServiceSetting, TellerKind, User
from storyhub.uploads import ACCEPT_ATTRIBUTE, StoryDetails

SELF = "self"


class UploadForm(FlaskForm):
    media = FileField(
        "Your story's video or sound file",
        description="A video (.mp4, .mov, .webm, .mkv, .3gp) or a sound recording "
        "(.m4a, .mp3, .wav, .ogg, .flac).",
        validators=[FileRequired("Please choose the file of your story.")],
        render_kw={"accept": ACCEPT_ATTRIBUTE},
    )
    title = StringField(
        "A title for your story",
        description="A few words. You can change it later.",
        validators=[DataRequired("Please give your story a title."), Length(max=200)],
    )
    description = TextAreaField(
        "What is it about? (optional)",
        description="One or two sentences.",
        validators=[Length(max=2000)],
    )
    language = RadioField(
        "Which language is the story told in?",
        choices=[SelectChoice(lang.value, lang.label) for lang in Language],
        default=Language.ENGLISH.value,
        validators=[DataRequired("Please choose a language.")],
    )
    teller_kind = RadioField(
        "Who is telling the story?",
        choices=[SelectChoice(kind.value, kind.label) for kind in TellerKind],
        default=TellerKind.SERVICE_USER.value,
        validators=[DataRequired("Please say who is telling the story.")],
    )
    setting = SelectField(
        "Where is the support the story is about given? (optional)",
        description="This helps trainers find stories about a kind of service.",
        choices=[SelectChoice(s.value, s.label) for s in ServiceSetting],
        default=ServiceSetting.NOT_SAID.value,
    )
    storyteller = SelectField("Whose story is this?", default=SELF)
    take_part = BooleanField(
        "Yes, I agree to take part: storyhub may keep my story and prepare it.",
        description="Nobody else will see it until you have watched it and chosen who may.",
        validators=[DataRequired("Please tick the box to say you agree to take part.")],
        # An API client sending "no" must not be read as agreeing.
        false_values=(False, "false", "", "no", "n", "0", "off"),
    )

    def offer_storytellers(self, uploader: User) -> None:
        """Staff upload on a storyteller's behalf; storytellers only ever upload their own."""
        if uploader.role in (Role.CURATOR, Role.ADMIN):
            tellers = db.session.scalars(
                select(User)
                .where(User.role == Role.STORYTELLER, User.active.is_(True))
                .order_by(User.display_name)
            ).all()
            self.storyteller.choices = [SelectChoice(SELF, "Mine")] + [
                SelectChoice(str(u.id), f"{u.display_name} ({u.username})") for u in tellers
            ]
        else:
            self.storyteller.choices = [SelectChoice(SELF, "Mine")]

    def chosen_storyteller(self, uploader: User) -> User:
        """The account the story belongs to (validated against the offered choices)."""
        value = self.storyteller.data
        if value in (None, "", SELF):
            return uploader
        teller = db.session.get(User, int(value))
        assert teller is not None  # the choice was among those offered
        return teller

    def details(self) -> StoryDetails:
        """The story's descriptive fields, typed."""
        return StoryDetails(
            title=(self.title.data or "").strip(),
            description=(self.description.data or "").strip(),
            language=Language(self.language.data),
            teller_kind=TellerKind(self.teller_kind.data),
            setting=ServiceSetting(self.setting.data or ServiceSetting.NOT_SAID.value),
        )
