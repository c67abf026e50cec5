"""Region reports as CSV and XLSX with Indonesian headers, and the monitoring page."""

from __future__ import annotations

import csv
import html
import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from servicekit.auth import Principal, Role, TokenVerifier, authenticates, current_principal
from servicekit.indonesian import angka, persen
from servicekit.openapi import problems, served
from servicekit.ratelimit import RateLimit

from ..store import queries
from .dependencies import ServiceRuntime
from .reports import (
    CohortFilter,
    PositionFilter,
    RegionCode,
    active_days,
    report,
    require_scope,
)

router = APIRouter(tags=["exports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
export_limit = RateLimit("export", per_minute=12, burst=4)

HEADERS = [
    ("code", "Kode Wilayah"),
    ("name", "Nama Wilayah"),
    ("level", "Tingkat"),
    ("registered", "Terdaftar"),
    ("enrolled", "Peserta"),
    ("active", "Aktif"),
    ("withdrawn", "Mengundurkan Diri"),
    ("completed", "Lulus Pelatihan"),
    ("completion_rate", "Persentase Penyelesaian (%)"),
    ("post_test_taken", "Ikut Post-test"),
    ("passed", "Lulus Post-test"),
    ("failed", "Tidak Lulus Post-test"),
    ("pass_rate", "Persentase Lulus Post-test (%)"),
    ("certified", "Bersertifikat"),
    ("revoked", "Sertifikat Dicabut"),
    ("avg_pre_test", "Rata-rata Pre-test"),
    ("avg_post_test", "Rata-rata Post-test"),
    ("avg_improvement", "Rata-rata Peningkatan"),
]
LEVEL_NAMES = {
    "national": "Nasional",
    "province": "Provinsi",
    "regency": "Kabupaten/Kota",
    "district": "Kecamatan",
    "village": "Desa/Kelurahan",
}


def table_rows(found: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for entry in [found, *found["children"]]:
        region, totals = entry["region"], entry["totals"]
        values = {
            "code": region["code"],
            "name": region["name"],
            "level": LEVEL_NAMES[region["level"]],
        }
        values |= totals
        rows.append([values[key] if values[key] is not None else "" for key, _ in HEADERS])
    return rows


@router.get(
    "/v1/reports/regions/{code}/export",
    dependencies=[Depends(export_limit)],
    responses=served("text/csv", XLSX, description="The report as a spreadsheet") | problems(404),
)
async def export_region(
    code: RegionCode,
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(current_principal)],
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    course_id: uuid.UUID | None = None,
    cohort: CohortFilter = None,
    position: PositionFilter = None,
) -> Response:
    """The region and its children as a spreadsheet (first row: the region itself)."""
    require_scope(principal, code)
    found = await report(
        runtime, code, queries.Filters(course_id, cohort, position), active_days(runtime, None)
    )
    rows = table_rows(found)
    filename = f"laporan-{code.replace('.', '')}"
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([title for _, title in HEADERS])
        writer.writerows(rows)
        return Response(
            buffer.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Laporan"
    sheet.append([title for _, title in HEADERS])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return Response(
        output.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


# A bearer token in a link (three base64url parts)
LinkToken = Annotated[
    str | None, Query(max_length=8192, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
]


@authenticates
async def page_principal(request: Request, token: LinkToken = None) -> Principal:
    """Browsers can pass the token as ``?token=`` on the first visit; links carry it on."""
    if token and "authorization" not in request.headers:
        verifier: TokenVerifier = request.app.state.token_verifier
        return await verifier.verify(token)
    return await current_principal(request)


@router.get("/dashboard/regions/{code}", response_class=HTMLResponse, responses=problems(404))
async def region_dashboard(
    code: RegionCode,
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(page_principal)],
    token: LinkToken = None,
) -> HTMLResponse:
    """Monitoring page: completion and improvement by child region, with drill-down links."""
    require_scope(principal, code)
    found = await report(runtime, code, queries.Filters(), active_days(runtime, None))
    return HTMLResponse(render_page(found, token))


@router.get("/dashboard/national", response_class=HTMLResponse)
async def national_dashboard(
    runtime: ServiceRuntime,
    principal: Annotated[Principal, Depends(page_principal)],
    token: LinkToken = None,
) -> HTMLResponse:
    """The national monitoring page, for admins."""
    principal.require(Role.ADMIN)
    found = await report(runtime, "", queries.Filters(), active_days(runtime, None))
    return HTMLResponse(render_page(found, token))


DASHBOARD_COLUMNS = (
    "registered",
    "enrolled",
    "active",
    "completed",
    "completion_rate",
    "post_test_taken",
    "passed",
    "failed",
    "pass_rate",
    "certified",
    "revoked",
    "avg_improvement",
)
DASHBOARD_TITLES = dict(HEADERS) | {"avg_improvement": "Peningkatan"}


def _bar_chart(children: list[dict[str, Any]]) -> str:
    width, row_height, label_width = 720, 22, 200
    bars = []
    for i, child in enumerate(children[:60]):
        totals = child["totals"]
        rate = totals["completed"] / totals["enrolled"] if totals["enrolled"] else 0.0
        improvement = max(0.0, min(100.0, totals["avg_improvement"] or 0.0)) / 100
        y = i * row_height
        name = html.escape(child["region"]["name"])
        bars.append(
            f'<text x="0" y="{y + 15}" font-size="12">{name}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{rate * (width - label_width - 60):.1f}" '
            f'height="8" fill="#2e7d32"><title>penyelesaian {persen(rate)}</title></rect>'
            f'<rect x="{label_width}" y="{y + 12}" width="{improvement * (width - label_width - 60):.1f}" '
            f'height="8" fill="#1565c0"><title>peningkatan {angka(improvement * 100)} poin</title></rect>'
            f'<text x="{width - 55}" y="{y + 15}" font-size="11">{persen(rate)}</text>'
        )
    height = max(row_height, len(bars) * row_height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Penyelesaian dan peningkatan per wilayah">{"".join(bars)}</svg>'
    )


def render_page(found: dict[str, Any], token: str | None) -> str:
    region, totals = found["region"], found["totals"]
    suffix = f"?token={html.escape(token)}" if token else ""
    rows = []
    for child in found["children"]:
        c, t = child["region"], child["totals"]
        link = f"/dashboard/regions/{c['code']}{suffix}" if c["level"] != "village" else ""
        name = f'<a href="{link}">{html.escape(c["name"])}</a>' if link else html.escape(c["name"])
        cells = [t[key] for key in DASHBOARD_COLUMNS]
        rows.append(
            f"<tr><td>{c['code']}</td><td>{name}</td>"
            + "".join(f"<td>{angka(value)}</td>" for value in cells)
            + "</tr>"
        )
    title = html.escape(region["name"])
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Pemantauan {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin-top: 1rem; }} td, th {{ border: 1px solid #ccc; padding: .25rem .5rem; }}
th {{ background: #f0f0f0; }} .kpi {{ display: inline-block; margin-right: 1.5rem; }}
.kpi b {{ display: block; font-size: 1.4rem; }} .legend span {{ margin-right: 1rem; }}
</style></head><body>
<h1>Pemantauan Pelatihan Aparatur Desa: {title}</h1>
<p>{LEVEL_NAMES[region["level"]]} {region["code"] if region["code"] != "national" else ""}</p>
<div>
<span class="kpi">Terdaftar<b>{angka(totals["registered"])}</b></span>
<span class="kpi">Peserta<b>{angka(totals["enrolled"])}</b></span>
<span class="kpi">Aktif {found["filters"]["active_days"]} hari<b>{angka(totals["active"])}</b></span>
<span class="kpi">Lulus Pelatihan<b>{angka(totals["completed"])} ({angka(totals["completion_rate"])}%)</b></span>
<span class="kpi">Lulus Post-test<b>{angka(totals["passed"])} ({angka(totals["pass_rate"])}%)</b></span>
<span class="kpi">Tidak Lulus Post-test<b>{angka(totals["failed"])}</b></span>
<span class="kpi">Bersertifikat<b>{angka(totals["certified"])}</b></span>
<span class="kpi">Sertifikat Dicabut<b>{angka(totals["revoked"])}</b></span>
<span class="kpi">Peningkatan rata-rata<b>{angka(totals["avg_improvement"])}</b></span>
</div>
<h2>Penyelesaian dan peningkatan per wilayah</h2>
<p class="legend"><span style="color:#2e7d32">&#9632; penyelesaian</span><span style="color:#1565c0">&#9632; peningkatan nilai</span></p>
{_bar_chart(found["children"])}
<table><thead><tr><th>Kode</th><th>Wilayah</th>{"".join(f"<th>{DASHBOARD_TITLES[k]}</th>" for k in DASHBOARD_COLUMNS)}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
</body></html>"""
