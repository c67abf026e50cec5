"""HTTP edge of the catalog: authoring, publishing, reading courses and lessons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem
from servicekit.runner import Idempotency, IdempotencyKey

from ..domain import commands
from ..store import queries
from .access import AUTHORS, is_author, readable_version, visible_version
from .dependencies import UseCases
from .schemas import CourseContentIn, CourseIn, CourseOut, CourseSummary, LessonRead
from .views import course_json, course_out, course_summary, lesson_out

router = APIRouter(prefix="/v1", tags=["courses"])


@router.post("/courses", status_code=201, response_model=CourseOut)
async def create_course(
    body: CourseIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(*AUTHORS)
    return await runner.respond(
        commands.CreateCourse(body.code, body.to_domain(), principal.subject),
        course_json,
        status=201,
        idempotency=Idempotency(
            idempotency_key, f"courses:{principal.subject}", body.model_dump(mode="json")
        ),
    )


@router.put("/courses/{course_id}", response_model=CourseOut)
async def revise_course(
    course_id: uuid.UUID, body: CourseContentIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """Edit the draft, or start version N+1 as a draft when the latest one is published."""
    principal.require(*AUTHORS)
    command = commands.ReviseCourse(course_id, body.to_domain(), frozenset(body.kept_lesson_ids()))
    return await runner.respond(command, course_json)


@router.post("/courses/{course_id}/publish", response_model=CourseOut)
async def publish_course(
    course_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    principal.require(*AUTHORS)
    return await runner.respond(commands.PublishCourse(course_id), course_json)


@router.get("/courses", response_model=Page[CourseSummary])
async def list_courses(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CourseSummary]:
    """Authors see drafts too; everybody else sees published courses."""
    drafts = is_author(principal)
    after = decode_cursor(cursor)
    async with runner.read() as conn:
        rows = await queries.catalog_page(
            conn, drafts=drafts, after_code=str(after.get("code")) if after else None, limit=limit
        )
    items = [course_summary(r, drafts=drafts) for r in rows[:limit]]
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def get_course(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> CourseOut:
    """Authors: any version. Enrolled learners: their version. Others: the published outline."""
    async with runner.read() as conn:
        course, with_content = await visible_version(conn, principal, course_id, version)
    return course_out(course, with_content=with_content)


@router.get("/courses/{course_id}/lessons/{lesson_id}", response_model=LessonRead)
async def read_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    version: Annotated[int | None, Query(ge=1)] = None,
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
                return LessonRead(
                    **out.model_dump(),
                    course_id=course_id,
                    version=course.version,
                    module_id=module.module_id,
                    completed_at=completed_at,
                )
    raise Problem(
        404,
        "unknown_lesson",
        f"lesson_id: version {course.version} of this course has no such lesson",
        errors=[{"field": "lesson_id", "message": "not in this course version"}],
    )
