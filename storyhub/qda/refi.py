"""REFI-QDA exchange files: write a project (.qdpx), read a codebook (.qdc or .qdpx).

REFI-QDA (www.qdasoftware.org) is the format NVivo, ATLAS.ti, MAXQDA and QualCoder share. A
``.qdpx`` is a zip holding ``project.qde`` (XML in the ``urn:QDA-XML:project:1.0`` namespace,
checked against the published Project schema in the tests) and its sources under ``sources/``,
each named by its GUID and referred to as ``internal://<guid>.txt``; a ``.qdc`` is the codebook
alone. Selections in a text source are character positions in its plain text: the first
character's (from 0) and the one just after the last.

This module knows the format only, not the archive: ``storyhub.qda.services`` says what goes in.
Files read here come from outside, so reading is bounded and refuses entities and DTDs
(``defusedxml``: the well-kept guard against XML bombs and external entities).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from flask_babel import gettext as _
from flask_babel import lazy_gettext

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_MEMBER = "project.qde"
SOURCES_FOLDER = "sources"

# GUIDs are derived from what they stand for, under this fixed namespace, so exporting twice
# gives every code, source and coding the same GUID: a researcher can merge a later export.
GUID_NAMESPACE = uuid.UUID("6f1d3a52-8b7e-4c1e-9f0a-53a2d7c4e911")

# What a codebook read from outside may hold. A real codebook has tens of codes, a few levels
# deep and well under a megabyte; the limits keep a hostile file from costing memory or time.
MAX_CODEBOOK_BYTES = 5 * 1024 * 1024  # of XML, after unzipping
MAX_CODES = 500
MAX_DEPTH = 12
MAX_NAME_CHARS = 500
MAX_DESCRIPTION_CHARS = 4000

# Characters XML 1.0 can't hold (most control characters); dropped from names and descriptions.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def guid(*parts: object) -> str:
    """A stable GUID for what ``parts`` name (e.g. ``guid("subtheme", key)``)."""
    return str(uuid.uuid5(GUID_NAMESPACE, ":".join(str(p) for p in parts))).upper()


# -- writing a project --------------------------------------------------------------------------


@dataclass
class Code:
    guid: str
    name: str
    description: str = ""
    codable: bool = True
    children: list[Code] = field(default_factory=list)


@dataclass
class User:
    guid: str
    name: str


@dataclass
class Coding:
    guid: str
    code_guid: str
    user_guid: str | None = None
    when: datetime | None = None


@dataclass
class Selection:
    """Characters ``start`` (inclusive) to ``end`` (exclusive) of a source's text, and its codes."""

    guid: str
    name: str
    start: int
    end: int
    description: str = ""
    codings: list[Coding] = field(default_factory=list)
    user_guid: str | None = None
    when: datetime | None = None


@dataclass
class TextSource:
    guid: str
    name: str
    text: str
    description: str = ""
    selections: list[Selection] = field(default_factory=list)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _when(moment: datetime) -> str:
    """An xsd:dateTime in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _q(tag: str) -> str:
    # Elements are built by their plain names and the root declares the project namespace as
    # the default one: no "ns0:" prefixes, as the standard's examples and the programs write it
    # (ElementTree's own default_namespace refuses the schema's unqualified attributes).
    return tag


def _description(parent: ET.Element, text: str) -> None:
    if text:
        ET.SubElement(parent, _q("Description")).text = _clean(text)  # untranslated: XML name


def _code(parent: ET.Element, code: Code) -> None:
    element = ET.SubElement(
        parent,
        _q("Code"),  # untranslated: XML name
        guid=code.guid,
        name=_clean(code.name),
        isCodable="true" if code.codable else "false",
    )
    _description(element, code.description)
    for child in code.children:
        _code(element, child)


def project_xml(
    name: str,
    *,
    users: Sequence[User],
    codes: Sequence[Code],
    sources: Sequence[TextSource],
    created: datetime,
    creator: User | None = None,
) -> bytes:
    """``project.qde``: the project's XML (UTF-8, with its declaration)."""
    attributes = {"name": _clean(name), "origin": "storyhub", "creationDateTime": _when(created)}
    if creator is not None:
        attributes["creatingUserGUID"] = creator.guid
    root = ET.Element(_q("Project"), {"xmlns": PROJECT_NS, **attributes})  # untranslated: XML name
    # The schema's order: Users, CodeBook, Variables, Cases, Sources, ...
    if users:
        users_element = ET.SubElement(root, _q("Users"))  # untranslated: XML name
        for user in users:
            user_tag = _q("User")  # untranslated: XML name
            ET.SubElement(users_element, user_tag, guid=user.guid, name=_clean(user.name))
    if codes:
        codebook_element = ET.SubElement(root, _q("CodeBook"))
        codes_element = ET.SubElement(codebook_element, _q("Codes"))  # untranslated: XML name
        for code in codes:
            _code(codes_element, code)
    if sources:
        sources_element = ET.SubElement(root, _q("Sources"))  # untranslated: XML name
        for source in sources:
            _text_source(sources_element, source, created)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode()


