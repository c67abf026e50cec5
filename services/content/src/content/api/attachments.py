"""Documents and media attached to a course: upload with a size cap, download with ranges,
ETags and digests, each served with a safe type."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field

from servicekit.auth import CurrentPrincipal
from servicekit.fields import LINE
from servicekit.openapi import Responses, problems, served
from servicekit.problems import Problem, field_problem

from ..domain import commands
from ..store import queries
from .access import AUTHORS, is_author, readable_version
from .dependencies import Blobs, UseCases
from .downloads import Stored, serve
from .schemas import AttachmentOut
from .views import attachment_json, attachment_out

router = APIRouter(prefix="/v1", tags=["attachments"])
# Served with their own type, and shown in the browser: documents and media that run no script
INLINE = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/mpeg",
    "audio/mp4",
    "video/mp4",
    "video/webm",
}
# Served with their own type, as a download; any other type is served as octet-stream
DOWNLOAD = {
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
# A downloaded document is never a page: no script, no plugin, no frame may run from it
DOCUMENT_POLICY = "sandbox; default-src 'none'"


def _plain_name(name: str) -> str:
    if "/" in name or "\\" in name or not name.strip(" ."):
        raise ValueError("a file name, without slashes, and not . or ..")
    return name


Filename = Annotated[str, Field(min_length=1, max_length=200), LINE, AfterValidator(_plain_name)]
MediaType = Annotated[
    str, Field(max_length=200, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+( *;[ -~]*)?$")
]


def served_as(media_type: str, filename: str) -> tuple[str, str]:
    """The content type and disposition a stored document is served with: its own type only
    from the lists above, and inline only for what a browser shows without running it."""
    disposition = f"filename*=UTF-8''{quote(filename)}"
    if media_type in INLINE:
        return media_type, f"inline; {disposition}"
    served = media_type if media_type in DOWNLOAD else "application/octet-stream"
    return served, f"attachment; {disposition}"


async def read_body(request: Request) -> bytes:
    """The document; the middleware refuses it with 413 as soon as it passes the route's cap
    (``upload_limits`` in ``main.py``), whatever its declared length."""
    return b"".join([chunk async for chunk in request.stream()])


@router.post("/courses/{course_id}/attachments", status_code=201, response_model=AttachmentOut)
async def upload_attachment(
    course_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    blobs: Blobs,
    filename: Annotated[Filename, Query()],
    content_type: Annotated[MediaType, Header()] = "application/octet-stream",
) -> JSONResponse:
    """The raw document is the body; its name is ``?filename=`` and its type Content-Type."""
    principal.require(*AUTHORS)
    async with runner.read() as conn:
        if not await queries.course_exists(conn, course_id):
            raise field_problem("course_id", "no course has this id", "unknown_course", 404)
    data = await read_body(request)
    if not data:
        raise field_problem("body", "the document is empty", "empty_attachment")
    digest = hashlib.sha256(data).hexdigest()
    await blobs.put(digest, data)
    command = commands.AttachDocument(
        course_id=course_id,
        filename=filename,
        media_type=content_type.split(";")[0].strip().lower()[:100] or "application/octet-stream",
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


# what ``serve`` answers (api/downloads.py), to GET and to HEAD alike: the document, a range
# of it, 304, a failed If-Match (412) and a range it cannot serve (416)
DOCUMENT: Responses = (
    served("*/*")
    | served("*/*", status=206, description="The requested range of the document")
    | {304: {"description": "Unchanged since the ETag in If-None-Match"}}
    | problems(412, 416)
)


@router.get(
    "/courses/{course_id}/attachments/{attachment_id}", response_model=None, responses=DOCUMENT
)
@router.head(
    "/courses/{course_id}/attachments/{attachment_id}", response_model=None, responses=DOCUMENT
)
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
    media_type, disposition = served_as(meta.media_type, meta.filename)
    stored = Stored(meta.sha256, int(meta.size_bytes), meta.sha256, media_type)
    headers = {
        # content-addressed and never changed: a device may keep it as long as it likes
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": disposition,
        "Content-Security-Policy": DOCUMENT_POLICY,
    }
    return serve(request, stored, blobs, headers)
