"""HTTP edge of progress: one lesson online, or a batch recorded offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.problems import Problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.model import OfflineCompletion, SyncOutcome
from ..store.repository import SqlUnitOfWork
from .access import in_transaction, settings_of
from .schemas import ProgressIn, SyncIn, SyncItemOut, SyncOut

router = APIRouter(prefix="/v1", tags=["progress"])


def learner_of(principal: Principal) -> Any:
    if principal.learner_id is None:
        raise Problem(403, "forbidden", "progress is recorded for the learner in the token")
    return principal.learner_id


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

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        done = await usecases.complete_lesson(
            commands.CompleteLesson(learner_id, body.course_id, body.lesson_id), uow
        )
        assert done.completed_at is not None
        return 201 if done.recorded else 200, {
            "learner_id": str(learner_id),
            "course_id": str(body.course_id),
            "lesson_id": str(body.lesson_id),
            "course_version": done.course_version,
            "completed_at": done.completed_at.isoformat(),
            "recorded": done.recorded,
        }

    return await in_transaction(runtime, work)


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
