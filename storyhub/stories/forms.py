"""The story pages' forms: the upload form (shared by the web page and the JSON API, which turns
CSRF off: token auth), the story list's filter, the transcript editor's small forms and the
curator's forms for other people in a story. Each checks what can be checked of one value; the
rules that need the story live in storyhub.transcripts, storyhub.people and consent/."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    Form,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from storyhub.extensions import db
from storyhub.forms import IdField, PageForm
from storyhub.i18n import current_language
from storyhub.models import (
    LANGUAGE_LABELS,
    SETTING_LABELS,
    TELLER_LABELS,
    Language,
    Role,
    ServiceSetting,
    StoryState,
    TellerKind,
    User,
)
from storyhub.people import PICTURE_CHOICES
from storyhub.transcripts import MAX_EDIT_CHARS, MAX_UNDO_REASON
from storyhub.uploads import ACCEPT_ATTRIBUTE, StoryDetails

SELF = "self"


def uploader_language() -> str:
    """The uploader's account language, else the page's: the story's language unless they say."""
    chosen = getattr(current_user, "language", None)
    return chosen if chosen in {lang.value for lang in Language} else current_language()


class UploadForm(PageForm):
    media = FileField(
        lazy_gettext("Your story's video or sound file"),
        description=lazy_gettext(
            "A video (.mp4, .mov, .webm, .mkv, .3gp) or a sound recording "
            "(.m4a, .mp3, .wav, .ogg, .flac)."
        ),
        validators=[FileRequired(lazy_gettext("Please choose the file of your story."))],
        render_kw={"accept": ACCEPT_ATTRIBUTE},
    )
    title = StringField(
        lazy_gettext("A title for your story"),
        description=lazy_gettext("A few words. You can change it later."),
        validators=[DataRequired(lazy_gettext("Please give your story a title.")), Length(max=200)],
    )
    description = TextAreaField(
        lazy_gettext("What is it about? (optional)"),
        description=lazy_gettext("One or two sentences."),
        validators=[Length(max=2000)],
    )
    language = RadioField(
        lazy_gettext("Which language is the story told in?"),
        choices=[SelectChoice(lang.value, LANGUAGE_LABELS[lang]) for lang in Language],
        # The teller's language is the default language of transcription.
        default=uploader_language,
        validators=[DataRequired(lazy_gettext("Please choose a language."))],
    )
    teller_kind = RadioField(
        lazy_gettext("Who is telling the story?"),
        choices=[SelectChoice(kind.value, TELLER_LABELS[kind]) for kind in TellerKind],
        default=TellerKind.SERVICE_USER.value,
        validators=[DataRequired(lazy_gettext("Please say who is telling the story."))],
    )
    setting = SelectField(
        lazy_gettext("Where is the support the story is about given? (optional)"),
        description=lazy_gettext("This helps trainers find stories about a kind of service."),
        choices=[SelectChoice(s.value, SETTING_LABELS[s]) for s in ServiceSetting],
        default=ServiceSetting.NOT_SAID.value,
    )
    storyteller = SelectField(lazy_gettext("Whose story is this?"), default=SELF)
    take_part = BooleanField(
        lazy_gettext("Yes, I agree to take part: storyhub may keep my story and prepare it."),
        description=lazy_gettext(
            "Nobody else will see it until you have watched it and chosen who may."
        ),
        validators=[
            DataRequired(lazy_gettext("Please tick the box to say you agree to take part."))
        ],
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
            self.storyteller.choices = [SelectChoice(SELF, _("Mine"))] + [
                SelectChoice(str(u.id), f"{u.display_name} ({u.username})") for u in tellers
            ]
        else:
            self.storyteller.choices = [SelectChoice(SELF, _("Mine"))]

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


class StoryListForm(Form):
    """The story list's filter (a GET form: nothing to protect with a token)."""

    state = SelectField(
        lazy_gettext("Show"),
        choices=[SelectChoice("", lazy_gettext("All stories"))]
        + [SelectChoice(s.value, s.value) for s in StoryState],
        default="",
        validators=[Optional()],
    )

    def chosen_state(self) -> StoryState | None:
        """The state asked for; a forged one shows every story, as an empty choice does."""
        if not self.validate() or not self.state.data:
            return None
        return StoryState(self.state.data)


class PassageForm(PageForm):
    """A passage's corrected words and speaker (an empty line in the words splits it)."""

    # Longer corrections are refused by correct_passage, which knows the passage's own length.
    text = TextAreaField(
        lazy_gettext("The words"),
        validators=[
            Length(
                max=4 * MAX_EDIT_CHARS,
                message=lazy_gettext(
                    "That is too long for one passage. Please save it in shorter parts."
                ),
            )
        ],
    )
    speaker = StringField(
        lazy_gettext("Who is speaking"),
        # set_speaker keeps the first 80 characters; far longer is not a name.
        validators=[
            Optional(),
            Length(max=1000, message=lazy_gettext("Please keep the speaker's name short.")),
        ],
    )


class RedactForm(PageForm):
    """Words a curator removes from a passage, typed as they appear."""

    phrase = StringField(
        lazy_gettext("Words to remove"),
        validators=[
            DataRequired(lazy_gettext("Please type the words to remove, as they appear.")),
            Length(max=500, message=lazy_gettext("Please type just the words to remove.")),
        ],
    )


class UnredactForm(PageForm):
    """Removed words a curator brings back, and why (kept with the redaction and audited)."""

    redaction = IdField(message=lazy_gettext("Please choose the removed words to bring back."))
    # An empty reason is refused by undo_redaction, in the words it uses everywhere.
    reason = StringField(
        lazy_gettext("Why they should come back"),
        validators=[
            Length(
                max=4 * MAX_UNDO_REASON,
                message=lazy_gettext(
                    "Please say why in fewer than %(count)s characters.", count=MAX_UNDO_REASON
                ),
            )
        ],
    )


TIMES = lazy_gettext("Please give the times as minutes and seconds, for example 1:05 to 1:20.")


class CoverForm(PageForm):
    """A stretch of a video whose picture is covered: times as people read them off a player."""

    start = StringField(
        lazy_gettext("From"), validators=[DataRequired(TIMES), Length(max=20, message=TIMES)]
    )
    end = StringField(
        lazy_gettext("To"), validators=[DataRequired(TIMES), Length(max=20, message=TIMES)]
    )


class PersonRemovedForm(PageForm):
    """A curator's word that a person is out of a video story: their picture covered, or absent."""

    picture = RadioField(
        lazy_gettext("Their picture"),
        choices=[SelectChoice(choice, choice) for choice in PICTURE_CHOICES],
        validators=[Optional()],
    )

    def chosen_picture(self) -> str | None:
        """The answer, or None (not answered, or not an answer offered): record_removed then
        asks again, naming the person."""
        return self.picture.data if self.validate() else None
