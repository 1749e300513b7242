"""Taking the coding elsewhere: the REFI-QDA project validates against the published schema and
opens in a second reader (pyrefiqda) and in our own importer; the CSV is safe in a spreadsheet;
consent decides which stories go; a codebook comes in as themes, and a hostile file changes
nothing."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from consent.models import Audience, Naming
from consent.services import Choices, change, withdraw
from storyhub.extensions import db
from storyhub.models import AuditEvent, Role, Story, StoryState, User
from storyhub.qda import refi, services
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind, Valence
from storyhub.transcripts import redact
from tests.conftest import csrf_token
from tests.search_factory import make_story

SCHEMA = Path(__file__).resolve().parents[2] / "data" / "refi-qda" / "Project-mrt2019.xsd"

SignIn = Callable[[Role], tuple[FlaskClient, User]]

LISTENED = "The social worker sat with my mother and wrote down what she wanted"
WALKING = "After six weeks with the physio I can walk to the post office again"
NEIGHBOUR = "My neighbour Bronwen never called after the stroke"
SECRET_NAME = "Bronwen"


@pytest.fixture
def curator(make_user: Callable[..., User]) -> User:
    return make_user(Role.CURATOR, display_name="Cara Curator")


@pytest.fixture
def teller(make_user: Callable[..., User]) -> User:
    return make_user(Role.STORYTELLER, display_name="Mary Jones")


def shared_story(
    teller: User,
    curator: User,
    *,
    title: str = "Mum's care",
    audiences: set[Audience] | None = None,
) -> Story:
    """A story shared for training with whole-passage themes, a span theme, and a removed name."""
    story = make_story(
        teller,
        [LISTENED, WALKING, NEIGHBOUR],
        title=title,
        audiences={Audience.TRAINING} if audiences is None else audiences,
        themes={0: ["listened-to"], 2: ["seeing-people"]},
    )
    walking = story.passages[1]
    mobility = db.session.scalar(select(Subtheme).where(Subtheme.key == "mobility"))
    words = walking.words
    # "walk to the post office" (words 8 to 12), confirmed as a span by the curator.
    walking.themes.append(
        PassageTheme(
            subtheme=mobility,
            status=TagStatus.CONFIRMED,
            span_start=words[8]["start"],
            span_end=words[12]["end"],
            valence=Valence.POSITIVE,
            decided_by=curator,
            decided_at=datetime(2026, 11, 3, 10, 30, tzinfo=UTC),
        )
    )
    at = NEIGHBOUR.split().index(SECRET_NAME)
    redact(story.passages[2], at, at, curator)
    db.session.commit()
    return story


def everything_in(qdpx: bytes) -> str:
    """Every member of a .qdpx as text: what a researcher receives."""
    with zipfile.ZipFile(io.BytesIO(qdpx)) as archive:
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())


def test_the_project_validates_against_the_refi_qda_schema_and_marks_the_right_words(
    curator: User, teller: User
) -> None:
    shared_story(teller, curator)
    qdpx = services.export_qdpx(curator)
    with zipfile.ZipFile(io.BytesIO(qdpx)) as archive:
        names = archive.namelist()
        xml = archive.read("project.qde")
        texts = {n: archive.read(n).decode("utf-8") for n in names if n.startswith("sources/")}
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    assert len(texts) == 1

    ns = {"q": refi.PROJECT_NS}
    (source,) = document.findall(".//q:TextSource", ns)
    text = texts[f"sources/{source.get('guid')}.txt"]
    assert source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
    marked = {
        text[int(s.get("startPosition")) : int(s.get("endPosition"))]: [
            c.get("targetGUID") for c in s.findall(".//q:CodeRef", ns)
        ]
        for s in source.findall("q:PlainTextSelection", ns)
    }
    assert marked == {
        LISTENED: [refi.guid("subtheme", "listened-to")],
        "walk to the post office": [refi.guid("subtheme", "mobility")],
        "My neighbour [name removed] never called after the stroke": [
            refi.guid("subtheme", "seeing-people")
        ],
    }
    # The coder is a user, and the span's coding says who and when.
    (span,) = [
        s
        for s in source.findall("q:PlainTextSelection", ns)
        if text[int(s.get("startPosition")) :].startswith("walk")
    ]
    coding = span.find("q:Coding", ns)
    users = {u.get("guid"): u.get("name") for u in document.findall(".//q:User", ns)}
    assert users[coding.get("creatingUser")] == "Cara Curator"
    assert coding.get("creationDateTime") == "2026-11-03T10:30:00Z"
    assert "Good experience" in span.findtext("q:Description", namespaces=ns)


def test_the_codebook_has_the_three_kinds_and_guids_that_do_not_change(
    curator: User, teller: User
) -> None:
    shared_story(teller, curator)
    first = services.qdpx(services.coded_stories(curator), curator)
    listened = db.session.scalar(select(Subtheme).where(Subtheme.key == "listened-to"))
    listened.label = "Heard"  # renamed: its code keeps its GUID
    db.session.commit()
    again = services.qdpx(services.coded_stories(curator), curator)

    def codes(qdpx: bytes) -> dict[str, tuple[str, list[str]]]:
        with zipfile.ZipFile(io.BytesIO(qdpx)) as archive:
            root = etree.fromstring(archive.read("project.qde"))
        ns = {"q": refi.PROJECT_NS}
        return {
            top.get("guid"): (top.get("name"), [c.get("guid") for c in top.findall("q:Code", ns)])
            for top in root.findall("q:CodeBook/q:Codes/q:Code", ns)
        }

    before, after = codes(first), codes(again)
    assert [name for name, _ in before.values()] == ["Quality of life", "Process", "Change"]
    assert before == after
    count = db.session.scalar(select(func.count()).select_from(Subtheme))
    assert sum(len(children) for _, children in before.values()) == count


def test_pyrefiqda_opens_the_export_and_finds_the_codes_and_codings(
    curator: User, teller: User, tmp_path: Path
) -> None:
    from pyrefiqda import RefiProject

    shared_story(teller, curator)
    path = tmp_path / "coding.qdpx"
    path.write_bytes(services.export_qdpx(curator))
    project = RefiProject.load(path, extract_dir=str(tmp_path / "opened"))

    kinds = project.code_book.codes.code
    assert [k.name for k in kinds] == ["Quality of life", "Process", "Change"]
    by_guid = {c.guid: c.name for k in kinds for c in k.code}
    (source,) = project.sources.text_source
    text = RefiProject.resolve_source_path(source.plain_text_path, tmp_path / "opened")
    assert LISTENED in text.read_text(encoding="utf-8")
    coded = sorted(
        by_guid[coding.code_ref.target_guid]
        for selection in source.plain_text_selection
        for coding in selection.coding
    )
    assert coded == sorted(["Listened to", "Improved mobility", "Seeing people"])


def test_our_own_importer_reads_the_exported_codebook_back(curator: User, teller: User) -> None:
    shared_story(teller, curator)
    read = refi.read_codebook("coding.qdpx", services.export_qdpx(curator))
    planned = services.planned_subthemes(read, ThemeKind.CHANGE)
    live = {(s.kind, s.label) for s in db.session.scalars(select(Subtheme))}
    assert {(kind, code.name) for kind, code in planned} == live
    admin = db.session.scalar(select(User).where(User.role == Role.CURATOR))
    report = services.import_codebook(
        "coding.qdpx", services.export_qdpx(curator), ThemeKind.CHANGE, admin
    )
    assert report.added == [] and len(report.skipped) == len(live)


# -- consent: what must never leave ----------------------------------------------------------


def exports(user: User) -> tuple[str, str]:
    return everything_in(services.export_qdpx(user)), services.export_csv(user)


def test_a_withdrawn_story_is_never_exported(curator: User, teller: User) -> None:
    kept = shared_story(teller, curator, title="Still shared")
    gone = shared_story(teller, curator, title="Taken back")
    withdraw(gone, teller)
    db.session.commit()
    for exported in exports(curator):
        assert "Still shared" in exported
        assert "Taken back" not in exported
    assert kept.id != gone.id


def test_a_story_past_its_sharing_date_is_never_exported(curator: User, teller: User) -> None:
    shared_story(teller, curator, title="Still in date")
    lapsed = shared_story(teller, curator, title="Sharing ended")
    assert lapsed.consent is not None
    lapsed.consent.review_date = date(2020, 1, 31)
    db.session.commit()
    for exported in exports(curator):
        assert "Still in date" in exported
        assert "Sharing ended" not in exported


def test_a_story_held_back_is_never_exported(curator: User, teller: User) -> None:
    shared_story(teller, curator, title="Ready to share")
    held = shared_story(teller, curator, title="Held back")
    held.state = StoryState.FAILED
    db.session.commit()
    for exported in exports(curator):
        assert "Ready to share" in exported
        assert "Held back" not in exported


def test_a_story_not_shared_for_training_is_never_exported(curator: User, teller: User) -> None:
    shared_story(teller, curator, title="For training")
    shared_story(teller, curator, title="Only counted", audiences={Audience.STATISTICS})
    private = shared_story(teller, curator, title="Never released", audiences=set())
    narrowed = shared_story(teller, curator, title="Training stopped")
    change(narrowed, teller, Choices(audiences={Audience.LEARNING_EVENTS}))
    db.session.commit()
    for exported in exports(curator):
        assert "For training" in exported
        for title in ("Only counted", "Never released", "Training stopped"):
            assert title not in exported
    assert private.consent is not None


def test_removed_names_and_an_anonymous_tellers_name_never_leave(
    curator: User, teller: User
) -> None:
    story = shared_story(teller, curator)
    change(story, teller, Choices(audiences={Audience.TRAINING}, naming=Naming.ANONYMOUS))
    db.session.commit()
    for exported in exports(curator):
        assert "[name removed]" in exported
        assert SECRET_NAME not in exported
        assert "Mary" not in exported and "Jones" not in exported
        assert "an anonymous storyteller" in exported


def test_a_first_name_teller_is_named_by_first_name_only(curator: User, teller: User) -> None:
    story = shared_story(teller, curator)
    change(story, teller, Choices(audiences={Audience.TRAINING}, naming=Naming.FIRST))
    db.session.commit()
    for exported in exports(curator):
        assert "Mary" in exported and "Jones" not in exported


def test_only_staff_export_and_each_export_is_recorded_without_titles(
    login_as: SignIn, teller: User, curator: User
) -> None:
    shared_story(teller, curator, title="A private title")
    withdraw(shared_story(teller, curator, title="Withdrawn"), teller)
    db.session.commit()
    for role in (Role.TRAINER, Role.MEMBER, Role.STORYTELLER):
        client, _ = login_as(role)
        for path in ("/coding/export", "/coding/export.qdpx", "/coding/export.csv"):
            assert client.get(path).status_code == 403, (role, path)
    client, who = login_as(Role.CURATOR)
    page = client.get("/coding/export").get_data(as_text=True)
    assert "1 story with 3 confirmed themes" in page and "Download as a spreadsheet" in page
    assert "1 other coded story is left out" in page
    response = client.get("/coding/export.qdpx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.qdpx"')
    assert zipfile.ZipFile(io.BytesIO(response.data)).namelist()[0] == "project.qde"
    assert client.get("/coding/export.csv").status_code == 200
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coding.exported")
    ).all()
    assert [(e.actor_id, e.detail["format"], e.detail["stories"]) for e in events] == [
        (who.id, "qdpx", 1),
        (who.id, "csv", 1),
    ]
    assert all("A private title" not in str(e.detail) for e in events)


def test_the_dashboard_and_the_themes_page_lead_to_the_export(login_as: SignIn) -> None:
    admin, _ = login_as(Role.ADMIN)
    assert "/coding/export" in admin.get("/admin/themes").get_data(as_text=True)


# -- CSV --------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_confirmed_theme_and_is_safe_in_a_spreadsheet(
    curator: User, teller: User
) -> None:
    story = shared_story(teller, curator, title='=HYPERLINK("http://evil")')
    words = [dict(w) for w in story.passages[0].words]
    words[0]["text"] = "+1 for"
    story.passages[0].words = words
    db.session.commit()
    text = services.export_csv(curator)
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(services.CSV_COLUMNS)
    assert len(rows) == 3
    assert {r["story"] for r in rows} == {'\'=HYPERLINK("http://evil")'}
    by_theme = {r["subtheme"]: r for r in rows}
    assert by_theme["Listened to"]["words"].startswith("'+1 for")
    span = by_theme["Improved mobility"]
    assert span["words"] == "walk to the post office"
    assert (span["kind"], span["valence"], span["decided_on"]) == (
        "Change",
        "Good experience",
        "2026-11-03",
    )
    assert float(span["span_start"]) >= float(span["passage_start"])
    assert by_theme["Seeing people"]["span_start"] == ""


# -- importing a codebook ---------------------------------------------------------------------

CODEBOOK = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo">
  <Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="Change" isCodable="true">
      <Code guid="11111111-1111-1111-1111-111111111112" name="Back to work" isCodable="true">
        <Description>Returning to paid or voluntary work.</Description>
        <Code guid="11111111-1111-1111-1111-111111111113" name="Volunteering" isCodable="true"/>
      </Code>
    </Code>
    <Code guid="11111111-1111-1111-1111-111111111114" name="Quality of life (maintenance)"
          isCodable="true">
      <Code guid="11111111-1111-1111-1111-111111111115" name="Feeling safe" isCodable="true"/>
    </Code>
    <Code guid="11111111-1111-1111-1111-111111111116" name="Housing" isCodable="true"/>
  </Codes>
</CodeBook>
"""


