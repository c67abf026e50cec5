"""Stored bytes served to devices on poor links: one byte range at a time (RFC 9110 section
14), ``If-Range``, ``If-Match``, ``If-None-Match``, strong ETags and ``Repr-Digest``
(RFC 9530), so that a download cut off at any byte resumes from that byte, and the device
can check the whole file when it has it.

Starlette's ``FileResponse`` does the same for files on a disk; these bytes live in the blob
store (any replica serves any download), so the rules are applied here.

Ranges: one satisfiable range is served as 206. Several ranges are not served as
``multipart/byteranges``: if they overlap the request is refused (416, RFC 9110 15.5.17),
otherwise the Range is ignored and the whole representation sent (14.2). A range unit other
than ``bytes`` is ignored (14.2); a malformed ``bytes`` range is refused (416), so a client
with a bug learns it at once instead of paying for the whole file.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from itertools import pairwise

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from servicekit.problems import Problem

from ..store.blobs import BlobStore

RANGE_SPEC = re.compile(r"^(\d*)-(\d*)$")
RANGE_FIELD = "Range"


@dataclass(frozen=True)
class Stored:
    """A representation kept in the blob store: its key, size, SHA-256 (hex) and type."""

    blob_key: str
    size: int
    sha256: str
    media_type: str

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    @property
    def repr_digest(self) -> str:
        return f"sha-256=:{base64.b64encode(bytes.fromhex(self.sha256)).decode()}:"


# what is wrong with a Range, as the problem's ``errors`` say it (its ``detail`` says more)
REASONS = {
    "range_malformed": "not a byte range this server understands",
    "range_not_satisfiable": "past the end of the file",
    "ranges_overlap": "the ranges overlap",
}


def _refused(code: str, detail: str, size: int) -> Problem:
    return Problem(
        416,
        code,
        f"Range: {detail}",
        errors=[{"field": RANGE_FIELD, "message": REASONS[code]}],
        headers={"Content-Range": f"bytes */{size}"},
        size_bytes=size,
    )


def _one_range(spec: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive), or None when it lies past the end (unsatisfiable)."""
    match = RANGE_SPEC.match(spec)
    if match is None or match.groups() == ("", ""):
        raise _refused("range_malformed", f"{spec!r} is not a byte range", size)
    first, last = match.groups()
    if first == "":
        length = int(last)
        return (max(size - length, 0), size - 1) if length > 0 and size > 0 else None
    start = int(first)
    if last and int(last) < start:
        raise _refused("range_malformed", f"{spec!r} ends before it starts", size)
    if start >= size:
        return None
    return start, min(int(last), size - 1) if last else size - 1


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range to send, or None for the whole representation."""
    if header is None:
        return None
    unit, equals, spec = header.partition("=")
    if not equals:
        raise _refused("range_malformed", "expected bytes=<first>-<last>", size)
    if unit.strip().lower() != "bytes":
        return None
    parts = [p.replace(" ", "").replace("\t", "") for p in spec.split(",")]
    parts = [p for p in parts if p]  # empty list elements are ignored (RFC 9110 5.6.1)
    if not parts:
        raise _refused("range_malformed", "no range given", size)
    ranges = [_one_range(p, size) for p in parts]
    wanted = sorted(r for r in ranges if r is not None)
    if not wanted:
        raise _refused("range_not_satisfiable", f"the representation has {size} bytes", size)
    if any(later[0] <= earlier[1] for earlier, later in pairwise(wanted)):
        raise _refused("ranges_overlap", "the ranges overlap; ask for one range", size)
    return wanted[0] if len(wanted) == 1 else None


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def strong_match(header: str | None, etag: str) -> bool:
    """If-Match and If-Range compare strongly: a weak tag never matches."""
    return header is not None and any(t == "*" or t == etag for t in _tags(header))


def weak_match(header: str | None, etag: str) -> bool:
    """If-None-Match compares weakly."""
    if header is None:
        return False
    return any(t == "*" or t.removeprefix("W/") == etag for t in _tags(header))


def serve(
    request: Request,
    stored: Stored,
    blobs: BlobStore,
    headers: dict[str, str],
    *,
    changed_code: str = "representation_changed",
) -> Response:
    """The representation, a range of it, 304 or a problem, as the request's conditions say."""
    headers = {
        **headers,
        "ETag": stored.etag,
        "Accept-Ranges": "bytes",
        "Repr-Digest": stored.repr_digest,
    }
    if_match = request.headers.get("if-match")
    if if_match is not None and not strong_match(if_match, stored.etag):
        raise Problem(
            412,
            changed_code,
            "If-Match: the representation changed; start again from its first byte",
            errors=[{"field": "If-Match", "message": "the file has changed"}],
            headers={"ETag": stored.etag},
        )
    if weak_match(request.headers.get("if-none-match"), stored.etag):
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    wanted = None
    if if_range is None or strong_match(if_range, stored.etag):
        wanted = parse_range(request.headers.get("range"), stored.size)
    start, end = wanted or (0, stored.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{stored.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=stored.media_type)
    return StreamingResponse(
        blobs.read(stored.blob_key, start, end),
        status_code=status,
        media_type=stored.media_type,
        headers=headers,
    )
