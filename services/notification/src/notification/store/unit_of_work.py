"""SQL unit of work: the notification domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import insert

from servicekit.database import Transaction
from servicekit.runner import UnitOfWork

from ..domain import commands
from ..domain.model import (
    DeliveryState,
    InboxOwner,
    PlannedDelivery,
    Preferences,
    Recipient,
    Rendered,
)
from . import queries
from .tables import (
    broadcast_recipients,
    broadcasts,
    deliveries,
    digest_subscribers,
    enrollments,
    learners,
    messages,
    preferences,
    version_moves,
)


class SqlUnitOfWork(UnitOfWork):
    """``defaults`` are the preferences of learners who never set any."""

    def __init__(self, tx: Transaction, defaults: Preferences) -> None:
        super().__init__(tx)
        self.defaults = defaults

    # learners and their enrollments, as learnt from events
    async def save_learner(
        self, learner_id: uuid.UUID, village_code: str, full_name: str | None, at: datetime
    ) -> None:
        values: dict[str, Any] = {"village_code": village_code, "updated_at": at}
        if full_name is not None:
            values["full_name"] = full_name
        statement = insert(learners).values(learner_id=learner_id, **values)
        await self.conn.execute(
            statement.on_conflict_do_update(index_elements=["learner_id"], set_=values)
        )

    async def save_contact(self, cmd: commands.RecordContact) -> None:
        await self.conn.execute(
            update(learners)
            .where(learners.c.learner_id == cmd.learner_id)
            .values(phone=cmd.phone, email=cmd.email, updated_at=cmd.at)
        )

    async def save_enrollment(self, cmd: commands.RecordEnrollment) -> None:
        values = {
            "learner_id": cmd.learner_id,
            "course_id": cmd.course_id,
            "course_title": cmd.course_title,
            "starts_on": cmd.starts_on,
            "state": "active",
            "enrolled_at": cmd.enrolled_at,
            "updated_at": cmd.enrolled_at,
        }
        await self.conn.execute(
            insert(enrollments)
            .values(enrollment_id=cmd.enrollment_id, **values)
            .on_conflict_do_nothing(index_elements=["enrollment_id"])
        )

    async def set_enrollment_state(
        self, enrollment_id: uuid.UUID, state: str, at: datetime
    ) -> None:
        await self.conn.execute(
            update(enrollments)
            .where(enrollments.c.enrollment_id == enrollment_id)
            .values(state=state, updated_at=at)
        )

    async def save_activity(self, learner_id: uuid.UUID, village_code: str, at: datetime) -> None:
        """The learner's village and latest activity, in one statement (an event per lesson
        comes through here)."""
        statement = insert(learners).values(
            learner_id=learner_id, village_code=village_code, updated_at=at, last_activity_at=at
        )
        latest = func.greatest(
            func.coalesce(learners.c.last_activity_at, statement.excluded.last_activity_at),
            statement.excluded.last_activity_at,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["learner_id"],
                set_={"village_code": village_code, "updated_at": at, "last_activity_at": latest},
            )
        )

    async def advance_version_move(self, enrollment_id: uuid.UUID, move_number: int) -> bool:
        """True if ``move_number`` is later than every move of the enrollment seen so far."""
        statement = insert(version_moves).values(
            enrollment_id=enrollment_id, move_number=move_number
        )
        advanced = await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={"move_number": statement.excluded.move_number},
                where=version_moves.c.move_number < statement.excluded.move_number,
            ).returning(version_moves.c.enrollment_id)
        )
        return advanced.first() is not None

    async def touch_activity(self, learner_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            update(learners)
            .where(learners.c.learner_id == learner_id)
            .values(
                last_activity_at=func.greatest(func.coalesce(learners.c.last_activity_at, at), at)
            )
        )

    async def course_title(self, learner_id: uuid.UUID, course_id: uuid.UUID) -> str | None:
        return (
            await self.conn.execute(
                select(enrollments.c.course_title)
                .where(enrollments.c.learner_id == learner_id, enrollments.c.course_id == course_id)
                .order_by(enrollments.c.enrolled_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def recipient(self, learner_id: uuid.UUID) -> Recipient | None:
        row = (
            await self.conn.execute(select(learners).where(learners.c.learner_id == learner_id))
        ).first()
        if row is None:
            return None
        return Recipient(row.learner_id, row.village_code, row.full_name, row.phone, row.email)

    async def village_code(self, learner_id: uuid.UUID) -> str | None:
        return await queries.village_code(self.conn, learner_id)

    # preferences
    async def preferences(self, learner_id: uuid.UUID) -> Preferences:
        return await queries.learner_preferences(self.conn, learner_id, self.defaults)

    async def save_preferences(self, learner_id: uuid.UUID, wanted: Preferences) -> None:
        quiet = wanted.quiet_hours
        values = {
            "email": wanted.email,
            "sms": wanted.sms,
            "whatsapp": wanted.whatsapp,
            "reminders": wanted.reminders,
            "quiet_start": quiet.start if quiet else None,
            "quiet_end": quiet.end if quiet else None,
            "updated_at": func.now(),
        }
        await self.conn.execute(
            insert(preferences)
            .values(learner_id=learner_id, **values)
            .on_conflict_do_update(index_elements=["learner_id"], set_=values)
        )

    # the inbox
    async def add_inbox_message(
        self,
        event_id: uuid.UUID,
        event_type: str,
        message: Rendered,
        created_at: datetime,
        *,
        learner_id: uuid.UUID | None = None,
        region_code: str | None = None,
    ) -> bool:
        inserted = await self.conn.execute(
            insert(messages)
            .values(
                message_id=uuid.uuid4(),
                event_id=event_id,
                channel="inbox",
                event_type=event_type,
                learner_id=learner_id,
                region_code=region_code,
                title=message.title,
                body=message.text,
                created_at=created_at,
            )
            .on_conflict_do_nothing(index_elements=["event_id", "channel"])
            .returning(messages.c.message_id)
        )
        return inserted.first() is not None

    async def mark_read(self, owner: InboxOwner, message_id: uuid.UUID) -> Any | None:
        """The message as it is now, or None if the owner has no such message; reading it
        again keeps the first read time."""
        return (
            await self.conn.execute(
                update(messages)
                .where(queries.owned_by(owner), messages.c.message_id == message_id)
                .values(read_at=func.coalesce(messages.c.read_at, func.now()))
                .returning(*messages.c)
            )
        ).first()

    async def mark_all_read(self, owner: InboxOwner) -> int:
        result = await self.conn.execute(
            update(messages)
            .where(queries.owned_by(owner), messages.c.read_at.is_(None))
            .values(read_at=func.now())
            .returning(messages.c.message_id)
        )
        return len(result.all())

    # deliveries
    async def add_delivery(self, planned: PlannedDelivery) -> bool:
        inserted = await self.conn.execute(
            insert(deliveries)
            .values(
                delivery_id=uuid.uuid4(),
                event_id=planned.event_id,
                event_type=planned.event_type,
                channel=planned.channel.value,
                learner_id=planned.learner_id,
                address=planned.address,
                subject=planned.message.title,
                body_text=planned.message.text,
                body_html=planned.message.html,
                state=DeliveryState.PENDING.value,
                next_attempt_at=planned.due_at,
                created_at=planned.due_at,
                updated_at=planned.due_at,
            )
            .on_conflict_do_nothing(index_elements=["event_id", "channel"])
            .returning(deliveries.c.delivery_id)
        )
        return inserted.first() is not None

    async def requeue_failed(self, delivery_id: uuid.UUID) -> Any | None:
        """The delivery, pending again from now on, or None unless it had failed for good."""
        return (
            await self.conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.state == DeliveryState.FAILED_PERMANENT.value,
                )
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    next_attempt_at=func.now(),
                    updated_at=func.now(),
                )
                .returning(*deliveries.c)
            )
        ).first()

    async def delivery_state(self, delivery_id: uuid.UUID) -> str | None:
        return (
            await self.conn.execute(
                select(deliveries.c.state).where(deliveries.c.delivery_id == delivery_id)
            )
        ).scalar_one_or_none()

    # coaching messages
    async def listed_in_region(
        self, learner_ids: Iterable[uuid.UUID], region_code: str
    ) -> set[uuid.UUID]:
        rows = await self.conn.execute(
            select(learners.c.learner_id).where(
                learners.c.learner_id.in_(list(learner_ids)),
                learners.c.village_code.startswith(region_code, autoescape=True),
            )
        )
        return set(rows.scalars())

    async def add_broadcast(self, cmd: commands.SendBroadcast) -> Any:
        """The job, with its recipients resolved from what this service knows now."""
        audience = cmd.audience
        chosen = select(literal(cmd.broadcast_id), learners.c.learner_id).where(
            learners.c.village_code.startswith(audience.region_code, autoescape=True)
        )
        if audience.learner_ids:
            chosen = chosen.where(learners.c.learner_id.in_(set(audience.learner_ids)))
        if audience.inactive_days is not None:
            since = cmd.at - timedelta(days=audience.inactive_days)
            chosen = chosen.where(
                func.coalesce(learners.c.last_activity_at, learners.c.updated_at) < since
            )
        if audience.course_id is not None:
            chosen = chosen.where(
                select(enrollments.c.enrollment_id)
                .where(
                    enrollments.c.learner_id == learners.c.learner_id,
                    enrollments.c.course_id == audience.course_id,
                    enrollments.c.state == "active",
                )
                .exists()
            )
        added = await self.conn.execute(
            insert(broadcast_recipients)
            .from_select(["broadcast_id", "learner_id"], chosen)
            .on_conflict_do_nothing()
            .returning(broadcast_recipients.c.learner_id)
        )
        total = len(added.all())
        return (
            await self.conn.execute(
                insert(broadcasts)
                .values(
                    broadcast_id=cmd.broadcast_id,
                    sender=cmd.sender,
                    region_code=audience.region_code,
                    course_id=audience.course_id,
                    inactive_days=audience.inactive_days,
                    title=cmd.title,
                    body=cmd.body,
                    state="running" if total else "done",
                    total=total,
                    created_at=cmd.at,
                    finished_at=None if total else cmd.at,
                )
                .returning(*broadcasts.c)
            )
        ).one()

    # supervisors' digests by e-mail
    async def save_digest_subscriber(self, cmd: commands.SubscribeToDigest) -> None:
        values = {"region_code": cmd.region_code, "email": cmd.email, "updated_at": cmd.at}
        await self.conn.execute(
            insert(digest_subscribers)
            .values(subject=cmd.subject, **values)
            .on_conflict_do_update(index_elements=["subject"], set_=values)
        )

    async def digest_subscribers(self, region_code: str) -> list[tuple[str, str]]:
        """(subject, e-mail) of the supervisors of exactly this region who want it."""
        rows = await self.conn.execute(
            select(digest_subscribers.c.subject, digest_subscribers.c.email)
            .where(digest_subscribers.c.region_code == region_code)
            .order_by(digest_subscribers.c.subject)
        )
        return [(r.subject, r.email) for r in rows]
