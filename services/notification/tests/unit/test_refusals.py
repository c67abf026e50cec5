"""What a client is told when the inbox or the deliveries refuse a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from notification import usecases
from notification.api.refusals import REFUSALS
from notification.domain import commands
from notification.domain.errors import NotificationError
from notification.domain.model import InboxOwner
from notification.main import Settings, dependencies


@dataclass
class FakeUnitOfWork:
    """Deliveries by id and their state, and an inbox with no messages."""

    states: dict[uuid.UUID, str] = field(default_factory=dict)

    async def requeue_failed(self, delivery_id: uuid.UUID) -> Any | None:
        if self.states.get(delivery_id) != "failed_permanent":
            return None
        self.states[delivery_id] = "pending"
        return {"delivery_id": delivery_id, "state": "pending"}

    async def delivery_state(self, delivery_id: uuid.UUID) -> str | None:
        return self.states.get(delivery_id)

    async def mark_read(self, owner: InboxOwner, message_id: uuid.UUID) -> Any | None:
        return None


async def run(cmd: Any, uow: FakeUnitOfWork) -> Any:
    """Through the service's table of use cases, as the runner would."""
    settings = Settings()
    return await usecases.handlers(settings, dependencies(settings))[type(cmd)](cmd, uow)


async def refusal(cmd: Any, uow: FakeUnitOfWork) -> tuple[int, str, str]:
    with pytest.raises(NotificationError) as refused:
        await run(cmd, uow)
    problem = REFUSALS.problem(refused.value)
    return problem.status, problem.code, problem.detail


async def test_only_a_delivery_that_failed_for_good_is_retried() -> None:
    failed, sent = uuid.uuid4(), uuid.uuid4()
    uow = FakeUnitOfWork({failed: "failed_permanent", sent: "sent"})
    retried = await run(commands.RetryDelivery(failed), uow)
    assert retried["state"] == "pending"
    assert await refusal(commands.RetryDelivery(sent), uow) == (
        409,
        "not_failed",
        "only failed deliveries are retried; it is sent",
    )
    assert await refusal(commands.RetryDelivery(uuid.uuid4()), uow) == (
        404,
        "delivery_not_found",
        "no delivery has this id",
    )


async def test_reading_a_message_not_in_your_inbox_is_not_found() -> None:
    cmd = commands.MarkRead(InboxOwner(learner_id=uuid.uuid4()), uuid.uuid4())
    assert await refusal(cmd, FakeUnitOfWork()) == (
        404,
        "message_not_found",
        "no message with this id in your inbox",
    )
