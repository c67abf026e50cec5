"""Opaque page cursors of the inbox and the deliveries: where the previous page ended."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from servicekit.pagination import decode_cursor, encode_cursor
from servicekit.problems import field_problem

from ..store.queries import Position


def position(cursor: str | None) -> Position | None:
    found = decode_cursor(cursor)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found["t"]), uuid.UUID(found["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc


def next_cursor(rows: Sequence[Any], limit: int, id_column: str) -> str | None:
    """Where the next page starts, if ``rows`` (fetched with one more than ``limit``) has one."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor({"t": last.created_at.isoformat(), "id": str(getattr(last, id_column))})
