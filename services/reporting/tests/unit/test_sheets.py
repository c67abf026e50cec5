"""Spreadsheet cells and stamps: formulas neutralised wherever text comes from, and the time
a sheet was made in its region's own zone."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from reporting.api.inactive_export import columns_of, flattened
from reporting.api.sheets import Column, Sheet, csv_bytes, generated_at, neutralised, xlsx_bytes

MOMENT = datetime(2026, 8, 17, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+62 812", "'+62 812"),
        ("-Budi", "'-Budi"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Wa Ode", "Wa Ode"),
        (-3, -3),
        (None, None),
    ],
)
def test_text_that_would_start_a_formula_is_neutralised_and_nothing_else(
    value: object, shown: object
) -> None:
    assert neutralised(value) == shown


@pytest.mark.parametrize(
    ("region", "stamp"),
    [
        ("", "17 Agustus 2026 08.30 WIB"),
        ("31.71", "17 Agustus 2026 08.30 WIB"),
        ("74.01.01.2006", "17 Agustus 2026 09.30 WITA"),
        ("94", "17 Agustus 2026 10.30 WIT"),
    ],
)
def test_a_sheet_is_stamped_in_its_provinces_time(region: str, stamp: str) -> None:
    assert generated_at(MOMENT, region) == stamp


def test_titles_above_the_table_are_neutralised_too_and_dates_stay_dates() -> None:
    sheet = Sheet(
        title="=cmd|' /C calc'!A0",
        region="Wilayah: x",
        filters="Saringan: angkatan @evil",
        generated="Dibuat: now",
        columns=[Column("name", "Nama"), Column("day", "Hari", "date")],
        rows=[{"name": "+1", "day": date(2026, 8, 17)}],
    )
    book = load_workbook(io.BytesIO(xlsx_bytes(sheet))).active
    assert book is not None
    assert book["A1"].value == "'=cmd|' /C calc'!A0" and book["A1"].data_type == "s"
    assert book["B7"].value == "'+1" and book["C7"].is_date
    assert csv_bytes(sheet).decode("utf-8-sig").splitlines()[1] == "1,'+1,2026-08-17"


def test_the_inactive_export_takes_whatever_fields_the_list_carries() -> None:
    items = [
        {
            "learner_id": "x",
            "full_name": "Andi",
            "position": "kepala_desa",
            "position_name": "Kepala Desa",
            "progress_share": 0.25,
            "days_inactive": 20,
            "contact": {"phone": "+62812", "email": None},
            "brand_new_field": "ada",
        }
    ]
    rows = [flattened(item) for item in items]
    columns = {c.key: (c.title, c.kind) for c in columns_of(rows)}
    assert "learner_id" not in columns and "position" not in columns
    assert columns["progress_share"] == ("Kemajuan", "percent")
    assert columns["days_inactive"] == ("Hari Tidak Aktif", "integer")
    assert columns["contact_phone"][0] == "Telepon" and columns["contact_email"][0] == "E-mail"
    assert columns["brand_new_field"] == ("Brand New Field", "text")
