"""Use cases of the notification service. Each takes a command and a unit of work; those that
write messages also take the renderer, the channels and the clock, bound by ``handlers``.

What handles what:

| command           | use case           | writes                                               |
|-------------------|--------------------|------------------------------------------------------|
| RecordLearner     | record_learner     | learner (name, village)                              |
| RecordContact     | record_contact     | learner (phone, e-mail: kept only here)              |
| RecordEnrollment  | record_enrollment  | enrollment (course title, start date), activity      |
| CloseEnrollment   | close_enrollment   | enrollment state (no reminders for it any more)      |
| RecordActivity    | record_activity    | learner's last activity                              |
| Notify            | notify             | one inbox message + one pending delivery per channel |
| NotifyGrade       | notify_grade       | as Notify, with the title of the learnt enrollment   |
| NotifyCertificate | notify_certificate | as Notify, with the certificate's verification link  |
| NotifyVersionChange | notify_version_change | as Notify, for the latest move of an enrollment only |
| PostDigest        | post_digest        | one inbox message for a region's supervisors         |
| SetPreferences    | set_preferences    | a learner's preferences                              |
| MarkRead          | mark_read          | one inbox message read                               |
| MarkAllRead       | mark_all_read      | every unread message of an inbox read                |
| RetryDelivery     | retry_delivery     | a delivery that failed for good, pending again       |
| SendBroadcast     | send_broadcast     | a coaching job and its recipients (sent by the job)  |
| SubscribeToDigest | subscribe_to_digest| a supervisor's e-mail address for the digest         |

A message is written at most once per (event id, channel): the unique keys of the inbox and
delivery tables make a redelivered or replayed event a no-op even after the consumer's own
inbox of processed event ids has been purged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from servicekit.clock import Clock
from servicekit.runner import UseCase

from .dependencies import NotificationDependencies
from .domain import commands
from .domain.errors import (
    DeliveryNotFailed,
    DeliveryNotFound,
    LearnerNotFound,
    MessageNotFound,
    NoRecipients,
)
from .domain.model import (
    Channel,
    InboxOwner,
    Kind,
    PlannedDelivery,
    Preferences,
    Recipient,
    Rendered,
)
from .rendering import Renderer
from .settings import NotificationSettings

UNKNOWN_COURSE_TITLE = "(judul kursus tidak tersedia)"


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
    async def save_activity(
        self, learner_id: uuid.UUID, village_code: str, at: datetime
    ) -> None: ...
    async def course_title(self, learner_id: uuid.UUID, course_id: uuid.UUID) -> str | None: ...
    async def recipient(self, learner_id: uuid.UUID) -> Recipient | None: ...
    async def village_code(self, learner_id: uuid.UUID) -> str | None: ...
    async def preferences(self, learner_id: uuid.UUID) -> Preferences: ...
    async def save_preferences(self, learner_id: uuid.UUID, wanted: Preferences) -> None: ...
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
    async def mark_read(self, owner: InboxOwner, message_id: uuid.UUID) -> Any | None: ...
    async def mark_all_read(self, owner: InboxOwner) -> int: ...
    async def add_delivery(self, planned: PlannedDelivery) -> bool: ...
    async def advance_version_move(self, enrollment_id: uuid.UUID, move_number: int) -> bool: ...
    async def requeue_failed(self, delivery_id: uuid.UUID) -> Any | None: ...
    async def delivery_state(self, delivery_id: uuid.UUID) -> str | None: ...
    async def listed_in_region(
        self, learner_ids: Iterable[uuid.UUID], region_code: str
    ) -> set[uuid.UUID]: ...
    async def add_broadcast(self, cmd: commands.SendBroadcast) -> Any: ...
    async def save_digest_subscriber(self, cmd: commands.SubscribeToDigest) -> None: ...
    async def digest_subscribers(self, region_code: str) -> list[tuple[str, str]]: ...


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
    await uow.save_activity(cmd.learner_id, cmd.village_code, cmd.at)


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
    clock: Clock,
) -> list[Channel]:
    """Write the inbox message and plan the outbound deliveries; returns the new ones."""
    n = cmd.notification
    recipient = await uow.recipient(n.learner_id)
    preferences = await uow.preferences(n.learner_id)
    if n.kind is Kind.REMINDER and not preferences.reminders:
        return []
    name = recipient.full_name if recipient and recipient.full_name else None
    context = {**n.context, "full_name": name or "Bapak/Ibu"}
    now = clock()
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


async def notify_grade(
    cmd: commands.NotifyGrade,
    uow: UnitOfWork,
    renderer: Renderer,
    configured: Iterable[Channel],
    clock: Clock,
) -> list[Channel]:
    n = cmd.notification
    title = await uow.course_title(n.learner_id, cmd.course_id)
    context = {**n.context, "course_title": title or UNKNOWN_COURSE_TITLE}
    notification = commands.Notify(replace(n, context=context), cmd.village_code)
    return await notify(notification, uow, renderer, configured, clock)


async def notify_certificate(
    cmd: commands.NotifyCertificate,
    uow: UnitOfWork,
    renderer: Renderer,
    configured: Iterable[Channel],
    clock: Clock,
    verification_url: Callable[[str], str],
) -> list[Channel]:
    n = cmd.notification
    code = cmd.verification_code
    context = {**n.context, "verification_code": code, "verification_url": verification_url(code)}
    notification = commands.Notify(replace(n, context=context), cmd.village_code)
    return await notify(notification, uow, renderer, configured, clock)


async def notify_version_change(
    cmd: commands.NotifyVersionChange,
    uow: UnitOfWork,
    renderer: Renderer,
    configured: Iterable[Channel],
    clock: Clock,
) -> list[Channel]:
    if not await uow.advance_version_move(cmd.enrollment_id, cmd.move_number):
        return []
    return await notify(
        commands.Notify(cmd.notification, cmd.village_code), uow, renderer, configured, clock
    )


async def post_digest(
    cmd: commands.PostDigest,
    uow: UnitOfWork,
    renderer: Renderer,
    configured: Iterable[Channel],
    clock: Clock,
) -> bool:
    """The region's inbox message and, when e-mail is configured, an e-mail to each of the
    region's supervisors who gave an address (one per supervisor and digest)."""
    now = clock()
    message = renderer.render(Kind.DIGEST, Channel.INBOX, cmd.context)
    fresh = await uow.add_inbox_message(
        cmd.event_id, "notification.digest", message, now, region_code=cmd.region_code
    )
    if Channel.EMAIL not in configured:
        return fresh
    mail = renderer.render(Kind.DIGEST, Channel.EMAIL, cmd.context)
    for subject, address in await uow.digest_subscribers(cmd.region_code):
        planned = PlannedDelivery(
            uuid.uuid5(cmd.event_id, subject),
            "notification.digest",
            Channel.EMAIL,
            None,
            mail,
            now,
            address=address,
        )
        fresh = await uow.add_delivery(planned) or fresh
    return fresh


