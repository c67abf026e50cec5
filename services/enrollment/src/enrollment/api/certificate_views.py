"""A certificate row -> what is printed on it, what a verifier is shown (JSON or a page in
Bahasa Indonesia), and what its owner lists. Never a NIK, a phone or an e-mail address."""

from __future__ import annotations

import html
from typing import Any

from servicekit import regions
from servicekit.i18n import position_name
from servicekit.indonesian import tanggal

from ..settings import EnrollmentSettings
from .certificate_document import PrintedCertificate, Signatory
from .schemas import CertificateOut


def jabatan(position: str | None) -> str | None:
    """The official title printed and shown (the catalogs' names, in Bahasa Indonesia)."""
    return position_name(position) if position else None


def number(row: Any, settings: EnrollmentSettings) -> str:
    """The running number with the deployment's prefix and the year: LMS-PD/2027/000042."""
    return f"{settings.certificate_number_prefix}/{row.issued_at.year}/{row.serial:06d}"


def place(village_code: str | None) -> str:
    """``Desa Awuliti, Kecamatan Lambuya, Kabupaten Konawe, Provinsi Sulawesi Tenggara``."""
    if not village_code:
        return "-"
    names = [regions.find(village_code[:n]) for n in (13, 8, 5, 2)]
    village, district, regency, province = (r.name if r else "?" for r in names)
    kind = "Kelurahan" if village_code[9] == "1" else "Desa"
    return f"{kind} {village}, Kecamatan {district}, {regency}, Provinsi {province}"


def village_of(row: Any) -> str | None:
    """Where the official served when certified (their village today for older rows)."""
    return row.village_code or getattr(row, "learner_village", None)


def issued_on(row: Any) -> str:
    """The issue date in the learner's own time zone (WIB, WITA or WIT)."""
    village = village_of(row)
    zone = regions.timezone_of(village) if village else "Asia/Jakarta"
    return tanggal(row.issued_at, zone)


def printed(row: Any, settings: EnrollmentSettings) -> PrintedCertificate:
    return PrintedCertificate(
        number=number(row, settings),
        verification_code=row.verification_code,
        full_name=row.full_name,
        position=jabatan(row.position) or "Aparatur Desa",
        place=place(village_of(row)),
        course_title=row.course_title,
        training_hours=row.training_hours,
        score=row.score,
        issued_on=issued_on(row),
        revoked=row.revoked,
    )


def signatory(settings: EnrollmentSettings) -> Signatory:
    return Signatory(
        issuer=settings.certificate_issuer,
        unit=settings.certificate_issuer_unit,
        title=settings.certificate_signatory_title,
        name=settings.certificate_signatory_name,
        nip=settings.certificate_signatory_nip,
        signature_image=settings.certificate_signature_image,
    )


def certificate_out(row: Any, settings: EnrollmentSettings) -> CertificateOut:
    """Only what a verifier needs; a revoked certificate says so."""
    return CertificateOut(
        verification_code=row.verification_code,
        certificate_number=number(row, settings),
        full_name=row.full_name,
        position=jabatan(row.position),
        place=place(village_of(row)) if village_of(row) else None,
        course_title=row.course_title,
        training_hours=row.training_hours,
        issued_at=row.issued_at,
        issued_on=issued_on(row),
        score=row.score,
        valid=not row.revoked,
        status="dicabut" if row.revoked else "sah",
        revoked_at=row.revoked_at,
        issuer=settings.certificate_issuer,
        verify_url=settings.certificate_url(row.verification_code),
    )


def verification_page(found: CertificateOut) -> str:
    """The public page a QR code opens, in Bahasa Indonesia."""
    e = html.escape
    if found.valid:
        verdict = '<p class="sah">SERTIFIKAT SAH</p><p>Sertifikat ini tercatat dan berlaku.</p>'
    else:
        when = tanggal(found.revoked_at) if found.revoked_at else "-"
        verdict = (
            '<p class="dicabut">SERTIFIKAT DICABUT</p>'
            f"<p>Sertifikat ini telah dicabut pada {e(when)} dan tidak berlaku lagi.</p>"
        )
    facts = [
        ("Nomor sertifikat", found.certificate_number),
        ("Kode verifikasi", found.verification_code),
        ("Nama", found.full_name),
        ("Jabatan", found.position or "-"),
        ("Wilayah", found.place or "-"),
        ("Pelatihan", found.course_title),
        ("Jam pelajaran", f"{found.training_hours} JP" if found.training_hours else "-"),
        ("Tanggal terbit", found.issued_on),
        ("Penerbit", found.issuer),
    ]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in facts)
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verifikasi Sertifikat {e(found.verification_code)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 40rem; }}
.sah {{ color: #1b5e20; font-size: 1.6rem; font-weight: bold; }}
.dicabut {{ color: #b71c1c; font-size: 1.6rem; font-weight: bold; }}
th {{ text-align: left; padding: .25rem 1rem .25rem 0; vertical-align: top; }}
</style></head><body>
<h1>Verifikasi Sertifikat Pelatihan Aparatur Desa</h1>
{verdict}
<table>{rows}</table>
</body></html>"""
