"""Bring in an existing collection: a folder of media files and an optional `stories.csv`.

CSV columns (all optional but `file`): file, title, description, language (en/cy),
teller_kind (service_user/carer/practitioner), setting (home_care, care_home, day_service,
supported_living, hospital, community_team, carers_support, other), storyteller (a username),
audiences (separated by ";", e.g. "training;learning_events"), clips_allowed (yes/no), naming
(full/first/anonymous), review_months. Consent choices given in the CSV were recorded before (often
on paper): they are released by the processing job once the story is ready, recorded as made by
the importing curator. Every file goes through the same validation as an upload; a bad one is
reported and skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from consent.models import Audience, Naming
from storyhub.extensions import db
from storyhub.models import Language, Role, ServiceSetting, TellerKind, User
from storyhub.uploads import (
    ACCEPTED_EXTENSIONS,
    StoryDetails,
    UploadRejected,
    extension_of,
    store_story_file,
)

CSV_NAME = "stories.csv"


class ImportProblem(ValueError):
    """A row that can't be imported, with the reason."""


@dataclass
class ImportRow:
    path: Path
    details: StoryDetails
    storyteller: str | None
    consent: dict[str, Any] | None


def _consent_choices(row: dict[str, str]) -> dict[str, Any] | None:
    raw = (row.get("audiences") or "").strip()
    if not raw:
        return None
    try:
        audiences = sorted(Audience(a.strip()).value for a in raw.split(";") if a.strip())
        naming = Naming((row.get("naming") or "first").strip()).value
        months = int((row.get("review_months") or "12").strip())
    except ValueError as err:
        raise ImportProblem(f"consent choices are not valid: {err}") from None
    clips = (row.get("clips_allowed") or "no").strip().lower() in {"yes", "y", "true", "1"}
    return {"audiences": audiences, "naming": naming, "review_months": months,
            "clips_allowed": clips}  # fmt: skip


def read_rows(folder: Path) -> Iterator[ImportRow | ImportProblem]:
    """The stories to import: from the CSV when there is one, else every media file."""
    csv_path = folder / CSV_NAME
    if csv_path.exists():
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    yield _row(folder, row)
                except ImportProblem as problem:
                    yield ImportProblem(f"{CSV_NAME} line {number}: {problem}")
        return
    for path in sorted(folder.iterdir()):
        if path.is_file() and extension_of(path.name) in ACCEPTED_EXTENSIONS:
            yield _row(folder, {"file": path.name})


def _row(folder: Path, row: dict[str, str]) -> ImportRow:
    name = (row.get("file") or "").strip()
    path = (folder / name).resolve()
    if not name or not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise ImportProblem(f"no such file in the folder: {name!r}")
    try:
        details = StoryDetails(
            title=(row.get("title") or path.stem.replace("_", " ")).strip()[:200],
            description=(row.get("description") or "").strip(),
            language=Language((row.get("language") or "en").strip()),
            teller_kind=TellerKind((row.get("teller_kind") or "service_user").strip()),
            setting=ServiceSetting((row.get("setting") or "not_said").strip()),
        )
    except ValueError as err:
        raise ImportProblem(str(err)) from None
    return ImportRow(path, details, (row.get("storyteller") or "").strip() or None,
                     _consent_choices(row))  # fmt: skip


def import_folder(
    folder: Path, *, curator: User, default_storyteller: User, echo: Callable[[str], None]
) -> tuple[int, int]:
    """Validate, store and queue every story in ``folder``; return (imported, skipped)."""
    imported = skipped = 0
    for item in read_rows(folder):
        if isinstance(item, ImportProblem):
            echo(f"  skipped: {item}")
            skipped += 1
            continue
        teller = default_storyteller
        if item.storyteller:
            found = db.session.scalar(select(User).where(User.username == item.storyteller.lower()))
            if found is None or found.role != Role.STORYTELLER:
                echo(f"  skipped {item.path.name}: no storyteller called {item.storyteller!r}")
                skipped += 1
                continue
            teller = found
        try:
            story = store_story_file(
                item.path, item.details, uploader=curator, storyteller=teller,
                original_filename=item.path.name, imported_consent=item.consent,
            )  # fmt: skip
        except UploadRejected as rejected:
            echo(f"  skipped {item.path.name}: {rejected.message}")
            skipped += 1
            continue
        echo(f"  queued story {story.id}: {story.title}")
        imported += 1
    return imported, skipped
