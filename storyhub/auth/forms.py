"""Forms for signing in and for invitations."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import lazy_gettext
from wtforms import Form, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from storyhub.forms import PageForm
from storyhub.models import Role


class LoginForm(PageForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(), Length(max=1024)]
    )


def _same_site(_form: Form, field: StringField) -> None:
    """Only a path on this site, so a crafted link can't send people elsewhere after signing in."""
    target = field.data or ""
    parts = urlsplit(target)
    # A backslash too: browsers read "/\\evil.example" as "//evil.example", another site.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        raise ValidationError(lazy_gettext("That page is not on this site."))
    if "\\" in target:
        raise ValidationError(lazy_gettext("That page is not on this site."))


class NextPageForm(Form):
    """Where to go after signing in: the sign-in link's ``?next=`` (a query string, no token)."""

    next = StringField(validators=[DataRequired(), Length(max=2000), _same_site])

    def safe_target(self) -> str | None:
        """The page asked for, if it is one on this site; otherwise None (go home)."""
        return self.next.data if self.validate() else None


class InviteForm(PageForm):
    display_name = StringField(
        lazy_gettext("Their name"),
        description=lazy_gettext(
            "How their name is shown to staff. They can be anonymous to others."
        ),
        validators=[DataRequired(), Length(max=120)],
    )
    role = SelectField(lazy_gettext("They will be a"), validators=[DataRequired()])
    note = TextAreaField(
        lazy_gettext("A note for your records (optional)"),
        description=lazy_gettext("For example: who will help them sign up."),
        validators=[Length(max=500)],
    )

    def set_roles(self, roles: tuple[Role, ...]) -> None:
        """Offer only the roles this inviter may give; anything else fails validation."""
        self.role.choices = [SelectChoice(role.value, role.label) for role in roles]


class JoinForm(PageForm):
    username = StringField(
        lazy_gettext("Choose a username"),
        description=lazy_gettext("Letters or numbers, at least 3. You'll type it to sign in."),
        validators=[DataRequired(), Length(min=3, max=64)],
    )
    password = PasswordField(
        lazy_gettext("Choose a password"),
        description=lazy_gettext(
            "At least 8 characters. A short sentence you'll remember works well."
        ),
        validators=[DataRequired(), Length(min=8, max=1024)],
    )
    confirm = PasswordField(
        lazy_gettext("Type the password again"),
        validators=[
            DataRequired(),
            EqualTo("password", message=lazy_gettext("The two passwords differ.")),
        ],
    )
