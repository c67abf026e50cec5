"""HTTP edge of the catalog: authoring, publishing, reading courses and lessons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem
from servicekit.runner import Idempotency, IdempotencyKey

from ..domain import commands
from ..store import queries
from .access import AUTHORS, is_author, readable_version, visible_version
from .dependencies import CurrentSettings, UseCases
from .schemas import CourseContentIn, CourseIn, CourseOut, CourseSummary, LessonRead
from .views import authored_view, course_out, course_summary, lesson_out

router = APIRouter(prefix="/v1", tags=["courses"])


@router.post("/courses", status_code=201, response_model=CourseOut)
async def create_course(
    body: CourseIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(*AUTHORS)
    return await runner.respond(
        commands.CreateCourse(body.code, body.to_domain(), principal.subject),
        authored_view(settings.course_budget_bytes),
        status=201,
        idempotency=Idempotency(
            idempotency_key, f"courses:{principal.subject}", body.model_dump(mode="json")
        ),
    )


@router.put("/courses/{course_id}", response_model=CourseOut)
async def revise_course(
    course_id: uuid.UUID,
    body: CourseContentIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
) -> JSONResponse:
    """Edit the draft, or start version N+1 as a draft when the latest one is published. The
    answer shows the course's size on a device against its budget."""
    principal.require(*AUTHORS)
    command = commands.ReviseCourse(course_id, body.to_domain(), frozenset(body.kept_lesson_ids()))
    return await runner.respond(command, authored_view(settings.course_budget_bytes))


@router.post("/courses/{course_id}/publish", response_model=CourseOut)
async def publish_course(
    course_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases, settings: CurrentSettings
) -> JSONResponse:
    """Refused (422 ``course_over_budget``) when a device would carry more than the budget."""
    principal.require(*AUTHORS)
    budget = settings.course_budget_bytes
    return await runner.respond(commands.PublishCourse(course_id, budget), authored_view(budget))


@router.get("/courses", response_model=Page[CourseSummary])
async def list_courses(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CourseSummary]:
    """Authors see drafts too; everybody else sees published courses."""
    drafts = is_author(principal)
    after = cursors.decode("courses", cursor, "code")
    async with runner.read() as conn:
        rows = await queries.catalog_page(
            conn, drafts=drafts, after_code=after["code"] if after else None, limit=limit
        )
    items = [course_summary(r, drafts=drafts) for r in rows[:limit]]
    next_cursor = (
        cursors.encode("courses", code=rows[limit - 1].code) if len(rows) > limit else None
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def get_course(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> CourseOut:
    """Authors: any version. Enrolled learners: their version, with when they completed each
    lesson and what remains. Others: the published outline. Everybody sees what the course
    weighs on a device; authors its budget too."""
    completions = None
    async with runner.read() as conn:
        course, with_content = await visible_version(conn, principal, course_id, version)
        media = await queries.media_of(conn, course_id, course.attachment_ids)
        if with_content and principal.learner_id is not None:
            rows = await queries.progress_of(conn, principal.learner_id, course_id)
            completions = {r.lesson_id: r.completed_at for r in rows}
    budget = settings.course_budget_bytes if is_author(principal) else None
    return course_out(
        course,
        with_content=with_content,
        media=media,
        budget_bytes=budget,
        completions=completions,
    )


@router.get("/courses/{course_id}/lessons/{lesson_id}", response_model=LessonRead)
async def read_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> LessonRead:
    async with runner.read() as conn:
        course = await readable_version(conn, principal, course_id, version)
        completed_at = None
        if principal.learner_id is not None:
            completed_at = await queries.lesson_completed_at(
                conn, principal.learner_id, course_id, lesson_id
            )
    for module in course.modules:
        for lesson in module.lessons:
            if lesson.lesson_id == lesson_id:
                out = lesson_out(lesson, with_content=True)
                out.completed_at = completed_at
                return LessonRead(
                    **out.model_dump(),
                    course_id=course_id,
                    version=course.version,
                    module_id=module.module_id,
                )
    raise Problem(
        404,
        "unknown_lesson",
        f"lesson_id: version {course.version} of this course has no such lesson",
        errors=[{"field": "lesson_id", "message": "not in this course version"}],
    )
