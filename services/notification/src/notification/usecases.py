"""Use cases of the notification service. Each takes a command and a unit of work.

What handles what:

| command           | use case           | writes                                               |
|-------------------|--------------------|------------------------------------------------------|
| RecordLearner     | record_learner     | learner (name, village)                              |
| RecordContact     | record_contact     | learner (phone, e-mail: kept only here)              |
| RecordEnrollment  | record_enrollment  | enrollment (course title, start date), activity      |
| CloseEnrollment   | close_enrollment   | enrollment state (no reminders for it any more)      |
| RecordActivity    | record_activity    | learner's last activity                              |
| Notify            | notify             | one inbox message + one pending delivery per channel |
| (digest rows)     | post_digest        | one inbox message for a region's supervisors         |

A message is written at most once per (event id, channel): the unique keys of the inbox and
delivery tables make a redelivered or replayed event a no-op even after the consumer's own
inbox of processed event ids has been purged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from .domain import commands
from .domain.model import (
    Channel,
    Kind,
    PlannedDelivery,
    Preferences,
    Recipient,
    Rendered,
)


class Renderer(Protocol):
    def render(self, kind: Kind, channel: Channel, context: dict[str, Any]) -> Rendered: ...


class UnitOfWork(Protocol):
    async def save_learner(
        self, learner_id: uuid.UUID, village_code: str, full_name: str | None, at: datetime
    ) -> None: ...
    async def save_contact(self, cmd: commands.RecordContact) -> None: ...
    async def save_enrollment(self, cmd: commands.RecordEnrollment) -> None: ...
    async def set_enrollment_state(
        self, enrollment_id: uuid.UUID, state: str, at: datetime
    ) -> None: ...
    async def touch_activity(self, learner_id: uuid.UUID, at: datetime) -> None: ...
    async def recipient(self, learner_id: uuid.UUID) -> Recipient | None: ...
    async def preferences(self, learner_id: uuid.UUID) -> Preferences: ...
    async def add_inbox_message(
        self,
        event_id: uuid.UUID,
        event_type: str,
        message: Rendered,
        created_at: datetime,
        *,
        learner_id: uuid.UUID | None = None,
        region_code: str | None = None,
    ) -> bool: ...
    async def add_delivery(self, planned: PlannedDelivery) -> bool: ...


async def record_learner(cmd: commands.RecordLearner, uow: UnitOfWork) -> None:
    await uow.save_learner(cmd.learner_id, cmd.village_code, cmd.full_name, cmd.at)


async def record_contact(cmd: commands.RecordContact, uow: UnitOfWork) -> None:
    await uow.save_learner(cmd.learner_id, cmd.village_code, cmd.full_name, cmd.at)
    await uow.save_contact(cmd)


async def record_enrollment(cmd: commands.RecordEnrollment, uow: UnitOfWork) -> None:
    await uow.save_learner(cmd.learner_id, cmd.village_code, None, cmd.enrolled_at)
    await uow.save_enrollment(cmd)
    await uow.touch_activity(cmd.learner_id, cmd.enrolled_at)


async def close_enrollment(cmd: commands.CloseEnrollment, uow: UnitOfWork) -> None:
    await uow.set_enrollment_state(cmd.enrollment_id, cmd.state, cmd.at)


async def record_activity(cmd: commands.RecordActivity, uow: UnitOfWork) -> None:
    await uow.save_learner(cmd.learner_id, cmd.village_code, None, cmd.at)
    await uow.touch_activity(cmd.learner_id, cmd.at)


def channels_for(
    recipient: Recipient | None, preferences: Preferences, configured: Iterable[Channel]
) -> list[Channel]:
    """The inbox always; other channels if configured, wanted and reachable."""
    chosen = [Channel.INBOX]
    if recipient is None:
        return chosen
    for channel in configured:
        if channel is Channel.INBOX:
            continue
        if preferences.allows(channel) and recipient.address(channel):
            chosen.append(channel)
    return chosen


async def notify(
    cmd: commands.Notify,
    uow: UnitOfWork,
    renderer: Renderer,
    configured: Iterable[Channel],
    now: datetime,
) -> list[Channel]:
    """Write the inbox message and plan the outbound deliveries; returns the new ones."""
    n = cmd.notification
    recipient = await uow.recipient(n.learner_id)
    preferences = await uow.preferences(n.learner_id)
    if n.kind is Kind.REMINDER and not preferences.reminders:
        return []
    name = recipient.full_name if recipient and recipient.full_name else None
    context = {**n.context, "full_name": name or "Bapak/Ibu"}
    written: list[Channel] = []
    for channel in channels_for(recipient, preferences, configured):
        message = renderer.render(n.kind, channel, context)
        if channel is Channel.INBOX:
            fresh = await uow.add_inbox_message(
                n.event_id, n.event_type, message, now, learner_id=n.learner_id
            )
        else:
            fresh = await uow.add_delivery(
                PlannedDelivery(n.event_id, n.event_type, channel, n.learner_id, message, now)
            )
        if fresh:
            written.append(channel)
    return written


async def post_digest(
    event_id: uuid.UUID,
    region_code: str,
    context: dict[str, Any],
    uow: UnitOfWork,
    renderer: Renderer,
    now: datetime,
) -> bool:
    message = renderer.render(Kind.DIGEST, Channel.INBOX, context)
    return await uow.add_inbox_message(
        event_id, "notification.digest", message, now, region_code=region_code
    )
