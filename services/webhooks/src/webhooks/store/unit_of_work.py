"""SQL unit of work: the webhook bridge's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from servicekit.runner import UnitOfWork

from ..domain import commands
from ..domain.model import DeliveryStatus, Endpoint
from . import queries, received
from .tables import deliveries, endpoint_secrets, endpoints, events

PENDING = DeliveryStatus.PENDING.value


def as_selected(values: dict[str, Any]) -> list[Any]:
    """``values`` as typed columns of a SELECT feeding an INSERT into deliveries."""
    return [literal(value, deliveries.c[name].type) for name, value in values.items()]


def queued(now: datetime) -> dict[str, Any]:
    """The columns of a delivery (re)queued at ``now``: a fresh retry window."""
    return {
        "status": PENDING,
        "failures": 0,
        "queued_at": now,
        "next_attempt_at": now,
        "leased_until": None,
        "dead_at": None,
    }


class SqlUnitOfWork(UnitOfWork):
    # endpoints
    async def add_endpoint(self, endpoint: Endpoint) -> bool:
        """False if an endpoint for the same URL and region exists."""
        inserted = await self.conn.execute(
            insert(endpoints)
            .values(
                endpoint_id=endpoint.endpoint_id,
                url=endpoint.url,
                region_code=endpoint.region_code,
                event_types=list(endpoint.event_types),
                description=endpoint.description,
                enabled=endpoint.enabled,
                enabled_at=endpoint.enabled_at,
                created_at=endpoint.created_at,
                updated_at=endpoint.updated_at,
            )
            .on_conflict_do_nothing(constraint="endpoints_once_per_url_and_region")
            .returning(endpoints.c.endpoint_id)
        )
        return inserted.first() is not None

    async def endpoint(self, endpoint_id: uuid.UUID, *, lock: bool = False) -> Endpoint | None:
        return await queries.endpoint(self.conn, endpoint_id, lock=lock)

    async def url_taken(self, url: str, region_code: str, other_than: uuid.UUID) -> bool:
        found = await self.conn.execute(
            select(endpoints.c.endpoint_id).where(
                endpoints.c.url == url,
                endpoints.c.region_code == region_code,
                endpoints.c.endpoint_id != other_than,
            )
        )
        return found.first() is not None

    async def save_endpoint(self, endpoint: Endpoint) -> None:
        await self.conn.execute(
            update(endpoints)
            .where(endpoints.c.endpoint_id == endpoint.endpoint_id)
            .values(
                url=endpoint.url,
                region_code=endpoint.region_code,
                event_types=list(endpoint.event_types),
                description=endpoint.description,
                enabled=endpoint.enabled,
                enabled_at=endpoint.enabled_at,
                updated_at=endpoint.updated_at,
            )
        )

    async def remove_endpoint(self, endpoint_id: uuid.UUID) -> bool:
        removed = await self.conn.execute(
            delete(endpoints)
            .where(endpoints.c.endpoint_id == endpoint_id)
            .returning(endpoints.c.endpoint_id)
        )
        return removed.first() is not None

    # secrets
    async def add_secret(
        self, endpoint_id: uuid.UUID, sealed: bytes, created_at: datetime
    ) -> uuid.UUID:
        secret_id = uuid.uuid4()
        await self.conn.execute(
            insert(endpoint_secrets).values(
                secret_id=secret_id, endpoint_id=endpoint_id, sealed=sealed, created_at=created_at
            )
        )
        return secret_id

    async def expire_secrets(self, endpoint_id: uuid.UUID, at: datetime) -> None:
        """Every secret of the endpoint stops signing at ``at`` (or earlier, if it would)."""
        await self.conn.execute(
            update(endpoint_secrets)
            .where(
                endpoint_secrets.c.endpoint_id == endpoint_id,
                or_(endpoint_secrets.c.expires_at.is_(None), endpoint_secrets.c.expires_at > at),
            )
            .values(expires_at=at)
        )

    # events and deliveries
    async def record_events(self, cmd: commands.RecordEvents, now: datetime) -> None:
        """Keep a batch's events and queue their deliveries, in one statement (``store/received.py``)."""
        await received.record_events(self.conn, cmd.events, now)

    async def replay(
        self, endpoint: Endpoint, since: datetime, until: datetime | None, now: datetime
    ) -> int:
        """Queue every kept event of the endpoint's region and types that occurred in
        [since, until]: new deliveries for events it never had, delivered or dead ones
        queued again; one already pending is left as it is."""
        chosen = select(
            func.gen_random_uuid(),
            *as_selected({"endpoint_id": endpoint.endpoint_id}),
            events.c.event_id,
            events.c.seq,
            events.c.event_type,
            events.c.learner_id,
            *as_selected(queued(now)),
        ).where(
            events.c.occurred_at >= since,
            events.c.event_type.in_(endpoint.event_types),
            or_(
                events.c.village_code == endpoint.region_code,
                events.c.village_code.like(endpoint.region_code + ".%"),
            ),
        )
        if until is not None:
            chosen = chosen.where(events.c.occurred_at <= until)
        columns = ["delivery_id", "endpoint_id", "event_id", "seq", "event_type", "learner_id"]
        statement = (
            insert(deliveries)
            .from_select([*columns, *queued(now)], chosen)
            .on_conflict_do_update(
                constraint="deliveries_once_per_endpoint_and_event",
                set_=queued(now),
                where=deliveries.c.status != PENDING,
            )
            .returning(deliveries.c.delivery_id)
        )
        return len((await self.conn.execute(statement)).all())

    async def redeliver(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime) -> Any:
        """The dead letter, queued again, or None if the endpoint has no such dead letter."""
        return (
            await self.conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.endpoint_id == endpoint_id,
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.status == DeliveryStatus.DEAD.value,
                )
                .values(**queued(now))
                .returning(*deliveries.c)
            )
        ).first()

    async def redeliver_all(
        self, endpoint_id: uuid.UUID, since: datetime | None, now: datetime
    ) -> int:
        statement = update(deliveries).where(
            deliveries.c.endpoint_id == endpoint_id,
            deliveries.c.status == DeliveryStatus.DEAD.value,
        )
        if since is not None:
            statement = statement.where(deliveries.c.queued_at >= since)
        result = await self.conn.execute(
            statement.values(**queued(now)).returning(deliveries.c.delivery_id)
        )
        return len(result.all())

    async def delivery_status(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> str | None:
        return (
            await self.conn.execute(
                select(deliveries.c.status).where(
                    deliveries.c.endpoint_id == endpoint_id,
                    deliveries.c.delivery_id == delivery_id,
                )
            )
        ).scalar_one_or_none()
