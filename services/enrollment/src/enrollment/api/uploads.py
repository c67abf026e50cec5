"""An uploaded table of learners (CSV or XLSX) -> numbered rows of named cells.

Whatever the file, a row is numbered as a spreadsheet shows it (the header is row 1) and a
cell is named by its column's name. A file that cannot be read as a whole (not UTF-8, not a
workbook, a column missing, a formula in a cell, too many rows) is refused with a problem
naming the row and column; what is wrong with a single learner is left to ``import_rows``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from servicekit.i18n import field_message
from servicekit.problems import Problem

REQUIRED = ("full_name", "position", "village_code")
OPTIONAL = ("phone", "email", "nik")
# the headings officials write, beside the API's own names
HEADINGS = {
    "nama": "full_name",
    "nama_lengkap": "full_name",
    "jabatan": "position",
    "kode_desa": "village_code",
    "kode_wilayah": "village_code",
    "telepon": "phone",
    "no_hp": "phone",
    "nomor_hp": "phone",
    "e_mail": "email",
}
# a spreadsheet runs a cell starting with one of these as a formula (CWE-1236); a sign
# followed by a digit is a number or a phone number (+62 ...), not a formula
FORMULA_STARTS = ("=", "@", "\t", "\r")
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Row:
    number: int
    cells: dict[str, str]


def refused(code: str, detail: str, row: int, field: str, message: str) -> Problem:
    return Problem(422, code, detail, errors=[{"row": row, "field": field, "message": message}])


def heading(text: str) -> str:
    name = "_".join(text.strip().casefold().replace("-", " ").split())
    return HEADINGS.get(name, name)


def is_formula(value: str) -> bool:
    if value.startswith(FORMULA_STARTS):
        return True
    return value[:1] in ("+", "-") and len(value) > 1 and not value[1].isdigit()


def csv_records(raw: bytes) -> Iterator[list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise refused(
            "file_encoding",
            f"the file is not UTF-8 (row {row})",
            row,
            "file",
            field_message("not UTF-8 text: save the file as CSV UTF-8"),
        ) from exc
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    except csv.Error as exc:
        raise refused(
            "unreadable_file",
            f"the CSV cannot be read: {exc}",
            1,
            "file",
            field_message("not a readable CSV file"),
        ) from exc


def xlsx_records(raw: bytes, max_rows: int) -> Iterator[list[str]]:
    """The first sheet's rows as text; a formula (not its cached value) is kept as written,
    for the formula check to refuse."""
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise refused(
            "unreadable_file",
            "the file is not a readable XLSX workbook",
            1,
            "file",
            field_message("not a readable XLSX workbook"),
        ) from exc
    nik_column: int | None = None
    rounded: list[int] = []  # rows whose NIK is a number
    try:
        sheet = book.worksheets[0]
        for count, cells in enumerate(sheet.iter_rows(values_only=True)):
            if count > max_rows:
                break
            if count == 0:
                names = [heading(cell_text(value)) for value in cells]
                nik_column = names.index("nik") if "nik" in names else None
            elif nik_column is not None and nik_column < len(cells):
                if isinstance(cells[nik_column], int | float):
                    rounded.append(count + 1)
            yield [cell_text(value) for value in cells]
    finally:
        book.close()
    if rounded:
        raise nik_as_number(rounded)


def nik_as_number(rows: list[int]) -> Problem:
    """A NIK typed as a number: Excel keeps 15 significant digits, so its 16th is lost (read
    back as 0) and nobody can tell which ones were. Refused whole, as a formula is: the
    column's format is the mistake, and the fix is the same for every row."""
    return Problem(
        422,
        "nik_as_number",
        f"row {rows[0]}, column nik: a NIK stored as a number has lost its last digit",
        errors=[
            {"row": row, "field": "nik", "message": field_message("a number, rounded by Excel")}
            for row in rows[:50]
        ],
    )


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def numbered(records: Iterable[list[str]], max_rows: int) -> list[Row]:
    iterator = iter(records)
    header = next(iterator, None)
    if header is None:
        raise refused(
            "missing_column", "the file is empty", 1, REQUIRED[0], field_message("missing column")
        )
    columns = [heading(name) for name in header]
    for name in REQUIRED:
        if name not in columns:
            raise refused(
                "missing_column",
                f"the header (row 1) has no column {name}",
                1,
                name,
                field_message("missing column"),
            )
    rows = []
    for number, record in enumerate(iterator, start=2):
        if number - 1 > max_rows:
            raise refused(
                "too_many_rows",
                f"at most {max_rows} rows per upload",
                number,
                "file",
                field_message("at most {n} rows per upload", n=max_rows),
            )
        cells = {
            column: value.strip()
            for column, value in zip(columns, record, strict=False)
            if column in REQUIRED + OPTIONAL and value.strip()
        }
        if cells:
            rows.append(Row(number, cells))
    return rows


def refuse_formulas(rows: list[Row]) -> None:
    errors = [
        {"row": row.number, "field": column, "message": field_message("formulas are not accepted")}
        for row in rows
        for column, value in row.cells.items()
        if is_formula(value)
    ]
    if errors:
        first = errors[0]
        raise Problem(
            422,
            "formula_in_cell",
            f"row {first['row']}, column {first['field']}: a cell holds a formula",
            errors=errors[:50],
        )


def read_rows(raw: bytes, max_rows: int) -> list[Row]:
    """The learners' rows of an uploaded CSV (comma or semicolon, UTF-8 with or without a
    byte order mark) or XLSX workbook (its first sheet)."""
    if raw.startswith(XLSX_MAGIC):
        rows = numbered(xlsx_records(raw, max_rows), max_rows)
    else:
        rows = numbered(csv_records(raw), max_rows)
    refuse_formulas(rows)
    return rows
