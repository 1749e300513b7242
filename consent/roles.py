"""Who is who: the roles people hold in the archive, which consent's rules are written in."""

from __future__ import annotations

import enum
from typing import Protocol


class Role(enum.StrEnum):
    STORYTELLER = "storyteller"
    CURATOR = "curator"
    TRAINER = "trainer"
    MEMBER = "member"  # elected members and senior managers
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.STORYTELLER: "Storyteller",
    Role.CURATOR: "Story curator",
    Role.TRAINER: "Workforce trainer",
    Role.MEMBER: "Elected member or senior manager",
    Role.ADMIN: "Administrator",
}


class Person(Protocol):
    """Someone acting on a story, as consent's rules read them (the app's ``User`` is one)."""

    id: int
    role: Role
