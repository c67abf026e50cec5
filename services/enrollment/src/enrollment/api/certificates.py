"""Certificates: public verification, and the printable PDF for its owner and admins."""

from __future__ import annotations

from fastapi import APIRouter, Response

from servicekit.auth import CurrentPrincipal, Role
from servicekit.problems import Problem

from ..store import queries
from .certificate_pdf import render_certificate
from .dependencies import CurrentSettings, UseCases
from .schemas import CertificateOut
from .views import certificate_out

router = APIRouter(prefix="/v1", tags=["enrollment"])


def normalised_code(code: str) -> str:
    """Codes are read out and typed by hand: any case, and nothing past the longest code."""
    return code.upper()[:16]


@router.get("/certificates/{code}/pdf", response_class=Response)
async def certificate_pdf(
    code: str, principal: CurrentPrincipal, runner: UseCases, settings: CurrentSettings
) -> Response:
    """The printable certificate, for its owner and for admins."""
    async with runner.read() as conn:
        row = await queries.certificate(conn, normalised_code(code))
    if row is None or not (principal.has(Role.ADMIN) or principal.learner_id == row.learner_id):
        raise Problem(404, "certificate_not_found", "no certificate of yours has this code")
    verify_url = settings.certificate_url(row.verification_code)
    pdf = render_certificate(row, verify_url)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="sertifikat-{row.verification_code}.pdf"'
        },
    )


@router.get("/certificates/{code}", response_model=CertificateOut, tags=["public"])
async def verify_certificate(code: str, runner: UseCases, response: Response) -> CertificateOut:
    """Public verification: only what a verifier needs."""
    async with runner.read() as conn:
        row = await queries.certificate(conn, normalised_code(code))
    if row is None:
        raise Problem(404, "certificate_not_found", "no certificate has this verification code")
    response.headers["Cache-Control"] = "public, max-age=300"
    return certificate_out(row)
