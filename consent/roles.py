"""Who is who: the roles people hold in the archive, which consent's rules are written in."""

from __future__ import annotations

import enum
from typing import Protocol

from flask_babel import lazy_gettext


class Role(enum.StrEnum):
    STORYTELLER = "storyteller"
    CURATOR = "curator"
    TRAINER = "trainer"
    MEMBER = "member"  # elected members and senior managers
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's name, in the page's language."""
        return str(ROLE_LABELS[self])


# Lazy, so each is read in the language of the page that shows it.
ROLE_LABELS = {
    Role.STORYTELLER: lazy_gettext("Storyteller"),
    Role.CURATOR: lazy_gettext("Story curator"),
    Role.TRAINER: lazy_gettext("Workforce trainer"),
    Role.MEMBER: lazy_gettext("Elected member or senior manager"),
    Role.ADMIN: lazy_gettext("Administrator"),
}


class Person(Protocol):
    """Someone acting on a story, as consent's rules read them (the app's ``User`` is one)."""

    id: int
    role: Role
