"""Who may read which version of a course: authors any, learners the one they are enrolled
in, everybody else its published outline at most."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import Principal, Role
from servicekit.problems import Problem, field_problem

from ..domain.errors import UnknownCourse
from ..domain.model import CourseVersion
from ..store.queries import enrolled_version, load_version

AUTHORS = (Role.INSTRUCTOR, Role.ADMIN)


def is_author(principal: Principal) -> bool:
    return principal.has(*AUTHORS)


async def readable_version(
    conn: AsyncConnection, principal: Principal, course_id: uuid.UUID, version: int | None
) -> CourseVersion:
    """The version whose content the caller may read: authors any (latest by default),
    learners the one they are enrolled in; everybody else is refused."""
    if is_author(principal):
        course = await load_version(conn, course_id, version)
        if course is None:
            raise _missing(course_id, version)
        return course
    enrolled = await enrolled_version(conn, principal.learner_id, course_id)
    if enrolled is None:
        if await load_version(conn, course_id, published_only=True) is None:
            raise UnknownCourse(str(course_id))
        raise Problem(403, "not_enrolled", "only learners enrolled in this course may read it")
    if version is not None and version != enrolled:
        raise Problem(403, "not_enrolled", f"you are enrolled in version {enrolled} of this course")
    course = await load_version(conn, course_id, enrolled)
    if course is None:
        raise UnknownCourse(str(course_id))
    return course


async def visible_version(
    conn: AsyncConnection, principal: Principal, course_id: uuid.UUID, version: int | None
) -> tuple[CourseVersion, bool]:
    """The version the caller may see and whether with its lessons' content: authors any,
    enrolled learners theirs, everybody else a published outline."""
    if is_author(principal):
        return await readable_version(conn, principal, course_id, version), True
    enrolled = await enrolled_version(conn, principal.learner_id, course_id)
    if enrolled is not None and version in (None, enrolled):
        course = await load_version(conn, course_id, enrolled)
        with_content = True
    else:
        course = await load_version(conn, course_id, version, published_only=True)
        with_content = False
    if course is None:
        raise Problem(404, "unknown_course", "no published course has this id and version")
    return course, with_content


def _missing(course_id: uuid.UUID, version: int | None) -> Exception:
    if version is None:
        return UnknownCourse(str(course_id))
    return field_problem("version", "this course has no such version", "unknown_version", 404)
