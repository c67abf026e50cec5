"""Region reports and their officials as spreadsheets an office can file (CSV or XLSX)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from servicekit.auth import Principal, current_principal
from servicekit.i18n import position_name
from servicekit.openapi import problems, served
from servicekit.problems import Problem
from servicekit.ratelimit import RateLimit

from ..domain.errors import UnknownRegion
from ..store import officials, queries
from .dependencies import ReportingRuntime, ServiceRuntime
from .reports import (
    CohortFilter,
    PositionFilter,
    RegionCode,
    active_days,
    enrollment_status,
    report,
    require_scope,
)
from .sheets import XLSX, Column, Sheet, csv_bytes, generated_at, xlsx_bytes, zone_of

router = APIRouter(tags=["exports"])
export_limit = RateLimit("export", per_minute=12, burst=4)
# a learner-level export is for a regency or smaller: a province has tens of thousands
MAX_LEARNER_ROWS = 100_000

REGION_COLUMNS = [
    Column("code", "Kode Wilayah", width=16),
    Column("name", "Nama Wilayah", width=28),
    Column("level", "Tingkat", width=15),
    Column("registered", "Terdaftar", "integer", 11),
    Column("enrolled", "Peserta", "integer", 10),
    Column("active", "Aktif", "integer", 9),
    Column("withdrawn", "Mengundurkan Diri", "integer", 17),
    Column("completed", "Lulus Pelatihan", "integer", 14),
    Column("completion_rate", "Tingkat Penyelesaian", "percent", 19),
    Column("post_test_taken", "Ikut Post-test", "integer", 13),
    Column("passed", "Lulus Post-test", "integer", 14),
    Column("failed", "Tidak Lulus Post-test", "integer", 19),
    Column("pass_rate", "Tingkat Kelulusan", "percent", 17),
    Column("certified", "Bersertifikat", "integer", 13),
    Column("revoked", "Sertifikat Dicabut", "integer", 17),
    Column("avg_pre_test", "Rata-rata Pre-test", "decimal", 17),
    Column("avg_post_test", "Rata-rata Post-test", "decimal", 18),
    Column("avg_improvement", "Rata-rata Peningkatan", "decimal", 20),
]
LEARNER_COLUMNS = [
    Column("village_code", "Kode Desa", width=15),
    Column("village_name", "Desa/Kelurahan", width=22),
    Column("full_name", "Nama", width=28),
    Column("position", "Jabatan", width=26),
    Column("course", "Pelatihan", width=30),
    Column("cohort", "Angkatan", width=14),
    Column("lessons_done", "Materi Selesai", "integer", 14),
    Column("progress", "Kemajuan", "percent", 11),
    Column("pre_test", "Pre-test", "decimal", 10),
    Column("post_test", "Post-test", "decimal", 10),
    Column("status", "Status", width=18),
    Column("certified", "Bersertifikat", width=13),
    Column("last_activity", "Aktivitas Terakhir", "date", 17),
]
LEVEL_NAMES = {
    "national": "Nasional",
    "province": "Provinsi",
    "regency": "Kabupaten/Kota",
    "district": "Kecamatan",
    "village": "Desa/Kelurahan",
}
STATUS_NAMES = {
    "completed": "Selesai",
    "in_progress": "Sedang belajar",
    "enrolled": "Terdaftar",
    "withdrawn": "Mengundurkan diri",
}


def _fraction(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def region_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The region first, then each child region."""
    rows = []
    for entry in [found, *found["children"]]:
        region, totals = entry["region"], entry["totals"]
        rows.append(
            {
                "code": region["code"],
                "name": region["name"],
                "level": LEVEL_NAMES[region["level"]],
                **totals,
                "completion_rate": _fraction(totals["completed"], totals["enrolled"]),
                "pass_rate": _fraction(totals["passed"], totals["post_test_taken"]),
            }
        )
    return rows


def filters_line(filters: queries.Filters, days: int | None, course_title: str | None) -> str:
    parts = []
    if filters.course_id is not None:
        parts.append(f"pelatihan {course_title or filters.course_id}")
    if filters.cohort is not None:
        parts.append(f"angkatan {filters.cohort}")
    if filters.position is not None:
        parts.append(f"jabatan {position_name(filters.position)}")
    if days is not None:
        parts.append(f"aktif {days} hari terakhir")
    return "Saringan: " + ("; ".join(parts) if parts else "tanpa saringan")


def region_sheet(
    found: dict[str, Any], filters: queries.Filters, course_title: str | None, now: datetime
) -> Sheet:
    region = found["region"]
    code = "" if region["code"] == "national" else region["code"]
    return Sheet(
        title="Laporan Pelatihan Aparatur Desa",
        region=f"Wilayah: {region['name']} ({LEVEL_NAMES[region['level']]} {code})".replace(
            " )", ")"
        ),
        filters=filters_line(filters, found["filters"]["active_days"], course_title),
        generated="Dibuat: " + generated_at(now, code),
        columns=REGION_COLUMNS,
        rows=region_rows(found),
    )


