"""Offline packages: one course version as a zip a device can take where there is no signal.

The zip holds ``manifest.json`` (the outline, and the path, size and SHA-256 of every other
file), ``lessons/<lesson_id>.json`` and ``attachments/<attachment_id>/<filename>``. It is
built deterministically, so the same version always gives the same bytes; its ETag is the
manifest's SHA-256, which a device can compare (``If-None-Match``, or the manifest alone at
``/package/manifest``) before downloading again over a slow link.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import uuid
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.fields import HeaderValue
from servicekit.openapi import Responses, served
from servicekit.problems import Problem
from servicekit.runner import Runner

from ..domain.model import CourseVersion
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .access import readable_version
from .attachments import etag_matches
from .dependencies import Blobs, CurrentSettings, UseCases

router = APIRouter(prefix="/v1", tags=["offline"])
NOT_MODIFIED: Responses = {304: {"description": "Unchanged since the ETag in If-None-Match"}}
FORMAT = "lms-offline-package/1"
EPOCH = (1980, 1, 1, 0, 0, 0)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode()


def lesson_files(course: CourseVersion) -> dict[str, bytes]:
    files = {}
    for module in course.modules:
        for lesson in module.lessons:
            files[f"lessons/{lesson.lesson_id}.json"] = _json_bytes(
                {
                    "lesson_id": str(lesson.lesson_id),
                    "module_id": str(module.module_id),
                    "title": lesson.title,
                    "kind": lesson.kind.value,
                    "required": lesson.required,
                    "body": lesson.body,
                    "url": lesson.url,
                    "duration_seconds": lesson.duration_seconds,
                    "attachment_id": str(lesson.attachment_id) if lesson.attachment_id else None,
                }
            )
    return files


def attachment_path(row: Any) -> str:
    """Where a document goes in the zip: under its own id, by a name that cannot leave that
    folder whatever was stored."""
    name = row.filename.replace("/", "_").replace("\\", "_")
    if not name.strip(" ."):
        name = "dokumen"
    return f"attachments/{row.attachment_id}/{name}"


def build_manifest(
    course: CourseVersion, lessons: dict[str, bytes], attached: list[Any]
) -> dict[str, Any]:
    files = [
        {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
        for path, data in sorted(lessons.items())
    ] + [
        {
            "path": attachment_path(row),
            "sha256": row.sha256,
            "size_bytes": row.size_bytes,
            "media_type": row.media_type,
        }
        for row in sorted(attached, key=lambda r: str(r.attachment_id))
    ]
    return {
        "format": FORMAT,
        "course_id": str(course.course_id),
        "code": course.code,
        "version": course.version,
        "status": course.status.value,
        "title": course.title,
        "description": course.description,
        "competency_area": course.competency_area,
        "published_at": course.published_at.isoformat() if course.published_at else None,
        "modules": [
            {
                "module_id": str(m.module_id),
                "title": m.title,
                "lessons": [
                    {
                        "lesson_id": str(x.lesson_id),
                        "title": x.title,
                        "kind": x.kind.value,
                        "required": x.required,
                        "path": f"lessons/{x.lesson_id}.json",
                    }
                    for x in m.lessons
                ],
            }
            for m in course.modules
        ],
        "required_lesson_ids": [str(x) for x in course.required_lesson_ids],
        "files": files,
    }


async def _prepare(
    runner: Runner[SqlUnitOfWork],
    principal: Principal,
    course_id: uuid.UUID,
    version: int | None,
) -> tuple[CourseVersion, dict[str, bytes], list[Any], bytes]:
    async with runner.read() as conn:
        course = await readable_version(conn, principal, course_id, version)
        attached = list(await queries.attachments_in(conn, course_id, course.attachment_ids))
    lessons = lesson_files(course)
    manifest = _json_bytes(build_manifest(course, lessons, attached))
    return course, lessons, attached, manifest


def _etag(manifest: bytes) -> str:
    return f'"{hashlib.sha256(manifest).hexdigest()}"'


@router.get(
    "/courses/{course_id}/package/manifest",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}}
    | NOT_MODIFIED,
)
async def package_manifest(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    if_none_match: Annotated[HeaderValue | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The manifest alone: is the package on the device still current?"""
    _, _, _, manifest = await _prepare(runner, principal, course_id, version)
    headers = {"ETag": _etag(manifest), "Cache-Control": "private, no-cache"}
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(manifest, media_type="application/json", headers=headers)


@router.get(
    "/courses/{course_id}/package",
    responses=served("application/zip", description="The package") | NOT_MODIFIED,
)
async def course_package(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    blobs: Blobs,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    if_none_match: Annotated[HeaderValue | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """Enrolled learners get their version; authors the latest (or ``?version=``)."""
    course, lessons, attached, manifest = await _prepare(runner, principal, course_id, version)
    etag = _etag(manifest)
    filename = f"{course.code}-v{course.version}.zip"
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    cap = settings.package_max_bytes
    if sum(int(r.size_bytes) for r in attached) > cap:
        raise Problem(413, "package_too_large", f"this package would exceed {cap} bytes")
    files = [("manifest.json", manifest), *sorted(lessons.items())]
    for row in sorted(attached, key=lambda r: str(r.attachment_id)):
        chunks = [c async for c in blobs.read(row.sha256, 0, row.size_bytes - 1)]
        files.append((attachment_path(row), b"".join(chunks)))
    body = await asyncio.to_thread(zip_files, files)
    digest = hashlib.sha256(body)
    headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
    headers["X-Package-SHA256"] = digest.hexdigest()
    return Response(body, media_type="application/zip", headers=headers)


def zip_files(files: list[tuple[str, bytes]]) -> bytes:
    """Fixed timestamps and order: the same files always give the same archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
