"""Who may see what, domain refusals as problems, and the transaction around a use case."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import Principal, Role
from servicekit.idempotency import fingerprint
from servicekit.problems import Problem, field_problem
from servicekit.service import Runtime

from ..domain.errors import (
    CourseCodeTaken,
    CourseNotPublishable,
    DomainError,
    InvalidLesson,
    LessonNotInVersion,
    NotEnrolled,
    UnknownCourse,
    UnknownLesson,
    UnknownVersion,
    VersionImmutable,
)
from ..domain.model import CourseVersion
from ..settings import ContentSettings
from ..store.repository import SqlUnitOfWork, load_version
from ..store.tables import enrollments

AUTHORS = (Role.INSTRUCTOR, Role.ADMIN)


def settings_of(runtime: Runtime) -> ContentSettings:
    return cast(ContentSettings, runtime.settings)


def is_author(principal: Principal) -> bool:
    return principal.has(*AUTHORS)


def domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, UnknownCourse):
        return field_problem("course_id", "no course has this id", "unknown_course", 404)
    if isinstance(exc, UnknownLesson):
        return field_problem(
            "lesson_id", "no lesson of this course has this id", "unknown_lesson", 404
        )
    if isinstance(exc, LessonNotInVersion):
        return field_problem("lesson_id", str(exc), "lesson_not_in_version", 422)
    if isinstance(exc, UnknownVersion):
        return field_problem("version", str(exc), "unknown_version", 422)
    if isinstance(exc, NotEnrolled):
        return Problem(403, "not_enrolled", str(exc))
    if isinstance(exc, InvalidLesson):
        return field_problem(exc.field, exc.message, "invalid_lesson")
    if isinstance(exc, CourseCodeTaken):
        return field_problem("code", str(exc), "course_code_taken", 409)
    if isinstance(exc, VersionImmutable):
        return Problem(409, "version_published", str(exc))
    if isinstance(exc, CourseNotPublishable):
        return Problem(422, "course_not_publishable", str(exc))
    return Problem(409, "conflict", str(exc))


async def in_transaction(
    runtime: Runtime,
    work: Callable[[SqlUnitOfWork], Awaitable[tuple[int, Any]]],
    *,
    idempotency: tuple[str, str, Any] | None = None,
) -> JSONResponse:
    """Run ``work`` and emit its events in one transaction; with an ``Idempotency-Key``
    (scope, key, body), a repeat gets the first answer again."""
    try:
        async with runtime.database.transaction() as tx:
            if idempotency is not None:
                scope, key, body = idempotency
                stored = await runtime.idempotency.replay(tx.conn, scope, key, fingerprint(body))
                if stored is not None:
                    return JSONResponse(stored[1], status_code=stored[0])
            uow = SqlUnitOfWork(tx)
            status, result = await work(uow)
            await uow.flush_events()
            if idempotency is not None:
                await runtime.idempotency.remember(
                    tx.conn, scope, key, fingerprint(body), status, result
                )
    except DomainError as exc:
        raise domain_problem(exc) from exc
    return JSONResponse(result, status_code=status)


async def enrolled_version(
    conn: AsyncConnection, learner_id: uuid.UUID | None, course_id: uuid.UUID
) -> int | None:
    """The course version the learner is enrolled in, if they are."""
    if learner_id is None:
        return None
    return (
        await conn.execute(
            select(enrollments.c.course_version)
            .where(
                enrollments.c.learner_id == learner_id,
                enrollments.c.course_id == course_id,
                enrollments.c.withdrawn_at.is_(None),
                enrollments.c.course_version.is_not(None),
            )
            .order_by(enrollments.c.enrolled_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def readable_version(
    conn: AsyncConnection, principal: Principal, course_id: uuid.UUID, version: int | None
) -> CourseVersion:
    """The version whose content the caller may read: authors any (latest by default),
    learners the one they are enrolled in; everybody else is refused."""
    if is_author(principal):
        course = await load_version(conn, course_id, version)
        if course is None:
            raise _missing(version)
        return course
    enrolled = await enrolled_version(conn, principal.learner_id, course_id)
    if enrolled is None:
        if await load_version(conn, course_id, published_only=True) is None:
            raise domain_problem(UnknownCourse(str(course_id)))
        raise Problem(403, "not_enrolled", "only learners enrolled in this course may read it")
    if version is not None and version != enrolled:
        raise Problem(403, "not_enrolled", f"you are enrolled in version {enrolled} of this course")
    course = await load_version(conn, course_id, enrolled)
    if course is None:
        raise domain_problem(UnknownCourse(str(course_id)))
    return course


def _missing(version: int | None) -> Problem:
    if version is None:
        return field_problem("course_id", "no course has this id", "unknown_course", 404)
    return field_problem("version", "this course has no such version", "unknown_version", 404)
