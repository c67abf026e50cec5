"""The printable certificate (Bahasa Indonesia): issuing body, number, the official and their
village, the course and its training hours, the date in the learner's own time zone, the
signatory of the deployment, and a QR code of the public verification page."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

FONT = "certificate"
# how a text reaches the page: as is with a Unicode font, reduced to Latin-1 without one
Write = Callable[[str], str]


FONTS = Path(__file__).resolve().parents[1] / "fonts"


def certificate_font() -> Path | None:
    """The Unicode TrueType font certificates are set in: DejaVu Sans, vendored and embedded
    (the glyphs used only), so that any name prints as written (ADR 16). None would mean the
    PDF core font, which writes only Latin-1 (other letters lose their marks)."""
    return FONTS / "DejaVuSans.ttf"


@dataclass(frozen=True)
class Signatory:
    """Who issues the deployment's certificates and signs them (settings)."""

    issuer: str
    unit: str
    title: str
    name: str
    nip: str
    signature_image: Path | None = None


@dataclass(frozen=True)
class PrintedCertificate:
    """Everything printed on one certificate, already worded."""

    number: str
    verification_code: str
    full_name: str
    position: str
    place: str
    course_title: str
    training_hours: int | None
    score: float
    issued_on: str
    revoked: bool


def render(certificate: PrintedCertificate, signatory: Signatory, verify_url: str) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Sertifikat {certificate.number}")
    pdf.set_author(signatory.issuer)
    font = certificate_font()
    family = _use_font(pdf, font)
    write: Write = str if font else _latin1
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    _heading(pdf, family, write, certificate, signatory)
    _body(pdf, family, write, certificate)
    _signature(pdf, family, write, signatory, certificate.issued_on)
    _verification(pdf, family, write, certificate, verify_url)
    if certificate.revoked:
        pdf.set_text_color(200, 0, 0)
        pdf.set_font(family, "B", 40)
        pdf.set_xy(10, 92)
        pdf.cell(277, 20, "DICABUT", align="C")
    return bytes(pdf.output())


def _use_font(pdf: FPDF, font: Path | None) -> str:
    if font is None:
        return "Helvetica"
    bold = font.with_name(f"{font.stem}-Bold{font.suffix}")
    pdf.add_font(FONT, "", str(font))
    pdf.add_font(FONT, "B", str(bold if bold.exists() else font))
    return FONT


def _line(
    pdf: FPDF, family: str, size: int, words: str, style: str = "", height: float = 8
) -> None:
    pdf.set_font(family, style, size)
    pdf.multi_cell(0, height, words, align="C", new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, family: str, write: Write, c: PrintedCertificate, s: Signatory) -> None:
    pdf.set_y(16)
    _line(pdf, family, 14, write(s.issuer.upper()), "B", 7)
    _line(pdf, family, 12, write(s.unit), "", 6)
    pdf.ln(4)
    _line(pdf, family, 30, "SERTIFIKAT", "B", 14)
    _line(pdf, family, 11, write(f"Nomor: {c.number}"), "", 6)


def _body(pdf: FPDF, family: str, write: Write, c: PrintedCertificate) -> None:
    pdf.ln(3)
    _line(pdf, family, 13, "Diberikan kepada", "", 7)
    _line(pdf, family, 22, write(c.full_name), "B", 11)
    _line(pdf, family, 12, write(f"{c.position}, {c.place}"), "", 6)
    pdf.ln(2)
    _line(pdf, family, 13, "atas keberhasilannya menyelesaikan pelatihan", "", 7)
    _line(pdf, family, 17, write(c.course_title), "B", 9)
    hours = f"selama {c.training_hours} jam pelajaran (JP) " if c.training_hours else ""
    _line(pdf, family, 12, f"{hours}dengan nilai post-test {_score(c.score)}", "", 7)


def _signature(pdf: FPDF, family: str, write: Write, s: Signatory, issued_on: str) -> None:
    x, width = 180.0, 100.0
    pdf.set_xy(x, 140)
    pdf.set_font(family, "", 11)
    pdf.multi_cell(width, 5, write(f"Diterbitkan pada {issued_on}\n{s.title}"), align="C")
    if s.signature_image is not None:
        pdf.image(str(s.signature_image), x=x + 30, y=pdf.get_y() + 1, h=16)
    pdf.set_xy(x, 178)
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(width, 5, write(s.name), align="C")
    pdf.set_x(x)
    pdf.set_font(family, "", 11)
    pdf.multi_cell(width, 5, write(f"NIP. {s.nip}"), align="C")


def _verification(pdf: FPDF, family: str, write: Write, c: PrintedCertificate, url: str) -> None:
    qr = io.BytesIO()
    segno.make(url, error="m").save(qr, kind="png", scale=8, border=2)
    qr.seek(0)
    pdf.image(qr, x=20, y=150, w=38, h=38)
    pdf.set_xy(62, 160)
    pdf.set_font(family, "", 10)
    pdf.multi_cell(
        110,
        5,
        write(f"Kode verifikasi: {c.verification_code}\nPeriksa keaslian di:\n{url}"),
        align="L",
    )


def _latin1(words: str) -> str:
    """What the core font can print: letters outside Latin-1 lose their marks, or become
    '?' when they have none to lose."""
    kept = []
    for char in words:
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            kept.append(plain or "?")
        else:
            kept.append(char)
    return "".join(kept)


def _score(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