def upload(client: FlaskClient, name: str, data: bytes, kind: str = "process") -> Any:
    token = csrf_token(client, "/admin/themes")
    return client.post(
        "/admin/themes/import",
        data={"codebook": (io.BytesIO(data), name), "kind": kind, "csrf_token": token},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def subthemes() -> dict[str, tuple[ThemeKind, str]]:
    db.session.expire_all()
    return {s.label: (s.kind, s.description) for s in db.session.scalars(select(Subtheme))}


def test_an_admin_imports_a_codebook_as_themes_under_the_right_kinds(login_as: SignIn) -> None:
    admin, _ = login_as(Role.ADMIN)
    before = subthemes()
    page = upload(admin, "nvivo.qdc", CODEBOOK.encode()).get_data(as_text=True)
    after = subthemes()
    assert set(after) - set(before) == {"Back to work", "Volunteering", "Housing"}
    assert after["Back to work"] == (ThemeKind.CHANGE, "Returning to paid or voluntary work.")
    assert after["Volunteering"][0] == ThemeKind.CHANGE
    assert after["Housing"][0] == ThemeKind.PROCESS  # under no kind: the one chosen on the form
    assert after["Feeling safe"] == before["Feeling safe"]
    assert "Added 3 themes" in page and "Feeling safe" in page
    again = upload(admin, "nvivo.qdc", CODEBOOK.encode()).get_data(as_text=True)
    assert subthemes() == after
    assert "nothing was added" in again.lower() or "Nothing was added" in again


def test_only_an_admin_imports_a_codebook(login_as: SignIn) -> None:
    curator, _ = login_as(Role.CURATOR)
    before = subthemes()
    token = csrf_token(curator, "/coding/export")
    response = curator.post(
        "/admin/themes/import",
        data={"codebook": (io.BytesIO(CODEBOOK.encode()), "a.qdc"), "kind": "process",
              "csrf_token": token},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 403
    assert subthemes() == before


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def many_codes(count: int) -> bytes:
    codes = "".join(
        f'<Code guid="{refi.guid("t", i)}" name="Theme {i}" isCodable="true"/>'
        for i in range(count)
    )
    return f'<CodeBook xmlns="{refi.CODEBOOK_NS}"><Codes>{codes}</Codes></CodeBook>'.encode()


HOSTILE = {
    "not a zip": ("project.qdpx", b"PK\x03\x04 this is not really a zip", "this one isn't"),
    "zip bomb": (
        "bomb.qdpx",
        zipped({"project.qde": b"<Project>" + b" " * (refi.MAX_CODEBOOK_BYTES + 10)}),
        "too big",
    ),
    "no project inside": ("empty.qdpx", zipped({"readme.txt": b"hello"}), "no project.qde"),
    "external entity": (
        "xxe.qdc",
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="x" name="&x;" '
        b'isCodable="true"/></Codes></CodeBook>',
        "isn't allowed for safety",
    ),
    "billion laughs": (
        "laughs.qdc",
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<CodeBook><Codes><Code name="&b;" isCodable="true"/></Codes></CodeBook>',
        "isn't allowed for safety",
    ),
    "too many codes": ("big.qdc", many_codes(refi.MAX_CODES + 1), "more than 500 codes"),
    "bad encoding": (
        "latin.qdc",
        '<?xml version="1.0" encoding="utf-8"?><CodeBook><Codes><Code name="Caf\xe9" '
        'isCodable="true"/></Codes></CodeBook>'.encode("latin-1"),
        "encoding",
    ),
    "not xml": ("notes.qdc", b"Just some notes\n", "can't be read"),
    "another kind of file": ("photo.jpg", b"\xff\xd8\xff", "ending .qdc"),
    "xml but not a codebook": ("page.qdc", b"<html><body/></html>", "doesn't look like"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_codebook_gets_a_friendly_message_and_changes_nothing(
    login_as: SignIn, case: str
) -> None:
    admin, _ = login_as(Role.ADMIN)
    name, data, said = HOSTILE[case]
    before = subthemes()
    response = upload(admin, name, data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    flashed = re.findall(r"<p class=\"flash[^>]*>([^<]*)<", page.replace("&#39;", "'"))
    assert any(said in f and "Nothing was changed" in f for f in flashed), flashed
    assert subthemes() == before


def test_markup_and_control_characters_in_a_title_stay_text_in_a_valid_project(
    curator: User, teller: User
) -> None:
    shared_story(teller, curator, title='<script>alert(1)</script> & "Mum" ]]>\x01')
    with zipfile.ZipFile(io.BytesIO(services.export_qdpx(curator))) as archive:
        xml = archive.read("project.qde")
    document = etree.fromstring(xml)
    assert etree.XMLSchema(etree.parse(str(SCHEMA))).validate(document)
    (source,) = document.findall(".//q:TextSource", {"q": refi.PROJECT_NS})
    assert source.get("name").endswith(': <script>alert(1)</script> & "Mum" ]]>')
    assert b"<script>" not in xml
