"""The in-app inbox: a learner's own messages, a supervisor's region digests."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.pagination import CursorParam, PageCursors
from servicekit.problems import Problem

from ..domain.commands import MarkAllRead, MarkRead
from ..domain.model import InboxOwner
from ..store import queries
from .cursors import next_cursor, position
from .dependencies import UseCases
from .schemas import InboxPage, MarkedRead, MessageOut
from .views import message_out

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


def owner_of(principal: Principal) -> InboxOwner:
    """Whose messages this caller may see: a learner their own, a supervisor their region's."""
    if principal.has(Role.LEARNER) and principal.learner_id is not None:
        return InboxOwner(learner_id=principal.learner_id)
    if principal.has(Role.SUPERVISOR) and principal.region_code:
        return InboxOwner(region_code=principal.region_code)
    raise Problem(403, "forbidden", "the inbox needs a learner token or a supervisor's region")


@router.get("", response_model=InboxPage)
async def list_inbox(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    unread: bool = False,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPage:
    owner = owner_of(principal)
    after = position(cursors, "inbox", cursor)
    async with runner.read() as conn:
        rows, unread_count = await queries.inbox_page(
            conn, owner, unread=unread, after=after, limit=limit
        )
    return InboxPage(
        items=[message_out(r) for r in rows[:limit]],
        unread_count=unread_count,
        next_cursor=next_cursor(cursors, "inbox", rows, limit, "message_id"),
    )


@router.post("/read-all", response_model=MarkedRead)
async def mark_all_read(principal: CurrentPrincipal, runner: UseCases) -> MarkedRead:
    marked = await runner.execute(MarkAllRead(owner_of(principal)))
    return MarkedRead(marked=marked)


@router.post("/{message_id}/read", response_model=MessageOut)
async def mark_read(
    message_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> MessageOut:
    """Marks one message read; reading it again keeps the first read time."""
    message = await runner.execute(MarkRead(owner_of(principal), message_id))
    return message_out(message)
