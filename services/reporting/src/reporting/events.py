"""The reporting service's one subscription: every event it receives, applied in batches.

Applying an event twice changes nothing (every projection rule keeps a maximum, a flag, a set
or the newest value, and rollups move by row differences), so no inbox is kept: a duplicate
costs the same as any event and counts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lms_contracts as c
from servicekit.consumer import Subscription
from servicekit.database import Transaction

from .projections.store import apply_events, drop_empty_buckets


async def project(tx: Transaction, events: Sequence[c.CloudEvent[Any]]) -> None:
    await apply_events(tx.conn, events)


async def maintain(tx: Transaction) -> None:
    await drop_empty_buckets(tx.conn)


SUBSCRIPTION = Subscription(batch_handler=project, needs_inbox=False, maintenance=maintain)
