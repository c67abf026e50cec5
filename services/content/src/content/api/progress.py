"""HTTP edge of progress: one lesson online, or a batch recorded offline."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.i18n import field_message
from servicekit.problems import Problem

from ..domain import commands
from ..domain.model import OfflineCompletion, SyncResult
from ..store import queries
from .dependencies import CurrentSettings, UseCases
from .schemas import ProgressIn, ProgressOut, SyncIn, SyncOut
from .views import completion_json, progress_out, sync_out

router = APIRouter(prefix="/v1", tags=["progress"])


def learner_of(principal: Principal) -> Any:
    if principal.learner_id is None:
        raise Problem(403, "forbidden", "progress is recorded for the learner in the token")
    return principal.learner_id


@router.get("/progress", response_model=ProgressOut)
async def my_progress(
    course_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> ProgressOut:
    """The lessons the learner in the token has completed in a course (a device reconciles)."""
    learner_id = learner_of(principal)
    async with runner.read() as conn:
        rows = await queries.progress_of(conn, learner_id, course_id)
    return progress_out(learner_id, course_id, rows)


@router.post(
    "/progress",
    status_code=201,
    responses={200: {"description": "already recorded; nothing changed"}},
)
async def complete_lesson(
    body: ProgressIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """201 the first time, 200 on every repeat; lesson-completed is emitted only once."""
    learner_id = learner_of(principal)
    command = commands.CompleteLesson(learner_id, body.course_id, body.lesson_id)
    done = await runner.execute(command, autocommit=True)
    return JSONResponse(
        completion_json(learner_id, body.course_id, body.lesson_id, done),
        status_code=201 if done.recorded else 200,
    )


@router.post("/progress/sync", response_model=SyncOut)
async def sync_progress(
    body: SyncIn, principal: CurrentPrincipal, runner: UseCases, settings: CurrentSettings
) -> JSONResponse:
    """Apply completions recorded offline, each client id once; a result for every item."""
    learner_id = learner_of(principal)
    cap = settings.sync_max_items
    if len(body.items) > cap:
        raise Problem(
            413,
            "batch_too_large",
            f"items: at most {cap} items per sync; send the rest in another batch",
            errors=[{"field": "items", "message": field_message("at most {n} items", n=cap)}],
            max_items=cap,
        )
    items = tuple(
        OfflineCompletion(x.client_id, x.course_id, x.lesson_id, x.completed_at) for x in body.items
    )

    def synced(results: list[SyncResult], _: Any) -> dict[str, Any]:
        return sync_out(learner_id, results).model_dump(mode="json")

    return await runner.respond(commands.SyncProgress(learner_id, items), synced)
