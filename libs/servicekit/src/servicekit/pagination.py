"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .problems import field_problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc
    if not isinstance(position, dict):
        raise field_problem("cursor", "not a cursor returned by this API")
    return position


def decode_uuid_cursor(cursor: str | None, key: str = "id") -> uuid.UUID | None:
    """The uuid a keyset page resumes after (a cursor of ``encode_cursor({key: ...})``), or None
    on the first page."""
    position = decode_cursor(cursor)
    if not position:
        return None
    try:
        return uuid.UUID(str(position.get(key)))
    except ValueError as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc
