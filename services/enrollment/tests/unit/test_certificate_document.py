"""The printed certificate, rendered to PNG and read back: every field a verifier or an
official looks for, the date in the official's own time zone, and a QR code of the
verification page."""

import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import segno
from PIL import Image
from pypdf import PdfReader

from enrollment.api.certificate_document import render
from enrollment.api.certificate_views import printed, signatory
from enrollment.settings import EnrollmentSettings

URL = "https://lms.example.go.id/v1/certificates/YQTRTZUBPW"


def settings(signature: Path) -> EnrollmentSettings:
    return EnrollmentSettings(
        certificate_signatory_name="Dr. La Ode Ahmad, M.Si.",
        certificate_signatory_nip="197203151998031004",
        certificate_signatory_title="Direktur Jenderal Bina Pemerintahan Desa",
        certificate_signature_image=signature,
        certificate_number_prefix="BPD-KEMENDAGRI",
        public_base_url="https://lms.example.go.id",
    )


def row(**changes: object) -> SimpleNamespace:
    """A certificate issued late on 31 March 2027 UTC: already 1 April in Konawe (WITA)."""
    fields: dict[str, object] = {
        "verification_code": "YQTRTZUBPW",
        "serial": 42,
        "full_name": "La Ode Hamid",
        "position": "sekretaris_desa",
        "village_code": "74.02.01.2006",
        "learner_village": "74.02.01.2006",
        "course_title": "Administrasi Pemerintahan Desa",
        "training_hours": 24,
        "score": 87.5,
        "issued_at": datetime(2027, 3, 31, 17, 30, tzinfo=UTC),
        "revoked": False,
        "revoked_at": None,
    }
    return SimpleNamespace(**(fields | changes))


def signature_png(tmp_path: Path) -> Path:
    path = tmp_path / "ttd.png"
    image = Image.new("RGB", (200, 80), "white")
    for x in range(20, 180):
        image.putpixel((x, 40 + (x % 20) - 10), (0, 0, 120))
    image.save(path)
    return path


def as_png_and_text(pdf: bytes) -> tuple[bytes, str, list[Image.Image]]:
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    png = io.BytesIO()
    page.render(scale=2).to_pil().save(png, format="PNG")
    text = page.get_textpage().get_text_range()
    images = [
        obj.get_bitmap().to_pil() for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
    ]
    return png.getvalue(), " ".join(text.split()), images


def test_the_certificate_png_shows_every_field_in_bahasa_indonesia(tmp_path: Path) -> None:
    config = settings(signature_png(tmp_path))
    pdf = render(printed(row(), config), signatory(config), URL)
    png, text, images = as_png_and_text(pdf)
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size == (1684, 1191)
    for expected in (
        "KEMENTERIAN DALAM NEGERI REPUBLIK INDONESIA",
        "Direktorat Jenderal Bina Pemerintahan Desa",
        "SERTIFIKAT",
        "Nomor: BPD-KEMENDAGRI/2027/000042",
        "Diberikan kepada",
        "La Ode Hamid",
        "Sekretaris Desa, Desa Awuliti, Kecamatan Lambuya, Kabupaten Konawe, Provinsi Sulawesi Tenggara",
        "Administrasi Pemerintahan Desa",
        "selama 24 jam pelajaran (JP) dengan nilai post-test 87,5",
        "Diterbitkan pada 1 April 2027",
        "Dr. La Ode Ahmad, M.Si.",
        "NIP. 197203151998031004",
        "Kode verifikasi: YQTRTZUBPW",
        URL,
    ):
        assert expected in text, expected
    assert "DICABUT" not in text
    assert len(images) == 2  # the QR code and the signature


def test_the_qr_code_is_the_verification_page(tmp_path: Path) -> None:
    config = settings(signature_png(tmp_path))
    _, _, images = as_png_and_text(render(printed(row(), config), signatory(config), URL))
    qr = next(i for i in images if i.size[0] == i.size[1]).convert("1")
    expected = segno.make(URL, error="m")
    modules = expected.symbol_size(scale=1, border=2)[0]
    scale = qr.size[0] // modules
    for y, line in enumerate(expected.matrix_iter(scale=1, border=2)):
        for x, dark in enumerate(line):
            pixel = qr.getpixel((x * scale + scale // 2, y * scale + scale // 2))
            assert (pixel == 0) == bool(dark), (x, y)


def test_a_revoked_certificate_says_so_on_paper(tmp_path: Path) -> None:
    config = settings(signature_png(tmp_path))
    revoked = row(revoked=True, revoked_at=datetime(2027, 5, 1, tzinfo=UTC))
    _, text, _ = as_png_and_text(render(printed(revoked, config), signatory(config), URL))
    assert "DICABUT" in text


NAMES = [
    "Ma\u2019ruf Amin",  # a typographic apostrophe
    "La Ode Muh. Syarif \u2013 Kolaka",  # an en dash
    "Nguy\u1ec5n Th\u1ecb H\u01b0\u01a1ng",  # Vietnamese
    "Wa Ode \u201cSitti\u201d \u1e62alawati",
    "\u03a3\u03bf\u03c6\u03af\u03b1 \u0410\u043d\u043d\u0430",  # Greek, Cyrillic
]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_outside_latin_1_prints_as_written_in_the_embedded_font(
    tmp_path: Path, name: str
) -> None:
    config = settings(signature_png(tmp_path))
    named = row(
        full_name=name,
        course_title="Keuangan Desa \u2013 Tingkat Lanjut",
        village_code="74.01.01.1002",
    )
    pdf = render(printed(named, config), signatory(config), URL)
    _, text, _ = as_png_and_text(pdf)
    assert name in text and "Keuangan Desa \u2013 Tingkat Lanjut" in text
    assert "Kelurahan Wundulako" in text
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVuSans" in font for font in fonts), fonts
