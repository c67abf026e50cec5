"""Certificates: public verification (a page for browsers, JSON for API clients), the
printable PDF, lists for learners and supervisors, and revocation by admins."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from servicekit.auth import CurrentPrincipal, Role
from servicekit.openapi import served
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem
from servicekit.runner import View

from ..domain import commands
from ..domain.model import Certificate
from ..settings import EnrollmentSettings
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .certificate_document import render
from .certificate_views import (
    certificate_out,
    number,
    printed,
    signatory,
    verification_page,
    village_of,
)
from .dependencies import CurrentSettings, UseCases
from .enrollments import visible_to
from .schemas import CertificateItem, CertificateOut, RevokeIn

router = APIRouter(prefix="/v1", tags=["certificates"])
NOT_FOUND = "no certificate has this verification code"


# What a person may type for a verification code: letters and digits
CertificateCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]


def normalised_code(code: str) -> str:
    """Codes are read out and typed by hand: any case, and nothing past the longest code."""
    return code.upper()[:16]


def wants_html(accept: str) -> bool:
    """A browser (HTML preferred over JSON) gets the page; API clients and ``*/*`` JSON."""
    html_q = json_q = 0.0
    for media_range in accept.split(","):
        media, _, params = media_range.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, q)
        elif media in ("application/json", "application/*", "*/*"):
            json_q = max(json_q, q)
    return html_q > json_q


@router.get(
    "/certificates/{code}",
    response_model=CertificateOut,
    tags=["public"],
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def verify_certificate(
    code: CertificateCode, request: Request, runner: UseCases, settings: CurrentSettings
) -> Response:
    """Public verification: a page in Bahasa Indonesia for a browser (the QR code opens it),
    JSON otherwise; only what a verifier needs, and plainly whether it was revoked."""
    async with runner.read() as conn:
        row = await queries.certificate(conn, normalised_code(code))
    if row is None:
        raise Problem(404, "certificate_not_found", NOT_FOUND)
    found = certificate_out(row, settings)
    headers = {"Cache-Control": "public, max-age=60", "Vary": "Accept"}
    if wants_html(request.headers.get("accept", "")):
        return HTMLResponse(verification_page(found), headers=headers)
    return JSONResponse(found.model_dump(mode="json"), headers=headers)


@router.get(
    "/certificates/{code}/pdf", response_class=Response, responses=served("application/pdf")
)
async def certificate_pdf(
    code: CertificateCode, principal: CurrentPrincipal, runner: UseCases, settings: CurrentSettings
) -> Response:
    """The printable certificate, for its owner, supervisors of its region and admins."""
    async with runner.read() as conn:
        row = await queries.certificate(conn, normalised_code(code))
    village = village_of(row) if row is not None else None
    if row is None or not principal.may_see_learner(row.learner_id, village or "-"):
        raise Problem(404, "certificate_not_found", "no certificate of yours has this code")
    pdf = render(
        printed(row, settings), signatory(settings), settings.certificate_url(row.verification_code)
    )
    filename = f"sertifikat-{row.verification_code}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def item(row: Any, settings: EnrollmentSettings) -> CertificateItem:
    return CertificateItem(
        verification_code=row.verification_code,
        certificate_number=number(row, settings),
        learner_id=row.learner_id,
        full_name=row.full_name,
        course_id=row.course_id,
        course_title=row.course_title,
        village_code=village_of(row),
        issued_at=row.issued_at,
        valid=not row.revoked,
        revoked_at=row.revoked_at,
        verify_url=settings.certificate_url(row.verification_code),
        pdf_url=settings.certificate_url(row.verification_code, pdf=True),
    )


@router.get("/certificates", response_model=Page[CertificateItem])
async def list_certificates(
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    cursors: PageCursors,
    course_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CertificateItem]:
    """Learners list their own, supervisors their region's, admins all."""
    village_prefix, own_learner_id = visible_to(principal)
    after = cursors.decode("certificates", cursor, "id")
    async with runner.read() as conn:
        rows = await queries.certificates_page(
            conn,
            village_prefix=village_prefix,
            own_learner_id=own_learner_id,
            course_id=course_id,
            after=uuid.UUID(after["id"]) if after else None,
            limit=limit,
        )
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=[item(row, settings) for row in rows[:limit]],
        next_cursor=cursors.encode("certificates", id=str(last.certificate_id)) if last else None,
    )


def revoked_view(settings: EnrollmentSettings) -> View[SqlUnitOfWork]:
    async def view(certificate: Certificate, uow: SqlUnitOfWork) -> dict[str, Any]:
        row = await queries.certificate(uow.conn, certificate.verification_code)
        return certificate_out(row, settings).model_dump(mode="json")

    return view


@router.post("/certificates/{code}/revoke", response_model=CertificateOut)
async def revoke_certificate(
    code: CertificateCode,
    body: RevokeIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
) -> JSONResponse:
    """Revoke with a reason (admins): verifying it says so from now on, and the learner and
    the reports are told (``certificate-revoked``). Revoking twice is refused (409)."""
    principal.require(Role.ADMIN)
    command = commands.RevokeCertificate(normalised_code(code), body.reason, principal.subject)
    return await runner.respond(command, revoked_view(settings))
