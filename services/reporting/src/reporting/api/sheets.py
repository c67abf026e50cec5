"""Spreadsheets an office can file: a title, the region, the filters and when it was made
(in the region's own time, WIB, WITA or WIT) above a bold, frozen, filterable table with a
"No." column; and the same table as CSV. Text that a spreadsheet would read as a formula is
neutralised in both."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from servicekit import regions
from servicekit.cells import inert
from servicekit.indonesian import tanggal

Kind = Literal["text", "integer", "decimal", "percent", "date"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
HEADER_ROW = 6  # below the title, region, filters, time and a blank line
NUMBER_FORMATS = {"integer": "#,##0", "decimal": "0.00", "percent": "0.00%", "date": "yyyy-mm-dd"}
PHONE = re.compile(r"\+\d{6,19}")  # E.164, as the contact projection stores phones


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = "text"
    width: float = 14


@dataclass(frozen=True)
class Sheet:
    """What a spreadsheet says above its table, and the table."""

    title: str
    region: str
    filters: str
    generated: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]


def neutralised(value: Any) -> Any:
    """Text that would start a formula gets a leading apostrophe; anything else (an E.164
    phone number included) is as it is."""
    if isinstance(value, str) and not PHONE.fullmatch(value):
        return inert(value)
    return value


def zone_of(region_code: str) -> ZoneInfo:
    """The time zone of a region's province (WIB for the nation)."""
    province = region_code[:2]
    zone = regions.province_timezones().get(province, "Asia/Jakarta") if province else None
    return ZoneInfo(zone or "Asia/Jakarta")


def generated_at(moment: datetime, region_code: str) -> str:
    """``30 November 2026 10.15 WITA``: when, in the region's own time."""
    zone = zone_of(region_code)
    local = moment.astimezone(zone)
    return f"{tanggal(local.date())} {local:%H.%M} {ZONE_NAMES.get(str(zone), str(zone))}"


def _cell(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "date" and isinstance(value, datetime):
        return value.date()
    return neutralised(value)


def xlsx_bytes(sheet: Sheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    page = book.active
    assert page is not None
    page.title = "Laporan"
    lines = (sheet.title, sheet.region, sheet.filters, sheet.generated)
    for line_number, line in enumerate(lines, start=1):
        page.cell(line_number, 1, neutralised(line))
    page["A1"].font = Font(bold=True, size=14)
    header_row = HEADER_ROW
    columns = [Column("no", "No.", "integer", 6), *sheet.columns]
    for index, column in enumerate(columns, start=1):
        page.cell(header_row, index, column.title)
    for cell in page[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    for number, row in enumerate(sheet.rows, start=1):
        values = {"no": number, **row}
        page.append([_cell(values.get(column.key), column.kind) for column in columns])
    last_row = page.max_row
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        page.column_dimensions[letter].width = column.width
        number_format = NUMBER_FORMATS.get(column.kind)
        if number_format:
            for (cell,) in page.iter_rows(
                min_row=header_row + 1, max_row=last_row, min_col=index, max_col=index
            ):
                cell.number_format = number_format
    page.freeze_panes = page.cell(row=header_row + 1, column=1)
    page.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last_row}"
    page.print_title_rows = f"{header_row}:{header_row}"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def csv_bytes(sheet: Sheet) -> bytes:
    """The table alone (header first), UTF-8 with a byte order mark so Excel reads it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [Column("no", "No.", "integer"), *sheet.columns]
    writer.writerow([column.title for column in columns])
    for number, row in enumerate(sheet.rows, start=1):
        values = {"no": number, **row}
        writer.writerow([_csv_value(values.get(column.key), column.kind) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value:.4f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralised(value)