def _text_source(parent: ET.Element, source: TextSource, created: datetime) -> None:
    element = ET.SubElement(
        parent,
        _q("TextSource"),
        guid=source.guid,
        name=_clean(source.name),
        plainTextPath=f"internal://{source.guid}.txt",
        creationDateTime=_when(created),
    )
    _description(element, source.description)
    for selection in source.selections:
        attributes = {
            "guid": selection.guid,
            "name": _clean(selection.name),
            "startPosition": str(selection.start),
            "endPosition": str(selection.end),
        }
        if selection.user_guid:
            attributes["creatingUser"] = selection.user_guid
        if selection.when is not None:
            attributes["creationDateTime"] = _when(selection.when)
        chosen = ET.SubElement(element, _q("PlainTextSelection"), attributes)
        _description(chosen, selection.description)
        for coding in selection.codings:
            coded = {"guid": coding.guid}
            if coding.user_guid:
                coded["creatingUser"] = coding.user_guid
            if coding.when is not None:
                coded["creationDateTime"] = _when(coding.when)
            ET.SubElement(
                ET.SubElement(chosen, _q("Coding"), coded),  # untranslated: XML name
                _q("CodeRef"),
                targetGUID=coding.code_guid,
            )


def project_qdpx(
    name: str,
    *,
    users: Sequence[User],
    codes: Sequence[Code],
    sources: Sequence[TextSource],
    created: datetime,
    creator: User | None = None,
) -> bytes:
    """A ``.qdpx`` file: ``project.qde`` and each source's text as ``sources/<guid>.txt``."""
    xml = project_xml(
        name, users=users, codes=codes, sources=sources, created=created, creator=creator
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(PROJECT_MEMBER, xml)
        for source in sources:
            archive.writestr(f"{SOURCES_FOLDER}/{source.guid}.txt", source.text.encode("utf-8"))
    return buffer.getvalue()


# -- reading a codebook -------------------------------------------------------------------------


class CodebookError(ValueError):
    """A codebook file that can't be read; the message is shown to the administrator as it is."""


@dataclass
class ReadCode:
    """A code as read from a codebook: its name, what it covers, and the codes under it."""

    name: str
    description: str = ""
    children: list[ReadCode] = field(default_factory=list)


# Lazy: made at import, read in the language of the page that shows it.
NOT_A_CODEBOOK = lazy_gettext(
    "That file doesn't look like a REFI-QDA codebook. Please choose a codebook (.qdc) or a "
    "project (.qdpx) saved by NVivo, ATLAS.ti, MAXQDA, QualCoder or this archive. Nothing was "
    "changed."
)


def read_codebook(filename: str, data: bytes) -> list[ReadCode]:
    """The top-level codes (with the codes under them) of a ``.qdc`` or ``.qdpx`` file.

    Raises ``CodebookError`` with a friendly message for anything that is not a sound codebook
    (not a zip, an oversized member, a DTD or entities, bad encoding, too many codes).
    """
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "qdpx":
        xml = _project_member(data)
    elif suffix in ("qdc", "xml"):
        xml = data
    else:
        raise CodebookError(
            _(
                "Please choose a REFI-QDA codebook (a file ending .qdc) or project (ending .qdpx). "
                "Nothing was changed."
            )
        )
    if len(xml) > MAX_CODEBOOK_BYTES:
        raise CodebookError(
            _(
                "That codebook is too big to read here. Please export the codebook alone (.qdc) "
                "from your program and try that. Nothing was changed."
            )
        )
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CodebookError(
            _(
                "That file asks to load other content (it has a DTD or entities), which isn't "
                "allowed for safety. Please save the codebook again from your program. Nothing was "
                "changed."
            )
        ) from None
    except (ET.ParseError, UnicodeError, ValueError):
        raise CodebookError(
            _(
                "That file can't be read: it isn't well-formed XML, or its characters are in an "
                "encoding it doesn't declare. Please save the codebook again as UTF-8. Nothing was "
                "changed."
            )
        ) from None
    return _codes_of(root)


def _project_member(data: bytes) -> bytes:
    """The ``.qde`` XML inside a ``.qdpx`` zip, read no further than the size limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CodebookError(
            _(
                "That file isn't a REFI-QDA project: a .qdpx file is a zip, and this one isn't. "
                "Nothing was changed."
            )
        ) from None
    with archive:
        members = [
            m
            for m in archive.infolist()
            if m.filename.lower().endswith(".qde") and "/" not in m.filename
        ]
        if len(members) != 1:
            raise CodebookError(
                _(
                    "That project has no project.qde file in it, so it has no codebook to read. "
                    "Nothing was changed."
                )
            )
        (member,) = members
        # The size a zip declares can lie, so the read itself stops at the limit too.
        if member.file_size > MAX_CODEBOOK_BYTES:
            raise CodebookError(str(_TOO_BIG))
        try:
            with archive.open(member) as opened:
                xml = opened.read(MAX_CODEBOOK_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError):
            raise CodebookError(
                _(
                    "That project's zip is damaged or encrypted, so it can't be read. Nothing was "
                    "changed."
                )
            ) from None
    if len(xml) > MAX_CODEBOOK_BYTES:
        raise CodebookError(str(_TOO_BIG))
    return xml


_TOO_BIG = lazy_gettext(
    "That project's XML is too big to read here. Please export the codebook alone (.qdc) from "
    "your program and try that. Nothing was changed."
)


def _local(tag: object) -> str:
    """An element's name without its namespace (tools differ in whether they write one)."""
    return str(tag).rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _codes_of(root: ET.Element) -> list[ReadCode]:
    if _local(root.tag) == "Project":  # untranslated: XML name
        book = _child(root, "CodeBook")
        if book is None:
            return []
    elif _local(root.tag) == "CodeBook":
        book = root
    else:
        raise CodebookError(str(NOT_A_CODEBOOK))
    codes = _child(book, "Codes")  # untranslated: XML name
    if codes is None:
        return []
    count = 0

    def read(element: ET.Element, depth: int) -> ReadCode:
        nonlocal count
        count += 1
        if count > MAX_CODES:
            raise CodebookError(
                _(
                    "That codebook has more than %(limit)d codes, more than this archive takes "
                    "at once. Please import a smaller codebook. Nothing was changed.",
                    limit=MAX_CODES,
                )
            )
        if depth > MAX_DEPTH:
            raise CodebookError(
                _(
                    "That codebook's codes are nested more than %(limit)d levels deep, more "
                    "than this archive reads. Nothing was changed.",
                    limit=MAX_DEPTH,
                )
            )
        name = " ".join(_clean(element.get("name") or "").split())[:MAX_NAME_CHARS]
        described = _child(element, "Description")  # untranslated: XML name
        text = described.text if described is not None and described.text else ""
        description = " ".join(_clean(text).split())[:MAX_DESCRIPTION_CHARS]
        code_tag = "Code"  # untranslated: XML name
        children = [read(c, depth + 1) for c in element if _local(c.tag) == code_tag]
        return ReadCode(name, description, children)

    return [read(c, 1) for c in codes if _local(c.tag) == "Code"]  # untranslated: XML name
