"""Opaque cursors for keyset pagination, signed so that a client can only hand back what the
service gave it.

A cursor is the base64url JSON of where a page ended and an HMAC of it, keyed by the service's
``CURSOR_SIGNING_KEY`` and bound to the listing it came from: a cursor edited, made up or
taken from another listing gets ``400 invalid_cursor`` instead of reaching a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from .problems import Problem

T = TypeVar("T")
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,600}\.[A-Za-z0-9_-]{43}$"

# The ``cursor`` query parameter of a listing: the ``next_cursor`` of the page before.
CursorParam = Annotated[
    str | None,
    Query(
        max_length=650,
        pattern=CURSOR_PATTERN,
        description="the next_cursor of the previous page; absent for the first page",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def invalid_cursor() -> Problem:
    message = "not a cursor this listing returned"
    return Problem(
        400,
        "invalid_cursor",
        f"cursor: {message}",
        errors=[{"field": "cursor", "message": message}],
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _mac(self, listing: str, payload: str) -> str:
        message = f"{listing}\n{payload}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def encode(self, listing: str, **position: str) -> str:
        """A cursor for ``listing`` resuming after ``position`` (strings only)."""
        payload = _b64(json.dumps(position, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(listing, payload)}"

    def decode(self, listing: str, cursor: str | None, *fields: str) -> dict[str, str] | None:
        """Where the page resumes (exactly ``fields``, each a string), or None on the first
        page; 400 for a cursor this service did not give out for ``listing``."""
        if cursor is None:
            return None
        payload, _, mac = cursor.partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(listing, payload).encode()):
            raise invalid_cursor()
        try:
            position = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as exc:
            raise invalid_cursor() from exc
        if (
            not isinstance(position, dict)
            or set(position) != set(fields)
            or not all(isinstance(v, str) for v in position.values())
        ):
            raise invalid_cursor()
        return position

    def after_id(self, listing: str, cursor: str | None) -> uuid.UUID | None:
        """The id a page ordered by id resumes after (a cursor of ``encode(listing, id=...)``),
        or None on the first page."""
        position = self.decode(listing, cursor, "id")
        return uuid.UUID(position["id"]) if position else None


def page_cursors(request: Request) -> Cursors:
    cursors: Cursors = request.app.state.cursors
    return cursors


PageCursors = Annotated[Cursors, Depends(page_cursors)]
