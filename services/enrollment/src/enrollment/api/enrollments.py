"""Enrollments: enroll a learner in a course, list, read and withdraw them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.fields import LINE
from servicekit.openapi import problems
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem
from servicekit.runner import Idempotency, IdempotencyKey, View
from servicekit.settings import ServiceSettings

from ..domain import commands
from ..domain.model import Enrollment, EnrollmentStatus
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .access import visible_enrollment, visible_learner
from .dependencies import CurrentSettings, UseCases
from .schemas import EnrollmentIn, EnrollmentOut
from .views import completion_out, enrollment_out

router = APIRouter(prefix="/v1", tags=["enrollment"])
Reason = Annotated[str, Field(max_length=200), LINE]


def shown(settings: ServiceSettings) -> View[SqlUnitOfWork]:
    """An enrollment just enrolled, withdrawn or moved, as the list shows it."""

    async def view(enrollment: Enrollment, uow: SqlUnitOfWork) -> dict[str, Any]:
        row = await queries.enrollment(uow.conn, enrollment.enrollment_id)
        progress = await queries.progress_of(uow.conn, [row])
        out = enrollment_out(row, progress.get(row.enrollment_id, 0), settings)
        return out.model_dump(mode="json")

    return view


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut, responses=problems(404))
async def enroll(
    body: EnrollmentIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async with runner.read() as conn:
        learner = await visible_learner(conn, body.learner_id, principal)
    if principal.learner_id != learner.learner_id:
        principal.require(Role.ADMIN, Role.SUPERVISOR)
    return await runner.respond(
        commands.EnrollLearner(
            learner_id=body.learner_id, course_id=body.course_id, cohort=body.cohort
        ),
        shown(settings),
        status=201,
        idempotency=Idempotency(
            idempotency_key, f"enrollments:{principal.subject}", body.model_dump(mode="json")
        ),
    )


def visible_to(principal: Principal) -> tuple[str | None, uuid.UUID | None]:
    """Whose enrollments the caller sees: all (admin), a region's (the region's code), or only
    their own (their learner id)."""
    if principal.region_in_view is not None:
        return principal.region_in_view, None
    if principal.learner_id:
        return None, principal.learner_id
    raise Problem(403, "forbidden", "no enrollments are visible to you")


@router.get("/enrollments", response_model=Page[EnrollmentOut])
async def list_enrollments(
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    cursors: PageCursors,
    learner_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[EnrollmentOut]:
    region_code, own_learner_id = visible_to(principal)
    after = cursors.decode("enrollments", cursor, "id")
    async with runner.read() as conn:
        rows = await queries.enrollments_page(
            conn,
            region_code=region_code,
            own_learner_id=own_learner_id,
            learner_id=learner_id,
            course_id=course_id,
            status=status,
            after=uuid.UUID(after["id"]) if after else None,
            limit=limit,
        )
        progress = await queries.progress_of(conn, rows[:limit])
    items = [enrollment_out(r, progress.get(r.enrollment_id, 0), settings) for r in rows[:limit]]
    next_cursor = (
        cursors.encode("enrollments", id=str(rows[limit - 1].enrollment_id))
        if len(rows) > limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def get_enrollment(
    enrollment_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
) -> EnrollmentOut:
    async with runner.read() as conn:
        row = await visible_enrollment(conn, enrollment_id, principal)
        progress = await queries.progress_of(conn, [row])
        missing = await queries.completion_of(conn, row)
    found = enrollment_out(row, progress.get(row.enrollment_id, 0), settings)
    return found.model_copy(
        update={"completion": completion_out(EnrollmentStatus(row.status), missing)}
    )


@router.delete("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def withdraw(
    enrollment_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    reason: Annotated[Reason | None, Query()] = None,
) -> JSONResponse:
    async with runner.read() as conn:
        await visible_enrollment(conn, enrollment_id, principal)
    return await runner.respond(commands.Withdraw(enrollment_id, reason), shown(settings))
