"""What every CSV storyhub writes shares: cells a spreadsheet will show, never run."""

from __future__ import annotations

# A cell starting with one of these is taken as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """Text a spreadsheet won't run as a formula (titles, names and words come from people)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
