"""The delivery queue as the worker sees it: claiming what is due, recording what happened,
and dropping what is past keeping.

A learner's deliveries to an endpoint form a lane, worked in the order the events were
received (``seq``): a delivery is due only when no earlier delivery of its lane is still
pending and none of its lane is in flight, so the next event of a learner waits until the
previous one is delivered or dead-lettered, while other learners' lanes go in parallel.
Claims take rows ``FOR UPDATE SKIP LOCKED`` and lease them, so replicas never send the same
delivery at once; a replica that dies mid-send lets go when the lease runs out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.database import Database

from ..domain.model import DeliveryStatus
from .tables import attempts, deliveries, endpoint_secrets, endpoints, events

PENDING = DeliveryStatus.PENDING.value
ROUND_SETTINGS = text(
    "SELECT set_config('synchronous_commit', 'off', true),"
    " set_config('plan_cache_mode', 'force_custom_plan', true)"
)
CLAIMED = (
    deliveries.c.delivery_id,
    deliveries.c.endpoint_id,
    deliveries.c.event_id,
    deliveries.c.learner_id,
    deliveries.c.seq,
    deliveries.c.failures,
    deliveries.c.queued_at,
)
# rows dropped per statement by the housekeeping, so it never holds long locks
PURGE_CHUNK = 5000


@dataclass(frozen=True)
class Target:
    """An enabled endpoint with the secrets that sign for it now (sealed)."""

    endpoint_id: uuid.UUID
    url: str
    enabled_at: datetime
    secrets: tuple[tuple[uuid.UUID, bytes], ...]


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    learner_id: uuid.UUID
    seq: int
    failures: int
    queued_at: datetime
    body: str


class Result(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    result: Result
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None = None


class Queue:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def targets(self, now: datetime) -> list[Target]:
        async with self.database.read() as conn:
            rows = (
                await conn.execute(
                    select(
                        endpoints.c.endpoint_id,
                        endpoints.c.url,
                        endpoints.c.enabled_at,
                        endpoint_secrets.c.secret_id,
                        endpoint_secrets.c.sealed,
                    )
                    .join(
                        endpoint_secrets,
                        endpoint_secrets.c.endpoint_id == endpoints.c.endpoint_id,
                    )
                    .where(
                        endpoints.c.enabled,
                        or_(
                            endpoint_secrets.c.expires_at.is_(None),
                            endpoint_secrets.c.expires_at > now,
                        ),
                    )
                    .order_by(endpoints.c.endpoint_id, endpoint_secrets.c.created_at.desc())
                )
            ).all()
        found: dict[uuid.UUID, Target] = {}
        for row in rows:
            known = found.get(row.endpoint_id)
            secret = ((row.secret_id, bytes(row.sealed)),)
            found[row.endpoint_id] = Target(
                row.endpoint_id,
                row.url,
                row.enabled_at,
                (known.secrets if known else ()) + secret,
            )
        return list(found.values())

    @asynccontextmanager
    async def round(self) -> AsyncIterator[AsyncConnection]:
        """One transaction for a round's outcomes and claims. Its commit is not waited for
        on disk: lost in a crash, a claim's lease is simply not held and an outcome not
        recorded, so the delivery is sent again with the same webhook-id, which delivery
        at least once allows anyway. The claim is planned for its actual values each time:
        a generic plan of the prepared statement walked every pending row of the endpoint."""
        async with self.database.transaction() as tx:
            await tx.conn.execute(ROUND_SETTINGS)
            yield tx.conn

    async def claim(
        self,
        conn: AsyncConnection,
        endpoint_id: uuid.UUID,
        now: datetime,
        limit: int,
        lease: timedelta,
    ) -> list[Claimed]:
        parameters = {"c_endpoint_id": endpoint_id, "c_now": now, "c_limit": limit}
        rows = (await conn.execute(CLAIM, parameters | {"c_lease_until": now + lease})).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.seq)

    async def release(self, conn: AsyncConnection, delivery_ids: Sequence[uuid.UUID]) -> None:
        """Let go of claimed deliveries that were not sent (a worker stopping)."""
        if delivery_ids:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id.in_(delivery_ids), deliveries.c.status == PENDING)
                .values(leased_until=None)
            )

    async def record(self, conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
        """Every outcome of a round of attempts."""
        if not outcomes:
            return
        for result in Result:
            chosen = [o for o in outcomes if o.result is result]
            if chosen:
                await conn.execute(SETTLE[result], [_values(o) for o in chosen])
        retried = [o for o in outcomes if o.result is Result.RETRY]
        if retried:
            await conn.execute(HOLD_LANE, [_values(o) for o in retried])
        await conn.execute(
            attempts.insert(),
            [
                {
                    "delivery_id": o.claimed.delivery_id,
                    "attempted_at": o.attempted_at,
                    "status_code": o.status_code,
                    "error": o.error,
                    "duration_ms": o.duration_ms,
                }
                for o in outcomes
            ],
        )

    async def purge(
        self,
        now: datetime,
        *,
        delivered_before: datetime,
        dead_before: datetime,
        events_before: datetime,
    ) -> int:
        """Drop delivered deliveries and dead letters past keeping, then kept events that no
        delivery refers to any more; returns the rows dropped."""
        dropped = 0
        async with self.database.transaction() as tx:
            dropped += await _purge(
                tx.conn,
                deliveries,
                deliveries.c.delivery_id,
                (deliveries.c.status == DeliveryStatus.DELIVERED.value)
                & (deliveries.c.delivered_at < delivered_before),
            )
            dropped += await _purge(
                tx.conn,
                deliveries,
                deliveries.c.delivery_id,
                (deliveries.c.status == DeliveryStatus.DEAD.value)
                & (deliveries.c.dead_at < dead_before),
            )
            referred = select(deliveries.c.delivery_id).where(
                deliveries.c.event_id == events.c.event_id
            )
            dropped += await _purge(
                tx.conn,
                events,
                events.c.event_id,
                (events.c.received_at < events_before) & ~referred.exists(),
            )
        return dropped


def _claim() -> Any:
    """Lease up to ``c_limit`` due deliveries of an endpoint, each the head of its lane with
    none of its lane in flight, and read their bodies (built once: it runs every round)."""
    candidate, sibling = deliveries.alias("candidate"), deliveries.alias("sibling")
    now = bindparam("c_now", type_=deliveries.c.queued_at.type)
    lane = (
        sibling.c.endpoint_id == candidate.c.endpoint_id,
        sibling.c.learner_id == candidate.c.learner_id,
        sibling.c.status == PENDING,
    )
    # aggregates, so each is looked up in the lane's index for the candidate at hand
    head = select(func.min(sibling.c.seq)).where(*lane).scalar_subquery()
    busy_until = select(func.max(sibling.c.leased_until)).where(*lane).scalar_subquery()
    due = (
        select(candidate.c.delivery_id)
        .where(
            candidate.c.endpoint_id == bindparam("c_endpoint_id"),
            candidate.c.status == PENDING,
            candidate.c.next_attempt_at <= now,
            candidate.c.seq == head,
            func.coalesce(busy_until, now) <= now,
        )
        .order_by(candidate.c.next_attempt_at)
        .limit(bindparam("c_limit"))
        .with_for_update(skip_locked=True, of=candidate)
        .cte("due")
    )
    leased = (
        update(deliveries)
        .where(deliveries.c.delivery_id == due.c.delivery_id)
        .values(leased_until=bindparam("c_lease_until"))
        .returning(*CLAIMED)
        .cte("leased")
    )
    return select(*(leased.c[c.name] for c in CLAIMED), events.c.body).join_from(
        leased, events, events.c.event_id == leased.c.event_id
    )


async def _purge(conn: AsyncConnection, table: Any, key: Any, condition: Any) -> int:
    chunk = select(key).where(condition).limit(PURGE_CHUNK).scalar_subquery()
    result = await conn.execute(delete(table).where(key.in_(chunk)).returning(key))
    return len(result.all())


def _values(outcome: Outcome) -> dict[str, Any]:
    claimed = outcome.claimed
    return {
        "o_delivery_id": claimed.delivery_id,
        "o_endpoint_id": claimed.endpoint_id,
        "o_learner_id": claimed.learner_id,
        "o_seq": claimed.seq,
        "o_at": outcome.attempted_at,
        "o_status_code": outcome.status_code,
        "o_error": outcome.error,
        "o_next": outcome.next_attempt_at,
    }


def _settle(result: Result) -> Any:
    common: dict[str, Any] = {
        "attempts": deliveries.c.attempts + 1,
        "leased_until": None,
        "last_attempt_at": bindparam("o_at"),
        "last_status_code": bindparam("o_status_code"),
        "last_error": bindparam("o_error"),
    }
    values: dict[str, Any]
    if result is Result.DELIVERED:
        values = {
            "status": result.value,
            "delivered_at": bindparam("o_at"),
            "next_attempt_at": None,
        }
    elif result is Result.DEAD:
        values = {
            "status": result.value,
            "failures": deliveries.c.failures + 1,
            "dead_at": bindparam("o_at"),
            "next_attempt_at": None,
        }
    else:
        values = {"failures": deliveries.c.failures + 1, "next_attempt_at": bindparam("o_next")}
    return (
        update(deliveries)
        .where(
            deliveries.c.delivery_id == bindparam("o_delivery_id"),
            deliveries.c.status == PENDING,
        )
        .values(**common, **values)
    )


def _hold_lane_statement() -> Any:
    """The rest of a learner's lane waits for the retry of its head, instead of being looked
    at (and found blocked) on every claim meanwhile."""
    return (
        update(deliveries)
        .where(
            deliveries.c.endpoint_id == bindparam("o_endpoint_id"),
            deliveries.c.learner_id == bindparam("o_learner_id"),
            deliveries.c.status == PENDING,
            deliveries.c.seq > bindparam("o_seq"),
        )
        .values(next_attempt_at=func.greatest(deliveries.c.next_attempt_at, bindparam("o_next")))
    )


CLAIM = _claim()
SETTLE = {result: _settle(result) for result in Result}
HOLD_LANE = _hold_lane_statement()
