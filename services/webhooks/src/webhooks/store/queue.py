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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.database import Database

from ..domain.model import DeliveryStatus
from .tables import attempts, deliveries, endpoint_secrets, endpoints, events

PENDING = DeliveryStatus.PENDING.value
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

    async def claim(
        self, endpoint_id: uuid.UUID, now: datetime, limit: int, lease: timedelta
    ) -> list[Claimed]:
        candidate, sibling = deliveries.alias("candidate"), deliveries.alias("sibling")
        blocked = (
            select(sibling.c.delivery_id)
            .where(
                sibling.c.endpoint_id == candidate.c.endpoint_id,
                sibling.c.learner_id == candidate.c.learner_id,
                sibling.c.status == PENDING,
                sibling.c.delivery_id != candidate.c.delivery_id,
                or_(sibling.c.seq < candidate.c.seq, sibling.c.leased_until > now),
            )
            .exists()
        )
        due = (
            select(candidate.c.delivery_id)
            .where(
                candidate.c.endpoint_id == endpoint_id,
                candidate.c.status == PENDING,
                candidate.c.next_attempt_at <= now,
                or_(candidate.c.leased_until.is_(None), candidate.c.leased_until <= now),
                ~blocked,
            )
            .order_by(candidate.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=candidate)
        )
        async with self.database.transaction() as tx:
            rows = (
                await tx.conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.delivery_id.in_(due.scalar_subquery()),
                        events.c.event_id == deliveries.c.event_id,
                    )
                    .values(leased_until=now + lease)
                    .returning(
                        deliveries.c.delivery_id,
                        deliveries.c.endpoint_id,
                        deliveries.c.event_id,
                        deliveries.c.learner_id,
                        deliveries.c.seq,
                        deliveries.c.failures,
                        deliveries.c.queued_at,
                        events.c.body,
                    )
                )
            ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.seq)

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Every outcome of a round of attempts, in one transaction."""
        if not outcomes:
            return
        async with self.database.transaction() as tx:
            for result in Result:
                chosen = [o for o in outcomes if o.result is result]
                if chosen:
                    await tx.conn.execute(_settle(result), [_values(o) for o in chosen])
            retried = [o for o in outcomes if o.result is Result.RETRY]
            if retried:
                await tx.conn.execute(_hold_lane(), [_values(o) for o in retried])
            await tx.conn.execute(
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


def _hold_lane() -> Any:
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
