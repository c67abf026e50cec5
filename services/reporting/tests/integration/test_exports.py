"""Spreadsheets read back with openpyxl: what an office files (title, region, filters, time in
WITA for province 74, a bold frozen filterable header, widths, "No.", percentages), the
officials of a region with their scores, the inactive list, formulas neutralised in every
export, and regions outside the caller's refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from servicekit.testing.services import RunningService

from .conftest import TOWUA, Province74

pytestmark = pytest.mark.integration
Reporting74 = tuple[RunningService, Province74]
WITA = timezone(timedelta(hours=8))


def sheet_of(body: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(body)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def table(sheet: Worksheet, header_row: int) -> list[dict[str, object]]:
    titles = [cell.value for cell in sheet[header_row]]
    return [
        dict(zip(titles, (cell.value for cell in row), strict=True))
        for row in sheet.iter_rows(min_row=header_row + 1)
    ]


def assert_filed(sheet: Worksheet, title: str, header_row: int = 6) -> None:
    """What every spreadsheet has above and on its table."""
    assert sheet["A1"].value == title and sheet["A1"].font.bold
    made = re.fullmatch(r"Dibuat: (\d+) (\w+) (\d{4}) (\d\d)\.(\d\d) WITA", str(sheet["A4"].value))
    assert made is not None, sheet["A4"].value
    now = datetime.now(UTC).astimezone(WITA)
    assert int(made.group(1)) == now.day and int(made.group(4)) in (now.hour, (now.hour - 1) % 24)
    assert sheet.cell(header_row, 1).value == "No."
    assert all(cell.font.bold for cell in sheet[header_row] if cell.value)
    assert sheet.freeze_panes == f"A{header_row + 1}"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith(f"A{header_row}:")
    assert sheet.column_dimensions["B"].width > 10
    numbers = [row[0].value for row in sheet.iter_rows(min_row=header_row + 1)]
    assert numbers == list(range(1, len(numbers) + 1))


async def test_the_region_export_is_a_sheet_an_office_can_file_with_the_pages_filters(
    reporting_74: Reporting74,
) -> None:
    service, data = reporting_74
    supervisor = service.auth("supervisor", region_code="74")
    answer = await service.client.get(
        "/v1/reports/regions/74.01/export",
        params={"format": "xlsx", "course_id": str(data.course_id), "cohort": "Angkatan 1"},
        headers=supervisor,
    )
    assert answer.status_code == 200, answer.text
    assert 'filename="laporan-7401.xlsx"' in answer.headers["content-disposition"]
    sheet = sheet_of(answer.content)
    assert_filed(sheet, "Laporan Pelatihan Aparatur Desa")
    assert sheet["A2"].value == "Wilayah: Kabupaten Kolaka (Kabupaten/Kota 74.01)"
    assert sheet["A3"].value == (
        "Saringan: pelatihan Pengelolaan Keuangan Desa; angkatan Angkatan 1; aktif 14 hari terakhir"
    )
    rows = table(sheet, 6)
    kolaka, wundulako = rows[0], next(r for r in rows if r["Kode Wilayah"] == "74.01.01")
    assert kolaka["Nama Wilayah"] == "Kabupaten Kolaka" and kolaka["Peserta"] == 4
    assert wundulako["Tingkat Penyelesaian"] == 0.5 and wundulako["Lulus Pelatihan"] == 2
    header = [cell.value for cell in sheet[6]]
    rate_cell = sheet.cell(7, header.index("Tingkat Penyelesaian") + 1)
    assert rate_cell.number_format == "0.00%"
    api = (await service.client.get("/v1/reports/regions/74.01", headers=supervisor)).json()
    assert kolaka["Terdaftar"] == api["totals"]["registered"] == 4
    assert len(rows) == 1 + len(api["children"])


async def test_the_learner_export_lists_each_official_with_scores_status_and_progress(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    answer = await service.client.get(
        "/v1/reports/regions/74.01.01/learners/export",
        params={"format": "xlsx"},
        headers=service.auth("supervisor", region_code="74.01"),
    )
    assert answer.status_code == 200, answer.text
    sheet = sheet_of(answer.content)
    assert_filed(sheet, "Daftar Peserta Pelatihan Aparatur Desa")
    rows = {str(r["Nama"]): r for r in table(sheet, 6)}
    assert set(rows) == {"Wa Ode Hasnia", "La Ode Rahman", '\'=HYPERLINK("http://x")', "Andi Baso"}
    done = rows["Wa Ode Hasnia"]
    assert (done["Desa/Kelurahan"], done["Jabatan"], done["Status"]) == (
        "Towua",
        "Kepala Desa",
        "Selesai",
    )
    assert (done["Pre-test"], done["Post-test"], done["Kemajuan"]) == (40, 85.5, 1)
    assert rows["Andi Baso"]["Kemajuan"] == 0.5 and rows["Andi Baso"]["Status"] == "Sedang belajar"
    formula = rows['\'=HYPERLINK("http://x")']
    header = [cell.value for cell in sheet[6]]
    name_cell = next(
        row[header.index("Nama")]
        for row in sheet.iter_rows(min_row=7)
        if row[3].value == formula["Nama"]
    )
    assert name_cell.data_type == "s"  # text, never a formula
    progress = sheet.cell(7, header.index("Kemajuan") + 1)
    assert progress.number_format == "0.00%"


async def test_every_csv_export_neutralises_what_a_spreadsheet_would_run(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    admin = service.auth("admin")
    for path, params in (
        (f"/v1/reports/regions/{TOWUA}/learners/export", {"format": "csv"}),
        ("/v1/reports/inactive/export", {"format": "csv", "region_code": TOWUA, "days": "1"}),
    ):
        answer = await service.client.get(path, params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert rows[0][0] == "No."
        cells = [cell for row in rows[1:] for cell in row]
        assert '\'=HYPERLINK("http://x")' in cells, path
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), path


async def test_the_inactive_export_carries_whatever_the_inactive_list_carries(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    supervisor = service.auth("supervisor", region_code="74.01")
    listed = (
        await service.client.get(
            "/v1/reports/inactive", params={"region_code": "74.01", "days": 1}, headers=supervisor
        )
    ).json()["items"]
    answer = await service.client.get(
        "/v1/reports/inactive/export",
        params={"region_code": "74.01", "days": 1},
        headers=supervisor,
    )
    assert answer.status_code == 200, answer.text
    sheet = sheet_of(answer.content)
    assert_filed(sheet, "Peserta yang Perlu Dibina")
    rows = table(sheet, 6)
    assert [r["Nama"] for r in rows] == [
        "'" + i["full_name"] if i["full_name"].startswith("=") else i["full_name"] for i in listed
    ]
    assert {"Nama", "Kode Desa", "Jabatan", "Aktivitas Terakhir"} <= set(rows[0])


async def test_exports_outside_the_callers_region_are_refused(reporting_74: Reporting74) -> None:
    service, _ = reporting_74
    kolaka = service.auth("supervisor", region_code="74.01")
    for path, params in (
        ("/v1/reports/regions/74.02/export", {"format": "xlsx"}),
        ("/v1/reports/regions/74/export", {"format": "csv"}),
        ("/v1/reports/regions/74.02.01.2006/learners/export", {}),
        ("/v1/reports/inactive/export", {"region_code": "74.02"}),
    ):
        answer = await service.client.get(path, params=params, headers=kolaka)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["code"] == "outside_region"
    learner = service.auth("learner", learner_id=__import__("uuid").uuid4())
    refused = await service.client.get("/v1/reports/regions/74.01/learners/export", headers=learner)
    assert refused.status_code == 403
