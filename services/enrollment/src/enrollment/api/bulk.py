"""Operations on many learners at once, as background jobs: enroll a region (and positions),
import learners from a CSV or XLSX file. Admins act on the whole country, supervisors on
their region; both answer 202 at once with the job (``api/jobs.py`` follows it)."""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.fields import RegionCode
from servicekit.i18n import current_language
from servicekit.ratelimit import RateLimit
from servicekit.runner import Idempotency, IdempotencyKey

from ..domain import commands
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .dependencies import CurrentSettings, UseCases
from .import_rows import check_rows
from .learners import nik_digest
from .schemas import BulkEnrollmentIn, CohortName, JobOut
from .uploads import read_rows
from .views import job_out

router = APIRouter(prefix="/v1", tags=["bulk"])
bulk_limit = RateLimit("bulk enrollment", per_minute=6, burst=3)
import_limit = RateLimit("learner import", per_minute=10, burst=5)


async def planned(job_id: uuid.UUID, uow: SqlUnitOfWork) -> dict[str, Any]:
    return job_out(await queries.job(uow.conn, job_id)).model_dump(mode="json")


def accepted(response: JSONResponse) -> JSONResponse:
    """The job's address, also when the answer is the first one replayed."""
    if response.status_code == 202:
        response.headers["Location"] = f"/v1/jobs/{json.loads(bytes(response.body))['job_id']}"
    return response


def acting_region(principal: Principal, region_code: str | None) -> str:
    """The region an operation acts on: the one named, if the caller covers it (403 if not),
    else all the caller covers (the country for admins, their region for supervisors)."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    region = region_code if region_code is not None else principal.region_in_view or ""
    principal.require_region(region)
    return region


@router.post(
    "/enrollments/bulk",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(bulk_limit)],
)
async def bulk_enroll(
    body: BulkEnrollmentIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Enroll every learner of a region (optionally only some positions) as a background job:
    admins anywhere, supervisors within their region."""
    acting_region(principal, body.region_code)
    command = commands.StartBulkEnrollment(
        job_id=uuid.uuid4(),
        course_id=body.course_id,
        region_code=body.region_code,
        positions=tuple(body.positions),
        cohort=body.cohort,
        requested_by=principal.subject,
        max_learners=settings.bulk_max_learners,
    )
    guard = Idempotency(idempotency_key, f"bulk:{principal.subject}", body.model_dump(mode="json"))
    return accepted(await runner.respond(command, planned, status=202, idempotency=guard))


@router.post(
    "/learners/import",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(import_limit)],
)
async def import_learners(
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    file: Annotated[
        UploadFile,
        File(
            description="CSV (comma or semicolon, UTF-8) or XLSX: full_name, position, "
            "village_code, and optionally phone, email, nik"
        ),
    ],
    region_code: Annotated[RegionCode | None, Form()] = None,
    course_id: Annotated[uuid.UUID | None, Form()] = None,
    cohort: Annotated[CohortName | None, Form()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register the learners of a file as a background job: each row registered, or found
    already registered (by NIK, else by name, village and position), or skipped with its
    reason; a row outside the caller's region refuses the whole file."""
    region = acting_region(principal, region_code)
    raw = await file.read()  # capped while it streams in (``upload_limits`` in main.py)
    checked = check_rows(
        read_rows(raw, settings.import_max_rows),
        region,
        partial(nik_digest, settings.nik_hash_key),
    )
    command = commands.StartImport(
        job_id=uuid.uuid4(),
        region_code=region,
        rows=tuple(checked.valid),
        refused=tuple(checked.refused),
        requested_by=principal.subject,
        course_id=course_id,
        cohort=cohort,
        language=current_language(),
    )
    request = {
        "file": hashlib.sha256(raw).hexdigest(),
        "region_code": region,
        "course_id": str(course_id) if course_id else None,
        "cohort": cohort,
    }
    guard = Idempotency(idempotency_key, f"import:{principal.subject}", request)
    return accepted(await runner.respond(command, planned, status=202, idempotency=guard))
