"""HTTP edge of progress: one lesson online, or a batch recorded offline."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import select

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.database import Transaction
from servicekit.observability import correlation_id_var
from servicekit.problems import Problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.errors import DomainError
from ..domain.model import OfflineCompletion, SyncOutcome
from ..store.repository import SqlUnitOfWork
from ..store.tables import lesson_progress
from .access import domain_problem, in_transaction, settings_of
from .schemas import CompletedLesson, ProgressIn, ProgressOut, SyncIn, SyncItemOut, SyncOut

router = APIRouter(prefix="/v1", tags=["progress"])


def learner_of(principal: Principal) -> Any:
    if principal.learner_id is None:
        raise Problem(403, "forbidden", "progress is recorded for the learner in the token")
    return principal.learner_id


@router.get("/progress", response_model=ProgressOut)
async def my_progress(
    course_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> ProgressOut:
    """The lessons the learner in the token has completed in a course (a device reconciles)."""
    learner_id = learner_of(principal)
    async with runtime.database.read() as conn:
        rows = (
            await conn.execute(
                select(lesson_progress)
                .where(
                    lesson_progress.c.learner_id == learner_id,
                    lesson_progress.c.course_id == course_id,
                )
                .order_by(lesson_progress.c.completed_at)
            )
        ).all()
    return ProgressOut(
        learner_id=learner_id,
        course_id=course_id,
        lessons=[
            CompletedLesson(
                lesson_id=r.lesson_id,
                course_version=r.course_version,
                completed_at=r.completed_at,
                offline=r.offline,
            )
            for r in rows
        ],
    )


@router.post(
    "/progress",
    status_code=201,
    responses={200: {"description": "already recorded; nothing changed"}},
)
async def complete_lesson(
    body: ProgressIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """201 the first time, 200 on every repeat; lesson-completed is emitted only once."""
    learner_id = learner_of(principal)

    command = commands.CompleteLesson(learner_id, body.course_id, body.lesson_id)
    # each statement of this use case is atomic on its own: no BEGIN/COMMIT round trips
    async with runtime.database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        tx = Transaction(conn, runtime.database.outbox, correlation_id_var.get())
        try:
            done = await usecases.complete_lesson(command, SqlUnitOfWork(tx))
        except DomainError as exc:
            raise domain_problem(exc) from exc
    assert done.completed_at is not None
    return JSONResponse(
        {
            "learner_id": str(learner_id),
            "course_id": str(body.course_id),
            "lesson_id": str(body.lesson_id),
            "course_version": done.course_version,
            "completed_at": done.completed_at.isoformat(),
            "recorded": done.recorded,
        },
        status_code=201 if done.recorded else 200,
    )


@router.post("/progress/sync", response_model=SyncOut)
async def sync_progress(
    body: SyncIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Apply completions recorded offline, each client id once; a result for every item."""
    learner_id = learner_of(principal)
    cap = settings_of(runtime).sync_max_items
    if len(body.items) > cap:
        raise Problem(
            413,
            "batch_too_large",
            f"items: at most {cap} items per sync; send the rest in another batch",
            errors=[{"field": "items", "message": f"at most {cap} items"}],
            max_items=cap,
        )
    items = tuple(
        OfflineCompletion(x.client_id, x.course_id, x.lesson_id, x.completed_at) for x in body.items
    )

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        results = await usecases.sync_progress(commands.SyncProgress(learner_id, items), uow)
        counts = dict.fromkeys(SyncOutcome, 0)
        for result in results:
            counts[result.outcome] += 1
        out = SyncOut(
            learner_id=learner_id,
            recorded=counts[SyncOutcome.RECORDED],
            already_recorded=counts[SyncOutcome.ALREADY_RECORDED],
            duplicate=counts[SyncOutcome.DUPLICATE],
            rejected=counts[SyncOutcome.REJECTED],
            items=[
                SyncItemOut(
                    client_id=r.client_id,
                    course_id=r.course_id,
                    lesson_id=r.lesson_id,
                    status=r.outcome,
                    completed_at=r.completed_at,
                    code=r.code,
                    detail=r.detail,
                )
                for r in results
            ],
        )
        return 200, out.model_dump(mode="json")

    return await in_transaction(runtime, work)
