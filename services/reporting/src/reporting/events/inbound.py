"""The reporting service's one subscription: every event it receives (``usecases.RULES``),
applied in batches.

Applying an event twice changes nothing (every projection rule keeps a maximum, a flag, a set
or the newest value, and rollups move by row differences), so no inbox is kept: a duplicate
costs the same as any event and counts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

import lms_contracts as c
from servicekit.database import Transaction
from servicekit.service import Projection

from ..store.projection import SqlProjectionStore
from ..usecases import RULES, project_batch


async def project_events(conn: AsyncConnection, events: Sequence[c.CloudEvent[Any]]) -> None:
    """Apply a batch of (new, deduplicated) events in the caller's transaction: the live
    consumer's, or a rebuild's."""
    await project_batch(events, await SqlProjectionStore.open(conn))


async def project(tx: Transaction, events: Sequence[c.CloudEvent[Any]]) -> None:
    await project_events(tx.conn, events)


async def drop_empty_buckets(tx: Transaction) -> None:
    await (await SqlProjectionStore.open(tx.conn)).drop_empty_buckets()


PROJECTION = Projection(
    rules=RULES, apply=project, maintenance=drop_empty_buckets, needs_inbox=False
)
