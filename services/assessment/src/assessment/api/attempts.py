"""HTTP edge: learners starting and submitting attempts; results for them and their coaches."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.model import Answer, AssessmentKind, AttemptStatus
from ..store.repository import SqlUnitOfWork
from ..store.rows import attempt_from_row
from ..store.tables import assessments, attempts
from .edge import (
    AUTHORS,
    attempt_out,
    cache_of,
    cursor_id,
    grace_of,
    in_transaction,
    learner_of,
    now_of,
    result_out,
    shown_status,
)
from .schemas import (
    AttemptOut,
    ResultOut,
    SubmissionIn,
)

router = APIRouter(prefix="/v1", tags=["attempts"])


@router.post(
    "/assessments/{assessment_id}/attempts",
    status_code=201,
    response_model=AttemptOut,
    responses={200: {"description": "the attempt already in progress, resumed"}},
)
async def start_attempt(
    assessment_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    learner_id, now = learner_of(principal), now_of(request)
    command = commands.StartAttempt(assessment_id, learner_id)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        attempt, created = await usecases.start_attempt(command, uow, now, secrets.randbits(62))
        assessment = await uow.get_assessment(assessment_id)
        assert assessment is not None
        body = attempt_out(attempt, assessment, attempt.status).model_dump(mode="json")
        return (201 if created else 200), body

    return await in_transaction(runtime, work)


@router.post("/attempts/{attempt_id}/submit", response_model=ResultOut)
async def submit_attempt(
    attempt_id: uuid.UUID,
    body: SubmissionIn,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Graded once; a repeat returns the first result. Too late: 409 ``attempt_expired``."""
    learner_id, now, grace = learner_of(principal), now_of(request), grace_of(runtime)
    command = commands.SubmitAttempt(
        attempt_id,
        learner_id,
        tuple(
            Answer(
                question_id=a.question_id,
                option_ids=tuple(a.option_ids) if a.option_ids is not None else None,
                value=a.value,
                text=a.text,
            )
            for a in body.answers
        ),
    )

    results: list[ResultOut] = []

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        attempt = await usecases.submit_attempt(command, uow, now, grace)
        assessment = await uow.get_assessment(attempt.assessment_id)
        assert assessment is not None
        results.append(result_out(attempt, assessment, attempt.status))
        return 200, results[-1].model_dump(mode="json")

    response = await in_transaction(runtime, work)
    result = results[-1]
    if result.status == AttemptStatus.EXPIRED:
        # committed as zero already: a repeat gets the same answer
        raise Problem(
            409,
            "attempt_expired",
            "the time limit of this attempt has passed; it counts as zero",
            result=result.model_dump(mode="json"),
        )
    return response


def may_see_attempt(principal: Principal, learner_id: uuid.UUID, village_code: str) -> bool:
    return principal.has(*AUTHORS) or principal.may_see_learner(learner_id, village_code)


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
async def get_attempt(
    attempt_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AttemptOut:
    async with runtime.database.transaction() as tx:
        uow = SqlUnitOfWork(tx, cache=cache_of(runtime))
        attempt = await uow.get_attempt(attempt_id)
        if attempt is None or not may_see_attempt(
            principal, attempt.learner_id, attempt.village_code
        ):
            raise Problem(404, "attempt_not_found", "no attempt with this id is visible to you")
        assessment = await uow.get_assessment(attempt.assessment_id)
    assert assessment is not None
    status = shown_status(attempt, now_of(request), grace_of(runtime))
    return attempt_out(attempt, assessment, status)


@router.get("/attempts", response_model=Page[ResultOut])
async def list_attempts(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    assessment_id: uuid.UUID | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ResultOut]:
    """Learners see their own attempts, supervisors those in their region, authors all."""
    query = (
        select(attempts, assessments.c.kind, assessments.c.pass_score)
        .join(assessments, assessments.c.assessment_id == attempts.c.assessment_id)
        .order_by(attempts.c.attempt_id)
        .limit(limit + 1)
    )
    if not principal.has(*AUTHORS):
        if principal.has(Role.SUPERVISOR) and principal.region_code:
            query = query.where(attempts.c.village_code.startswith(principal.region_code))
        else:
            query = query.where(attempts.c.learner_id == learner_of(principal))
    if assessment_id:
        query = query.where(attempts.c.assessment_id == assessment_id)
    if learner_id:
        query = query.where(attempts.c.learner_id == learner_id)
    after = decode_cursor(cursor)
    if after:
        query = query.where(attempts.c.attempt_id > cursor_id(after))
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    now, grace = now_of(request), grace_of(runtime)
    items = []
    for row in rows[:limit]:
        attempt = attempt_from_row(row)
        items.append(
            ResultOut(
                attempt_id=attempt.attempt_id,
                assessment_id=attempt.assessment_id,
                assessment_kind=AssessmentKind(row.kind),
                learner_id=attempt.learner_id,
                attempt_number=attempt.attempt_number,
                status=shown_status(attempt, now, grace),
                score=attempt.score,
                pass_score=row.pass_score,
                passed=attempt.passed,
                points=attempt.points,
                max_points=attempt.max_points,
                graded_at=attempt.graded_at,
            )
        )
    next_cursor = (
        encode_cursor({"id": str(rows[limit - 1].attempt_id)}) if len(rows) > limit else None
    )
    return Page(items=items, next_cursor=next_cursor)
