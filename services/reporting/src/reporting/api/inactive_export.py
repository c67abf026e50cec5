"""The inactive list as a spreadsheet: the rows of ``coaching.inactive_list`` (contacts for
the region's supervisors and admins, each read logged), every page up to ``MAX_ROWS``;
whatever the list's items carry becomes a column."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from servicekit.auth import Principal, current_principal
from servicekit.fields import RegionCode as RegionCodeField
from servicekit.openapi import problems, served

from .coaching import Days, inactive_list
from .dependencies import ServiceRuntime
from .exports import Format, export_limit, spreadsheet
from .reports import require_scope
from .sheets import XLSX, Column, Kind, Sheet, generated_at, zone_of

router = APIRouter(tags=["exports"])
MAX_ROWS = 20_000
PAGE = 1_000
# Known fields by their Indonesian titles; others get a title made from their name.
TITLES = {
    "full_name": ("Nama", 28),
    "village_code": ("Kode Desa", 15),
    "village_name": ("Desa/Kelurahan", 22),
    "position_name": ("Jabatan", 26),
    "course_title": ("Pelatihan", 30),
    "progress": ("Kemajuan", 11),
    "progress_share": ("Kemajuan", 11),
    "days_inactive": ("Hari Tidak Aktif", 15),
    "last_activity_at": ("Aktivitas Terakhir", 18),
    "phone": ("Telepon", 16),
    "email": ("E-mail", 26),
}
SKIPPED = {"position"}  # the code, when its name is there too


def flattened(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects (a learner's contact) as ``contact_phone``-style columns; ids left out."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if key.endswith("_id") or key in SKIPPED:
            continue
        if isinstance(value, dict):
            out |= flattened(value, f"{name}_")
        elif isinstance(value, list):
            out[name] = ", ".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def _kind(key: str, values: list[Any]) -> Kind:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, datetime | date) for v in present):
        return "date"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if ("progress" in key or "share" in key) and all(0 <= v <= 1 for v in present):
            return "percent"
        return "integer" if all(isinstance(v, int) for v in present) else "decimal"
    return "text"


def columns_of(rows: list[dict[str, Any]]) -> list[Column]:
    keys: list[str] = []
    for row in rows:
        keys += [key for key in row if key not in keys]
    columns = []
    for key in keys:
        short = key.removeprefix("contact_")
        title, width = TITLES.get(key) or TITLES.get(short) or (key.replace("_", " ").title(), 16)
        columns.append(Column(key, title, _kind(key, [row.get(key) for row in rows]), width))
    return columns


def local_dates(rows: list[dict[str, Any]], region_code: str) -> list[dict[str, Any]]:
    zone = zone_of(region_code)
    return [
        {k: v.astimezone(zone).date() if isinstance(v, datetime) else v for k, v in row.items()}
        for row in rows
    ]


@router.get(
    "/v1/reports/inactive/export",
    dependencies=[Depends(export_limit)],
    responses=served("text/csv", XLSX, description="Learners to coach as a spreadsheet")
    | problems(404),
)
async def export_inactive(
    request: Request,
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(current_principal)],
    region_code: Annotated[RegionCodeField, Query()],
    days: Days = 14,
    course_id: uuid.UUID | None = None,
    format: Format = "xlsx",
) -> Response:
    """Every learner of the inactive list for the region (at most 20,000), longest inactive
    first, with the list's own fields."""
    require_scope(principal, region_code)
    items: list[dict[str, Any]] = []
    after = None
    while len(items) < MAX_ROWS:
        page, raw = await inactive_list(
            runtime,
            principal,
            request,
            region_code,
            days,
            course_id=course_id,
            limit=PAGE,
            after=after,
        )
        items += page
        if len(raw) < PAGE:
            break
        edge = raw[-1]
        after = (edge.last, edge.learner_id, edge.course_key)
    rows = local_dates([flattened(item) for item in items[:MAX_ROWS]], region_code)
    sheet = Sheet(
        title="Peserta yang Perlu Dibina",
        region=f"Wilayah: {region_code}",
        filters=f"Saringan: tidak aktif {days} hari atau lebih",
        generated="Dibuat: " + generated_at(runtime.clock(), region_code),
        columns=columns_of(rows),
        rows=rows,
    )
    return spreadsheet(sheet, format, f"perlu-dibina-{region_code.replace('.', '')}")
