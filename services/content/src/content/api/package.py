"""Offline packages: a course version (or one lesson of it, or what changed since an earlier
version) as a zip a device can take where there is no signal.

A package is zipped once and kept (``store/packages.py``), so every download of it is the
same bytes: a download cut off on a 2G link resumes with ``Range`` and ``If-Range`` from the
byte it reached (``api/downloads.py``), and the device checks the whole file against
``Repr-Digest`` and each file inside against the manifest.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.openapi import Responses, problems, served
from servicekit.problems import Problem, field_problem

from ..domain.model import CourseVersion, VersionStatus
from ..domain.packages import PackagePlan, Scope, ScopeKind, delta_scope, plan_package
from ..store import queries
from .access import is_author, readable_version
from .dependencies import Blobs, CurrentSettings, Packages, UseCases
from .downloads import Stored, serve, weak_match

router = APIRouter(prefix="/v1", tags=["offline"])
NOT_MODIFIED: Responses = {304: {"description": "Unchanged since the ETag in If-None-Match"}}
MANIFEST: Responses = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
} | NOT_MODIFIED
# what ``serve`` answers (api/downloads.py): the package, a range of it, 304, a failed
# If-Match (412), a range it cannot serve (416); and a package over the cap (413)
ZIP: Responses = (
    served("application/zip", description="The package")
    | served("application/zip", status=206, description="The requested range of the package")
    | NOT_MODIFIED
    | problems(412, 413, 416)
)
# a version number as the database keeps it (a 32-bit integer)
MAX_VERSION = 1_000_000
Version = Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="authors: any version")]
Since = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_VERSION,
        description="a delta: only the lessons that changed since this version",
    ),
]


async def _plan(
    runner: UseCases,
    principal: Principal,
    course_id: uuid.UUID,
    version: int | None,
    since: int | None = None,
    lesson_id: uuid.UUID | None = None,
) -> PackagePlan:
    async with runner.read() as conn:
        course = await readable_version(conn, principal, course_id, version)
        media = await queries.media_of(conn, course_id, course.attachment_ids)
        if lesson_id is not None:
            if course.lesson(lesson_id) is None:
                raise field_problem(
                    "lesson_id", "not a lesson of this course version", "unknown_lesson", 404
                )
            return plan_package(course, media, Scope(ScopeKind.LESSON, lesson_ids=(lesson_id,)))
        if since is None:
            return plan_package(course, media)
        base = await _base_version(conn, principal, course, since)
        base_media = await queries.media_of(conn, course_id, base.attachment_ids)
    return plan_package(course, media, delta_scope(base, base_media, course, media))


async def _base_version(
    conn: AsyncConnection, principal: Principal, course: CourseVersion, since: int
) -> CourseVersion:
    """An earlier version the device holds: published, unless an author asks."""
    base = None
    if since <= course.version:
        base = await queries.load_version(conn, course.course_id, since)
    if base is None or (base.status != VersionStatus.PUBLISHED and not is_author(principal)):
        raise field_problem(
            "since",
            "not a published earlier version of this course",
            "unknown_base_version",
        )
    return base


async def _stored(plan: PackagePlan, packages: Packages, settings: CurrentSettings) -> Stored:
    cap = settings.package_max_bytes
    if plan.content_bytes > cap:
        raise Problem(
            413,
            "package_too_large",
            f"this package would exceed {cap} bytes",
            max_bytes=cap,
            content_bytes=plan.content_bytes,
        )
    built = await packages.ensure(plan)
    return Stored(built.sha256, built.size_bytes, built.sha256, "application/zip")


def _filename(plan: PackagePlan) -> str:
    course = plan.course
    name = f"{course.code}-v{course.version}"
    if plan.scope.kind == ScopeKind.LESSON:
        name += f"-{plan.scope.lesson_ids[0]}"
    elif plan.scope.kind == ScopeKind.DELTA:
        name = f"{course.code}-v{plan.scope.base_version}-v{course.version}"
    return f"{name}.zip"


def _answer(request: Request, plan: PackagePlan, stored: Stored, blobs: Blobs) -> Response:
    headers = {
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'attachment; filename="{_filename(plan)}"',
        "X-Package-SHA256": stored.sha256,
        "X-Content-Bytes": str(plan.content_bytes),
    }
    return serve(request, stored, blobs, headers, changed_code="package_changed")


@router.get("/courses/{course_id}/package/manifest", responses=MANIFEST, response_model=None)
@router.head("/courses/{course_id}/package/manifest", responses=MANIFEST, response_model=None)
async def package_manifest(
    course_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    version: Version = None,
    since: Since = None,
) -> Response:
    """The manifest alone: is the package on the device still current, and what would a
    download hold?"""
    plan = await _plan(runner, principal, course_id, version, since)
    # weak: the same manifest may travel compressed one time and not the next
    headers = {"ETag": f'W/"{plan.key}"', "Cache-Control": "private, no-cache"}
    if weak_match(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(plan.manifest, media_type="application/json", headers=headers)


@router.get("/courses/{course_id}/package", responses=ZIP, response_model=None)
@router.head("/courses/{course_id}/package", responses=ZIP, response_model=None)
async def course_package(
    course_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    blobs: Blobs,
    packages: Packages,
    version: Version = None,
    since: Since = None,
) -> Response:
    """Enrolled learners get their version; authors the latest (or ``?version=``). With
    ``?since=``, only the lessons that changed since that version (and those removed, in the
    manifest's ``scope``)."""
    plan = await _plan(runner, principal, course_id, version, since)
    return _answer(request, plan, await _stored(plan, packages, settings), blobs)


@router.get("/courses/{course_id}/lessons/{lesson_id}/package", responses=ZIP, response_model=None)
@router.head("/courses/{course_id}/lessons/{lesson_id}/package", responses=ZIP, response_model=None)
async def lesson_package(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    blobs: Blobs,
    packages: Packages,
    version: Version = None,
) -> Response:
    """One lesson with its media, and the whole outline: a course taken lesson by lesson."""
    plan = await _plan(runner, principal, course_id, version, lesson_id=lesson_id)
    return _answer(request, plan, await _stored(plan, packages, settings), blobs)
