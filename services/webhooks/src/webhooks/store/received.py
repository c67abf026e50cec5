"""Learner events received from the stream, kept and queued a batch at a time: one SQL
statement per batch.

Every learner event the platform publishes reaches the bridge, and each one used to cost a
statement of its own, built and cache-keyed anew by SQLAlchemy for its values. ``RECORD_EVENTS``
does what that statement did for the whole batch:

1. keeps each event once per event id (a redelivered one is not kept again, and queues
   nothing), numbering them in the batch's order, which is the order a learner's deliveries
   are sent in;
2. queues a pending delivery of each newly kept event for every endpoint whose region covers
   its village and whose types hold its type, once per
   endpoint and event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.commands import RecordEvent
from ..domain.model import DeliveryStatus

RECORD_EVENTS = f"""
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[]
    ) WITH ORDINALITY AS b(event_id, event_type, learner_id, village_code, occurred_at, body, n)
),
received AS (
    INSERT INTO events
        (event_id, event_type, learner_id, village_code, occurred_at, received_at, body)
    SELECT event_id, event_type, learner_id, village_code, occurred_at, $7, body
    FROM batch ORDER BY n
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, seq, event_type, learner_id, village_code
)
INSERT INTO deliveries (
    delivery_id, endpoint_id, event_id, seq, event_type, learner_id,
    status, failures, queued_at, next_attempt_at, leased_until, dead_at
)
SELECT gen_random_uuid(), e.endpoint_id, r.event_id, r.seq, r.event_type, r.learner_id,
       '{DeliveryStatus.PENDING.value}', 0, $7, $7, NULL, NULL
FROM received r
JOIN endpoints e
  ON r.event_type = ANY (e.event_types)
 AND (r.village_code = e.region_code OR r.village_code LIKE e.region_code || '.%')
ORDER BY r.seq
ON CONFLICT ON CONSTRAINT deliveries_once_per_endpoint_and_event DO NOTHING
"""


async def record_events(
    conn: AsyncConnection, received: Sequence[RecordEvent], now: datetime
) -> None:
    """Keep and queue a batch's events in the connection's transaction. The statement goes
    through the engine, so that a database that does not answer is told as unavailable (the
    consumer pauses)."""
    if not received:
        return
    await conn.exec_driver_sql(
        RECORD_EVENTS,
        (
            [x.event_id for x in received],
            [x.event_type for x in received],
            [x.learner_id for x in received],
            [x.village_code for x in received],
            [x.occurred_at for x in received],
            [x.body for x in received],
            now,
        ),
    )