async def set_preferences(
    cmd: commands.SetPreferences, uow: UnitOfWork
) -> tuple[Preferences, str | None]:
    """Returns the preferences now in force and the learner's village code (their zone)."""
    current = await uow.preferences(cmd.learner_id)
    village_code = await uow.village_code(cmd.learner_id)
    wanted = Preferences(
        email=_pick(cmd.email, current.email),
        sms=_pick(cmd.sms, current.sms),
        whatsapp=_pick(cmd.whatsapp, current.whatsapp),
        reminders=_pick(cmd.reminders, current.reminders),
        quiet_hours=cmd.quiet_hours if cmd.quiet_hours is not None else current.quiet_hours,
    )
    await uow.save_preferences(cmd.learner_id, wanted)
    return wanted, village_code


def _pick(value: bool | None, current: bool) -> bool:
    return current if value is None else value


async def mark_read(cmd: commands.MarkRead, uow: UnitOfWork) -> Any:
    message = await uow.mark_read(cmd.owner, cmd.message_id)
    if message is None:
        raise MessageNotFound(cmd.message_id)
    return message


async def mark_all_read(cmd: commands.MarkAllRead, uow: UnitOfWork) -> int:
    return await uow.mark_all_read(cmd.owner)


async def retry_delivery(cmd: commands.RetryDelivery, uow: UnitOfWork) -> Any:
    delivery = await uow.requeue_failed(cmd.delivery_id)
    if delivery is not None:
        return delivery
    state = await uow.delivery_state(cmd.delivery_id)
    if state is None:
        raise DeliveryNotFound(cmd.delivery_id)
    raise DeliveryNotFailed(cmd.delivery_id, state)


async def send_broadcast(cmd: commands.SendBroadcast, uow: UnitOfWork) -> Any:
    """Record the job and resolve its recipients now (a learner once, however often listed);
    the broadcast worker then sends, rate-limited. A listed learner outside the region refuses
    the whole request: nothing is sent to anyone."""
    listed = set(cmd.audience.learner_ids)
    if listed and await uow.listed_in_region(listed, cmd.audience.region_code) != listed:
        raise LearnerNotFound()
    broadcast = await uow.add_broadcast(cmd)
    if broadcast.total == 0:
        raise NoRecipients()
    return broadcast


async def subscribe_to_digest(cmd: commands.SubscribeToDigest, uow: UnitOfWork) -> None:
    await uow.save_digest_subscriber(cmd)


def handlers(
    settings: NotificationSettings, deps: NotificationDependencies
) -> dict[type[Any], UseCase[Any]]:
    """The one table of what handles what, with the use cases that write messages bound to
    the templates, the channels this deployment delivers on and the clock."""
    writing = {"renderer": deps.renderer, "configured": deps.channels, "clock": deps.clock}
    return {
        commands.RecordLearner: record_learner,
        commands.RecordContact: record_contact,
        commands.RecordEnrollment: record_enrollment,
        commands.CloseEnrollment: close_enrollment,
        commands.RecordActivity: record_activity,
        commands.Notify: partial(notify, **writing),
        commands.NotifyGrade: partial(notify_grade, **writing),
        commands.NotifyCertificate: partial(
            notify_certificate, verification_url=settings.verification_url, **writing
        ),
        commands.NotifyVersionChange: partial(notify_version_change, **writing),
        commands.PostDigest: partial(post_digest, **writing),
        commands.SetPreferences: set_preferences,
        commands.MarkRead: mark_read,
        commands.MarkAllRead: mark_all_read,
        commands.RetryDelivery: retry_delivery,
        commands.SendBroadcast: send_broadcast,
        commands.SubscribeToDigest: subscribe_to_digest,
    }
