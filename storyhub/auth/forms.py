"""Forms for signing in and for invitations."""

from __future__ import annotations

from urllib.parse import urlsplit

from wtforms import Form, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from storyhub.forms import PageForm
from storyhub.models import Role


class LoginForm(PageForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _same_site(_form: Form, field: StringField) -> None:
    """Only a path on this site, so a crafted link can't send people elsewhere after signing in."""
    target = field.data or ""
    parts = urlsplit(target)
    # A backslash too: browsers read "/\\evil.example" as "//evil.example", another site.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        raise ValidationError("That page is not on this site.")
    if "\\" in target:
        raise ValidationError("That page is not on this site.")


class NextPageForm(Form):
    """Where to go after signing in: the sign-in link's ``?next=`` (a query string, no token)."""

    next = StringField(validators=[DataRequired(), Length(max=2000), _same_site])

    def safe_target(self) -> str | None:
        """The page asked for, if it is one on this site; otherwise None (go home)."""
        return self.next.data if self.validate() else None


class InviteForm(PageForm):
    display_name = StringField(
        "Their name",
        description="How their name is shown to staff. They can be anonymous to others.",
        validators=[DataRequired(), Length(max=120)],
    )
    role = SelectField("They will be a", validators=[DataRequired()])
    note = TextAreaField(
        "A note for your records (optional)",
        description="For example: who will help them sign up.",
        validators=[Length(max=500)],
    )

    def set_roles(self, roles: tuple[Role, ...]) -> None:
        """Offer only the roles this inviter may give; anything else fails validation."""
        self.role.choices = [SelectChoice(role.value, role.label) for role in roles]


class JoinForm(PageForm):
    username = StringField(
        "Choose a username",
        description="Letters or numbers, at least 3. You'll type it to sign in.",
        validators=[DataRequired(), Length(min=3, max=64)],
    )
    password = PasswordField(
        "Choose a password",
        description="At least 8 characters. A short sentence you'll remember works well.",
        validators=[DataRequired(), Length(min=8, max=1024)],
    )
    confirm = PasswordField(
        "Type the password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
