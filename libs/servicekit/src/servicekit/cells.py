"""Text written into a spreadsheet cell (CSV or XLSX) that a spreadsheet must not run."""

from __future__ import annotations

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and
# Sheets; tab and carriage return start one after a CSV is re-imported.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
