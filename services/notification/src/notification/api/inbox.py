"""The in-app inbox: a learner's own messages, a supervisor's region digests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import and_, func, or_, select, update

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.pagination import decode_cursor, encode_cursor
from servicekit.problems import Problem, field_problem
from servicekit.regions import dotted
from servicekit.service import DatabaseDep

from ..store.tables import messages
from .schemas import InboxPage, MarkedRead, MessageOut

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


def owner_condition(principal: Principal) -> Any:
    """Whose messages this caller may see: a learner their own, a supervisor their region's."""
    if principal.has(Role.LEARNER) and principal.learner_id is not None:
        return messages.c.learner_id == principal.learner_id
    if principal.has(Role.SUPERVISOR) and principal.region_code:
        return messages.c.region_code == dotted(principal.region_code)
    raise Problem(403, "forbidden", "the inbox needs a learner token or a supervisor's region")


def message_out(row: Any) -> MessageOut:
    return MessageOut(
        message_id=row.message_id,
        title=row.title,
        body=row.body,
        event_type=row.event_type,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def _after(cursor: str | None) -> Any:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        created_at = datetime.fromisoformat(position["t"])
        message_id = uuid.UUID(position["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc
    return or_(
        messages.c.created_at < created_at,
        and_(messages.c.created_at == created_at, messages.c.message_id < message_id),
    )


@router.get("", response_model=InboxPage)
async def list_inbox(
    principal: CurrentPrincipal,
    database: DatabaseDep,
    unread: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPage:
    mine = owner_condition(principal)
    query = select(messages).where(mine)
    if unread:
        query = query.where(messages.c.read_at.is_(None))
    after = _after(cursor)
    if after is not None:
        query = query.where(after)
    query = query.order_by(messages.c.created_at.desc(), messages.c.message_id.desc())
    async with database.read() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).all()
        unread_count = (
            await conn.execute(
                select(func.count()).select_from(messages).where(mine, messages.c.read_at.is_(None))
            )
        ).scalar_one()
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "id": str(last.message_id)})
    return InboxPage(
        items=[message_out(r) for r in rows[:limit]],
        unread_count=unread_count,
        next_cursor=next_cursor,
    )


@router.post("/read-all", response_model=MarkedRead)
async def mark_all_read(principal: CurrentPrincipal, database: DatabaseDep) -> MarkedRead:
    mine = owner_condition(principal)
    async with database.transaction() as tx:
        result = await tx.conn.execute(
            update(messages)
            .where(mine, messages.c.read_at.is_(None))
            .values(read_at=func.now())
            .returning(messages.c.message_id)
        )
        return MarkedRead(marked=len(result.all()))


@router.post("/{message_id}/read", response_model=MessageOut)
async def mark_read(
    message_id: uuid.UUID, principal: CurrentPrincipal, database: DatabaseDep
) -> MessageOut:
    """Marks one message read; reading it again keeps the first read time."""
    mine = owner_condition(principal)
    async with database.transaction() as tx:
        row = (
            await tx.conn.execute(
                update(messages)
                .where(mine, messages.c.message_id == message_id)
                .values(read_at=func.coalesce(messages.c.read_at, func.now()))
                .returning(*messages.c)
            )
        ).first()
    if row is None:
        raise Problem(404, "message_not_found", "no message with this id in your inbox")
    return message_out(row)