def learner_rows(rows: list[Any], region_code: str) -> list[dict[str, Any]]:
    zone = zone_of(region_code)
    out = []
    for row in rows:
        enrolled = row.course_id is not None
        last = row.last_activity_at if enrolled else row.learner_last_activity_at
        out.append(
            {
                "village_code": row.village_code,
                "village_name": row.village_name,
                "full_name": row.full_name,
                "position": position_name(row.position) if row.position else None,
                "course": row.course_title if enrolled else "Belum mengikuti pelatihan",
                "cohort": row.cohort or None,
                "lessons_done": row.lessons_done,
                "progress": min(1.0, row.lessons_done / row.lessons)
                if enrolled and row.lessons
                else None,
                "pre_test": row.pre_test_score,
                "post_test": row.post_test_score,
                "status": STATUS_NAMES[enrollment_status(row)] if enrolled else None,
                "certified": ("Ya" if row.certified else "Tidak") if enrolled else None,
                "last_activity": last.astimezone(zone).date() if last else None,
            }
        )
    return out


async def learners_sheet(
    runtime: ReportingRuntime, code: str, filters: queries.Filters, now: datetime
) -> Sheet:
    async with runtime.runner.read() as conn:
        names = await officials.region_names(conn, [code])
        if code not in names:
            raise UnknownRegion(code)
        rows = await officials.region_officials(conn, code, filters, MAX_LEARNER_ROWS + 1)
        titles = dict(await officials.course_choices(conn))
    if len(rows) > MAX_LEARNER_ROWS:
        raise Problem(
            422,
            "export_too_large",
            f"the region has more than {MAX_LEARNER_ROWS} learner rows; export a smaller one",
            max_rows=MAX_LEARNER_ROWS,
        )
    return Sheet(
        title="Daftar Peserta Pelatihan Aparatur Desa",
        region=f"Wilayah: {names[code]} ({code})",
        filters=filters_line(filters, None, titles.get(filters.course_id)),  # type: ignore[arg-type]
        generated="Dibuat: " + generated_at(now, code),
        columns=LEARNER_COLUMNS,
        rows=learner_rows(rows, code),
    )


async def course_title(runtime: ReportingRuntime, course_id: uuid.UUID | None) -> str | None:
    if course_id is None:
        return None
    async with runtime.runner.read() as conn:
        return dict(await officials.course_choices(conn)).get(course_id)


def spreadsheet(sheet: Sheet, format: str, filename: str) -> Response:
    body, media_type = (
        (csv_bytes(sheet), "text/csv; charset=utf-8")
        if format == "csv"
        else (xlsx_bytes(sheet), XLSX)
    )
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{format}"'},
    )


Format = Annotated[str, Query(pattern="^(csv|xlsx)$")]


@router.get(
    "/v1/reports/regions/{code}/export",
    dependencies=[Depends(export_limit)],
    responses=served("text/csv", XLSX, description="The report as a spreadsheet") | problems(404),
)
async def export_region(
    code: RegionCode,
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(current_principal)],
    format: Format = "csv",
    course_id: uuid.UUID | None = None,
    cohort: CohortFilter = None,
    position: PositionFilter = None,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> Response:
    """The region and its children (first row: the region itself), with completion and pass
    rates; the XLSX says above the table what it is, for which filters and when."""
    require_scope(principal, code)
    filters = queries.Filters(course_id, cohort, position)
    found = await report(runtime, code, filters, active_days(runtime, days))
    sheet = region_sheet(found, filters, await course_title(runtime, course_id), runtime.clock())
    return spreadsheet(sheet, format, f"laporan-{code.replace('.', '')}")


@router.get(
    "/v1/reports/regions/{code}/learners/export",
    dependencies=[Depends(export_limit)],
    responses=served("text/csv", XLSX, description="The officials as a spreadsheet")
    | problems(404, 422),
)
async def export_learners(
    code: RegionCode,
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(current_principal)],
    format: Format = "xlsx",
    course_id: uuid.UUID | None = None,
    cohort: CohortFilter = None,
    position: PositionFilter = None,
) -> Response:
    """The region's officials, one row per course they take (or one saying they take none),
    with lessons done, progress, scores, status and last activity."""
    require_scope(principal, code)
    filters = queries.Filters(course_id, cohort, position)
    sheet = await learners_sheet(runtime, code, filters, runtime.clock())
    return spreadsheet(sheet, format, f"peserta-{code.replace('.', '')}")
