"""The PDF certificate (Bahasa Indonesia) a learner can download and print.

Text is set in DejaVu Sans, embedded (the glyphs used only), so that any name prints as the
learner wrote it, a typographic apostrophe, Vietnamese or Greek letters included (ADR 16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

from servicekit.indonesian import tanggal

FONTS = Path(__file__).resolve().parents[1] / "fonts"
FONT = "DejaVuSans"


def new_document() -> FPDF:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
    return pdf


def render_certificate(row: Any, verify_url: str) -> bytes:
    pdf = new_document()
    pdf.set_title(f"Sertifikat {row.verification_code}")
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    pdf.set_font(FONT, "B", 30)
    pdf.cell(0, 30, "SERTIFIKAT", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 14)
    pdf.cell(0, 10, "Diberikan kepada", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 24)
    pdf.cell(0, 16, row.full_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 14)
    pdf.cell(
        0,
        10,
        "atas keberhasilannya menyelesaikan pelatihan",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 12, row.course_title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 13)
    pdf.cell(
        0,
        10,
        f"dengan nilai post-test {row.score:.0f} pada tanggal {tanggal(row.issued_at)}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(18)
    pdf.set_font(FONT, "", 10)
    pdf.cell(
        0, 6, f"Kode verifikasi: {row.verification_code}", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.cell(0, 6, f"Periksa keaslian di {verify_url}", align="C", new_x="LMARGIN", new_y="NEXT")
    if row.revoked:
        pdf.set_text_color(200, 0, 0)
        pdf.set_font(FONT, "B", 16)
        pdf.cell(0, 12, "DICABUT", align="C")
    return bytes(pdf.output())
