"""Page cursors of the inbox and the deliveries: where the previous page ended (newest
first, by time then id), signed by ``servicekit.pagination``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from servicekit.pagination import Cursors

from ..store.queries import Position


def position(cursors: Cursors, listing: str, cursor: str | None) -> Position | None:
    found = cursors.decode(listing, cursor, "t", "id")
    if found is None:
        return None
    return datetime.fromisoformat(found["t"]), uuid.UUID(found["id"])


def next_cursor(
    cursors: Cursors, listing: str, rows: Sequence[Any], limit: int, id_column: str
) -> str | None:
    """Where the next page starts, if ``rows`` (fetched with one more than ``limit``) has one."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return cursors.encode(listing, t=last.created_at.isoformat(), id=str(getattr(last, id_column)))
