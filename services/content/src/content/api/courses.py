"""HTTP edge of the catalog: authoring, publishing, reading courses and lessons."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import and_, select

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.model import VersionStatus
from ..store.repository import SqlUnitOfWork, load_version
from ..store.tables import course_versions, courses, lesson_progress
from .access import AUTHORS, enrolled_version, in_transaction, is_author, readable_version
from .schemas import (
    CourseContentIn,
    CourseIn,
    CourseOut,
    CourseSummary,
    LessonRead,
    MoveIn,
    course_out,
    lesson_out,
)

router = APIRouter(prefix="/v1", tags=["courses"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("/courses", status_code=201, response_model=CourseOut)
async def create_course(
    body: CourseIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(*AUTHORS)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        course = await usecases.create_course(
            commands.CreateCourse(body.code, body.to_domain(), principal.subject), uow
        )
        return 201, course_out(course).model_dump(mode="json")

    key = (
        (f"courses:{principal.subject}", idempotency_key, body.model_dump(mode="json"))
        if idempotency_key
        else None
    )
    return await in_transaction(runtime, work, idempotency=key)


@router.put("/courses/{course_id}", response_model=CourseOut)
async def revise_course(
    course_id: uuid.UUID, body: CourseContentIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Edit the draft, or start version N+1 as a draft when the latest one is published."""
    principal.require(*AUTHORS)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        course = await usecases.revise_course(
            commands.ReviseCourse(course_id, body.to_domain()), uow, body.kept_lesson_ids()
        )
        return 200, course_out(course).model_dump(mode="json")

    return await in_transaction(runtime, work)


@router.post("/courses/{course_id}/publish", response_model=CourseOut)
async def publish_course(
    course_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    principal.require(*AUTHORS)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        course = await usecases.publish_course(commands.PublishCourse(course_id), uow)
        return 200, course_out(course).model_dump(mode="json")

    return await in_transaction(runtime, work)


@router.get("/courses", response_model=Page[CourseSummary])
async def list_courses(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CourseSummary]:
    """Authors see drafts too; everybody else sees published courses."""
    query = (
        select(
            courses,
            course_versions.c.title,
            course_versions.c.competency_area,
            course_versions.c.status,
        )
        .join(
            course_versions,
            and_(
                course_versions.c.course_id == courses.c.course_id,
                course_versions.c.version
                == (
                    courses.c.latest_version
                    if is_author(principal)
                    else courses.c.published_version
                ),
            ),
        )
        .order_by(courses.c.code)
        .limit(limit + 1)
    )
    after = decode_cursor(cursor)
    if after:
        query = query.where(courses.c.code > str(after.get("code")))
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    items = [
        CourseSummary(
            course_id=r.course_id,
            code=r.code,
            title=r.title,
            competency_area=r.competency_area,
            latest_version=r.latest_version if is_author(principal) else r.published_version,
            published_version=r.published_version,
            status=VersionStatus(r.status),
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def get_course(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> CourseOut:
    """Authors: any version. Enrolled learners: their version. Others: the published outline."""
    async with runtime.database.read() as conn:
        if is_author(principal):
            return course_out(await readable_version(conn, principal, course_id, version))
        enrolled = await enrolled_version(conn, principal.learner_id, course_id)
        if enrolled is not None and version in (None, enrolled):
            course = await load_version(conn, course_id, enrolled)
            with_content = True
        else:
            course = await load_version(conn, course_id, version, published_only=True)
            with_content = False
    if course is None:
        raise Problem(404, "unknown_course", "no published course has this id and version")
    return course_out(course, with_content=with_content)


@router.get("/courses/{course_id}/lessons/{lesson_id}", response_model=LessonRead)
async def read_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> LessonRead:
    async with runtime.database.read() as conn:
        course = await readable_version(conn, principal, course_id, version)
        completed_at = None
        if principal.learner_id is not None:
            completed_at = (
                await conn.execute(
                    select(lesson_progress.c.completed_at).where(
                        lesson_progress.c.learner_id == principal.learner_id,
                        lesson_progress.c.course_id == course_id,
                        lesson_progress.c.lesson_id == lesson_id,
                    )
                )
            ).scalar_one_or_none()
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


@router.put("/courses/{course_id}/learners/{learner_id}/version")
async def move_learner(
    course_id: uuid.UUID,
    learner_id: uuid.UUID,
    body: MoveIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Move an enrolled learner to another published version (they keep theirs otherwise)."""
    principal.require(Role.ADMIN, Role.INSTRUCTOR)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        await usecases.move_learner(commands.MoveLearner(learner_id, course_id, body.version), uow)
        return 200, {
            "learner_id": str(learner_id),
            "course_id": str(course_id),
            "version": body.version,
        }

    return await in_transaction(runtime, work)
