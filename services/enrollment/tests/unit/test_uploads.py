"""Reading an uploaded file of learners: CSV or XLSX, what officials write, and what is refused
whole (with its row and column) before any row is applied."""

import io

import pytest
from openpyxl import Workbook

from enrollment.api.import_rows import check_rows
from enrollment.api.positions import position_of
from enrollment.api.uploads import read_rows
from enrollment.domain.identity import name_key
from enrollment.domain.model import Position
from servicekit.i18n import speaking
from servicekit.problems import Problem

HEADER = "full_name,position,village_code,phone,email,nik\n"


def refusal(raw: bytes) -> Problem:
    with speaking("id"), pytest.raises(Problem) as caught:
        read_rows(raw, 100)
    return caught.value


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("written", "position"),
    [
        ("Sekretaris Desa", Position.SEKRETARIS_DESA),
        ("  kaur   KEUANGAN ", Position.KAUR_KEUANGAN),
        ("Kepala Dusun", Position.KEPALA_DUSUN),
        ("BPD", Position.ANGGOTA_BPD),
        ("Anggota Badan Permusyawaratan Desa", Position.ANGGOTA_BPD),
        ("Kaur TU dan Umum", Position.KAUR_TATA_USAHA_UMUM),
        ("Kasi Pelayanan", Position.KASI_PELAYANAN),
        ("kepala_desa", Position.KEPALA_DESA),
    ],
)
def test_positions_are_read_as_officials_write_them(written: str, position: Position) -> None:
    assert position_of(written) is position


def test_names_are_compared_without_case_spaces_accents_or_punctuation() -> None:
    assert name_key(" Wa  Ode Sítti, S.Pd ") == name_key("wa ode sitti spd") == "wa ode sitti spd"
    assert name_key("Wa Ode Sitti") != name_key("Wa Ode Siti")


def test_semicolon_csv_with_a_byte_order_mark_and_indonesian_headings_is_read() -> None:
    raw = "\ufeffNama;Jabatan;Kode Desa\nWa Ode Sitti;Sekretaris Desa;7401012006\n".encode()
    rows = read_rows(raw, 100)
    assert [(r.number, r.cells) for r in rows] == [
        (
            2,
            {
                "full_name": "Wa Ode Sitti",
                "position": "Sekretaris Desa",
                "village_code": "7401012006",
            },
        )
    ]


def test_xlsx_rows_are_read_from_the_first_sheet() -> None:
    raw = xlsx(
        [
            ["full_name", "position", "village_code", "phone"],
            ["La Ode Arif", "Kaur Keuangan", "74.01.01.2006", 81234567890],
            [None, None, None, None],
            ["Wa Ode", "BPD", "74.01.01.2007", None],
        ]
    )
    rows = read_rows(raw, 100)
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].cells["phone"] == "81234567890"


def test_a_file_in_another_encoding_is_refused_naming_its_row() -> None:
    raw = (
        HEADER + "Wa Ode,kepala_desa,74.01.01.2006,,,\nSitti Aisyah,kepala_desa,74.01.01.2006,,,\n"
    )
    problem = refusal(raw.replace("Aisyah", "Äisyah").encode("latin-1"))
    assert problem.code == "file_encoding"
    assert problem.errors == [{"row": 3, "field": "file", "message": problem.errors[0]["message"]}]
    assert "UTF-8" in problem.errors[0]["message"]
    assert refusal("full_name,position\n".encode("utf-16")).code == "file_encoding"


def test_a_missing_column_is_refused_naming_it() -> None:
    problem = refusal(b"full_name,village_code\nWa Ode,74.01.01.2006\n")
    assert (problem.status, problem.code) == (422, "missing_column")
    assert problem.errors is not None
    assert (problem.errors[0]["row"], problem.errors[0]["field"]) == (1, "position")
    assert problem.errors[0]["message"] == "kolom tidak ada"


def test_formulas_are_refused_in_csv_and_xlsx_naming_row_and_column() -> None:
    csv_problem = refusal(
        (
            HEADER + "Wa Ode,kepala_desa,74.01.01.2006,+62 812 3456 7890,,\n"
            '"=HYPERLINK(""http://x"")",kepala_desa,74.01.01.2006,,,\n'
        ).encode()
    )
    assert csv_problem.code == "formula_in_cell"
    assert [(e["row"], e["field"]) for e in csv_problem.errors or []] == [(3, "full_name")]
    xlsx_problem = refusal(
        xlsx([["full_name", "position", "village_code"], ["Wa Ode", "BPD", "=A1&B1"]])
    )
    assert [(e["row"], e["field"]) for e in xlsx_problem.errors or []] == [(2, "village_code")]


def test_a_nik_typed_as_a_number_in_excel_is_refused_naming_its_rows() -> None:
    header = ["full_name", "position", "village_code", "NIK"]
    problem = refusal(
        xlsx(
            [
                header,
                ["Wa Ode", "BPD", "74.01.01.2006", "7401014501900001"],
                ["La Ode Arif", "BPD", "74.01.01.2006", 7401011203850002],  # read 740101120385000
                ["Sitti", "BPD", "74.01.01.2007", None],
            ]
        )
    )
    assert (problem.status, problem.code) == (422, "nik_as_number")
    assert problem.errors == [
        {
            "row": 3,
            "field": "nik",
            "message": "berupa angka yang dibulatkan Excel: tulis NIK sebagai teks",
        }
    ]
    as_text = read_rows(xlsx([header, ["Wa Ode", "BPD", "74.01.01.2006", "7401014501900001"]]), 9)
    assert as_text[0].cells["nik"] == "7401014501900001"


def test_a_broken_workbook_and_too_many_rows_are_refused() -> None:
    assert refusal(b"PK\x03\x04 not really a zip").code == "unreadable_file"
    many = HEADER + "".join(f"Aparatur {i},kepala_desa,74.01.01.2006,,,\n" for i in range(101))
    problem = refusal(many.encode())
    assert problem.code == "too_many_rows"
    assert problem.errors is not None and problem.errors[0]["row"] == 102


def test_a_row_outside_the_region_refuses_the_file_and_repeats_are_skipped() -> None:
    raw = (
        HEADER
        + "Wa Ode,Sekretaris Desa,74.01.01.2006,,,\n"
        + "WA ODE,sekretaris_desa,74.01.01.2006,,,\n"
        + "Di Buton,kepala_desa,74.04.11.1005,,,\n"
    ).encode()
    rows = read_rows(raw, 100)
    with speaking("id"), pytest.raises(Problem) as caught:
        check_rows(rows, "74.01", lambda nik: nik)
    assert (caught.value.status, caught.value.code) == (403, "outside_region")
    assert [(e["row"], e["field"]) for e in caught.value.errors or []] == [(4, "village_code")]
    with speaking("id"):
        checked = check_rows(rows, "74", lambda nik: nik)
    assert [number for number, _ in checked.valid] == [2, 4]
    assert [(r.row_number, r.field, r.reason) for r in checked.refused] == [
        (3, "full_name", "orang yang sama dengan baris 2")
    ]
