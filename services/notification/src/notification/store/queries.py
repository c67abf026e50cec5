"""What the routes read: the inbox, preferences and deliveries, outside any use case."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import DeliveryState, InboxOwner, Preferences, QuietHours
from .tables import broadcasts, deliveries, learners, messages, preferences

# Where a page ends: the last row's creation time and id (newest first).
Position = tuple[datetime, uuid.UUID]


def preferences_from_row(row: Any, defaults: Preferences) -> Preferences:
    if row is None:
        return defaults
    quiet = defaults.quiet_hours
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = QuietHours(row.quiet_start, row.quiet_end)
    return Preferences(
        email=row.email,
        sms=row.sms,
        whatsapp=row.whatsapp,
        reminders=row.reminders,
        quiet_hours=quiet,
    )


async def learner_preferences(
    conn: AsyncConnection, learner_id: uuid.UUID, defaults: Preferences
) -> Preferences:
    row = (
        await conn.execute(select(preferences).where(preferences.c.learner_id == learner_id))
    ).first()
    return preferences_from_row(row, defaults)


async def village_code(conn: AsyncConnection, learner_id: uuid.UUID) -> str | None:
    return (
        await conn.execute(
            select(learners.c.village_code).where(learners.c.learner_id == learner_id)
        )
    ).scalar_one_or_none()


def owned_by(owner: InboxOwner) -> Any:
    if owner.learner_id is not None:
        return messages.c.learner_id == owner.learner_id
    return messages.c.region_code == owner.region_code


async def inbox_page(
    conn: AsyncConnection,
    owner: InboxOwner,
    *,
    unread: bool,
    after: Position | None,
    limit: int,
) -> tuple[list[Any], int]:
    """Up to ``limit + 1`` messages newest first (one more tells there is a next page), and
    how many of the owner's messages are unread."""
    mine = owned_by(owner)
    query = select(messages).where(mine)
    if unread:
        query = query.where(messages.c.read_at.is_(None))
    if after is not None:
        created_at, message_id = after
        query = query.where(
            or_(
                messages.c.created_at < created_at,
                and_(messages.c.created_at == created_at, messages.c.message_id < message_id),
            )
        )
    query = query.order_by(messages.c.created_at.desc(), messages.c.message_id.desc())
    rows = (await conn.execute(query.limit(limit + 1))).all()
    unread_count = (
        await conn.execute(
            select(func.count()).select_from(messages).where(mine, messages.c.read_at.is_(None))
        )
    ).scalar_one()
    return list(rows), unread_count


async def deliveries_page(
    conn: AsyncConnection,
    *,
    state: str | None,
    channel: str | None,
    learner_id: uuid.UUID | None,
    after: Position | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit + 1`` deliveries newest first; ``state=failed`` is short for
    ``failed_permanent``."""
    query = select(deliveries)
    if state is not None:
        wanted = DeliveryState.FAILED_PERMANENT.value if state == "failed" else state
        query = query.where(deliveries.c.state == wanted)
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    if learner_id is not None:
        query = query.where(deliveries.c.learner_id == learner_id)
    if after is not None:
        created_at, delivery_id = after
        query = query.where(
            or_(
                deliveries.c.created_at < created_at,
                and_(
                    deliveries.c.created_at == created_at,
                    deliveries.c.delivery_id < delivery_id,
                ),
            )
        )
    query = query.order_by(deliveries.c.created_at.desc(), deliveries.c.delivery_id.desc())
    return list((await conn.execute(query.limit(limit + 1))).all())


async def broadcast(conn: AsyncConnection, broadcast_id: uuid.UUID) -> Any:
    return (
        await conn.execute(select(broadcasts).where(broadcasts.c.broadcast_id == broadcast_id))
    ).first()
