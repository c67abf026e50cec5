"""Documents and media attached to a course: upload with a size cap, download with ranges,
ETags and digests."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal
from servicekit.i18n import field_message
from servicekit.problems import Problem, field_problem

from ..domain import commands
from ..store import queries
from .access import AUTHORS, is_author, readable_version
from .dependencies import Blobs, CurrentSettings, UseCases
from .downloads import Stored, serve
from .schemas import AttachmentOut
from .views import attachment_json, attachment_out

router = APIRouter(prefix="/v1", tags=["attachments"])
FILENAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


def too_large(cap: int) -> Problem:
    return Problem(
        413,
        "attachment_too_large",
        f"attachments are limited to {cap} bytes",
        errors=[{"field": "body", "message": field_message("at most {n} bytes", n=cap)}],
        max_bytes=cap,
    )


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refused as soon as it passes the cap (a declared length is not trusted)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large(cap)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/courses/{course_id}/attachments", status_code=201, response_model=AttachmentOut)
async def upload_attachment(
    course_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    blobs: Blobs,
    filename: Annotated[str, Query(min_length=1, max_length=200)],
    content_type: Annotated[str, Header()] = "application/octet-stream",
) -> JSONResponse:
    """The raw document is the body; its name is ``?filename=`` and its type Content-Type."""
    principal.require(*AUTHORS)
    if not FILENAME.match(filename):
        raise field_problem("filename", "no slashes or control characters")
    cap = settings.attachment_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large(cap)
    async with runner.read() as conn:
        if not await queries.course_exists(conn, course_id):
            raise field_problem("course_id", "no course has this id", "unknown_course", 404)
    data = await read_capped(request, cap)
    if not data:
        raise field_problem("body", "the document is empty", "empty_attachment")
    digest = hashlib.sha256(data).hexdigest()
    await blobs.put(digest, data)
    command = commands.AttachDocument(
        course_id=course_id,
        filename=filename,
        media_type=content_type.split(";")[0].strip()[:100] or "application/octet-stream",
        size_bytes=len(data),
        sha256=digest,
        author=principal.subject,
    )
    return await runner.respond(command, attachment_json, status=201)


@router.get("/courses/{course_id}/attachments", response_model=list[AttachmentOut])
async def list_attachments(
    course_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> list[AttachmentOut]:
    principal.require(*AUTHORS)
    async with runner.read() as conn:
        rows = await queries.attachments_of(conn, course_id)
    return [attachment_out(r) for r in rows]


@router.get("/courses/{course_id}/attachments/{attachment_id}", response_model=None)
@router.head("/courses/{course_id}/attachments/{attachment_id}", response_model=None)
async def download_attachment(
    course_id: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    blobs: Blobs,
) -> Response:
    """Ranges, If-Range, If-Match, If-None-Match, Repr-Digest: see ``api/downloads.py``."""
    async with runner.read() as conn:
        meta = await queries.attachment(conn, course_id, attachment_id)
        if meta is None:
            raise field_problem(
                "attachment_id", "no such attachment in this course", "unknown_attachment", 404
            )
        if not is_author(principal):
            course = await readable_version(conn, principal, course_id, None)
            if attachment_id not in course.attachment_ids:
                raise Problem(
                    403, "not_in_your_version", "this document is not in your course version"
                )
    stored = Stored(meta.sha256, int(meta.size_bytes), meta.sha256, meta.media_type)
    headers = {
        # content-addressed and never changed: a device may keep it as long as it likes
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta.filename)}",
    }
    return serve(request, stored, blobs, headers)
