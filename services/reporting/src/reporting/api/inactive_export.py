"""The inactive list as a spreadsheet: the rows of ``coaching.inactive_list`` (contacts for
the region's supervisors and admins, each read logged), every page up to ``MAX_ROWS``."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from servicekit.auth import CurrentPrincipal
from servicekit.fields import RegionCode as RegionCodeField
from servicekit.openapi import problems, served

from .coaching import Days, inactive_list, sees_contacts
from .dependencies import ServiceRuntime
from .exports import XLSX, export_limit

router = APIRouter(tags=["exports"])
MAX_ROWS, PAGE = 20_000, 1_000
COLUMNS = [
    ("full_name", "Nama"),
    ("position_name", "Jabatan"),
    ("village_code", "Kode Desa"),
    ("village_name", "Desa/Kelurahan"),
    ("course_title", "Pelatihan"),
    ("progress", "Kemajuan"),
    ("days_inactive", "Hari Tidak Aktif"),
    ("phone", "Telepon"),
    ("email", "E-mail"),
]
PHONE = re.compile(r"^\+\d{6,19}$")


def cell(value: Any) -> Any:
    """A spreadsheet cannot take a text for a formula: text starting with ``=``, ``+``,
    ``-`` or ``@`` is prefixed with an apostrophe (E.164 phone numbers stay as they are)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in "=+-@" and value and not PHONE.match(value):
        return "'" + value
    return value


async def all_rows(
    runtime: Any, principal: Any, request: Request, region_code: str, days: int, course: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while len(rows) < MAX_ROWS:
        items, raw = await inactive_list(
            runtime,
            principal,
            request,
            region_code,
            days,
            course_id=course,
            limit=PAGE,
            after=after,
        )
        rows.extend(items)
        if len(raw) < PAGE:
            break
        edge = raw[-1]
        after = (edge.last, edge.learner_id, edge.course_key)
    return rows[:MAX_ROWS]


@router.get(
    "/v1/reports/inactive/export",
    dependencies=[Depends(export_limit)],
    responses=served("text/csv", XLSX, description="The inactive list") | problems(403),
)
async def export_inactive(
    request: Request,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    region_code: Annotated[RegionCodeField, Query()],
    days: Days = 14,
    course_id: uuid.UUID | None = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """Learners to coach as CSV or XLSX (Indonesian headers), longest inactive first."""
    rows = await all_rows(runtime, principal, request, region_code, days, course_id)
    shown = sees_contacts(principal)
    columns = [(k, t) for k, t in COLUMNS if shown or k not in ("phone", "email")]
    table = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    filename = f"tidak-aktif-{region_code.replace('.', '')}"
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([title for _, title in columns])
        writer.writerows(table)
        return Response(
            buffer.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tidak aktif"
    sheet.append([title for _, title in columns])
    for values in table:
        sheet.append(values)
    output = io.BytesIO()
    book.save(output)
    return Response(
        output.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )
