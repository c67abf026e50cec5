"""Bulk operations: enroll a whole region as a background job, import learners from CSV."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from servicekit import regions
from servicekit.auth import CurrentPrincipal, Role
from servicekit.fields import RegionCode
from servicekit.i18n import field_message, validation_message
from servicekit.problems import Problem, field_problem
from servicekit.ratelimit import RateLimit

from ..domain import commands
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .dependencies import CurrentSettings, UseCases
from .schemas import BulkEnrollmentIn, JobOut, LearnerIn
from .views import job_out

router = APIRouter(prefix="/v1", tags=["bulk"])
bulk_limit = RateLimit("bulk enrollment", per_minute=6, burst=3)
import_limit = RateLimit("CSV import", per_minute=10, burst=5)
MAX_CSV_ROWS = 5000
MAX_CSV_BYTES = 2_000_000


async def planned(job_id: uuid.UUID, uow: SqlUnitOfWork) -> dict[str, Any]:
    return job_out(await queries.job(uow.conn, job_id)).model_dump(mode="json")


@router.post(
    "/enrollments/bulk",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(bulk_limit)],
)
async def bulk_enroll(
    body: BulkEnrollmentIn, principal: CurrentPrincipal, runner: UseCases, settings: CurrentSettings
) -> JSONResponse:
    """Enroll every learner of a region (optionally only some positions) as a background job."""
    principal.require(Role.ADMIN)
    command = commands.StartBulkEnrollment(
        job_id=uuid.uuid4(),
        course_id=body.course_id,
        region_code=body.region_code,
        positions=tuple(body.positions),
        cohort=body.cohort,
        requested_by=principal.subject,
        max_learners=settings.bulk_max_learners,
    )
    response = await runner.respond(command, planned, status=202)
    response.headers["Location"] = f"/v1/jobs/{command.job_id}"
    return response


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases) -> JobOut:
    principal.require(Role.ADMIN)
    async with runner.read() as conn:
        row = await queries.job(conn, job_id)
    if row is None:
        raise Problem(404, "job_not_found", "no job has this id")
    return job_out(row)


def read_csv(raw: bytes) -> list[dict[str, str]]:
    try:
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise field_problem("file", field_message("not a UTF-8 CSV file")) from exc
    if len(rows) > MAX_CSV_ROWS:
        raise field_problem("file", field_message("at most {n} rows per upload", n=MAX_CSV_ROWS))
    return rows


def learners_of(
    rows: list[dict[str, str]], region_code: str
) -> tuple[list[tuple[int, commands.RegisterLearner]], list[dict[str, Any]]]:
    """The rows that describe a learner of the region (by row number, the header being row
    1), and what is wrong with each of the others."""
    valid: list[tuple[int, commands.RegisterLearner]] = []
    errors: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=2):
        fields = {k.strip(): (v or "").strip() or None for k, v in row.items() if k}
        try:
            learner = LearnerIn.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            errors += [
                {
                    "row": number,
                    "field": ".".join(str(p) for p in e["loc"]) or "row",
                    "message": validation_message(e),
                }
                for e in exc.errors()
            ]
            continue
        if not regions.within(learner.village_code, region_code):
            errors.append(
                {
                    "row": number,
                    "field": "village_code",
                    "message": field_message(
                        "outside region {region_code}", region_code=region_code
                    ),
                }
            )
            continue
        valid.append((number, registration(learner)))
    return valid, errors


def registration(learner: LearnerIn) -> commands.RegisterLearner:
    return commands.RegisterLearner(
        full_name=learner.full_name,
        position=learner.position,
        village_code=learner.village_code,
        phone=learner.phone,
        email=learner.email,
    )


@router.post("/learners/import", dependencies=[Depends(import_limit)])
async def import_learners(
    principal: CurrentPrincipal,
    runner: UseCases,
    file: Annotated[
        UploadFile, File(description="CSV: full_name,position,village_code,phone,email")
    ],
    region_code: Annotated[RegionCode, Form()],
    course_id: Annotated[uuid.UUID | None, Form()] = None,
) -> dict[str, Any]:
    """Register learners of a region from CSV; invalid rows are reported, valid ones kept."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    principal.require_region(region_code)
    raw = await file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise Problem(413, "payload_too_large", f"the CSV exceeds {MAX_CSV_BYTES} bytes")
    rows = read_csv(raw)
    valid, errors = learners_of(rows, region_code)
    imported = await runner.execute(commands.ImportLearners(tuple(valid), course_id))
    errors += [
        {"row": number, "field": "course_id", "message": message}
        for number, message in imported.refused
    ]
    return {
        "rows": len(rows),
        "created": imported.created,
        "enrolled": imported.enrolled,
        "errors": sorted(errors, key=lambda e: e["row"]),
    }
