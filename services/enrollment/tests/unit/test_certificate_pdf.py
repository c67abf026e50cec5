"""The printed certificate carries every learner's name as written, in an embedded font."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from enrollment.api.certificate_pdf import render_certificate

NAMES = [
    "Ma\u2019ruf Amin",  # a typographic apostrophe
    "La Ode Muh. Syarif \u2013 Kolaka",  # an en dash
    "Nguy\u1ec5n Th\u1ecb H\u01b0\u01a1ng",  # Vietnamese
    "Wa Ode \u201cSitti\u201d",
    "\u03a3\u03bf\u03c6\u03af\u03b1 \u0410\u043d\u043d\u0430",  # Greek, Cyrillic
]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_outside_latin_1_prints_as_written(name: str) -> None:
    row = SimpleNamespace(
        verification_code="K7Q2M9X4PA",
        full_name=name,
        course_title="Pengelolaan Keuangan Desa \u2013 Tingkat Lanjut",
        score=87.5,
        issued_at=datetime(2026, 8, 17, tzinfo=UTC),
        revoked=False,
    )
    pdf = PdfReader(io.BytesIO(render_certificate(row, "https://lms.example/v/K7Q2M9X4PA")))
    text = pdf.pages[0].extract_text()
    assert name in text
    assert "Pengelolaan Keuangan Desa \u2013 Tingkat Lanjut" in text
    assert "17 Agustus 2026" in text
    fonts = {str(f.get_object()["/BaseFont"]) for f in pdf.pages[0]["/Resources"]["/Font"].values()}
    assert all("DejaVuSans" in font for font in fonts), fonts
