"""The delivery worker: sends pending e-mail, SMS and WhatsApp deliveries.

Every replica runs one loop per channel, so a slow or broken channel only ever holds up its
own rows. A loop claims due rows with ``FOR UPDATE SKIP LOCKED`` and leases them (pushes
``next_attempt_at`` past the lease) in a short transaction, sends outside any transaction, and
records each result in its own transaction. If a replica dies mid-send the lease runs out and
another replica takes the row: delivery to the provider is at least once, which the gateway's
``Idempotency-Key`` and the e-mail ``Message-ID`` let a provider collapse.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from servicekit.regions import timezone_of
from servicekit.service import Runtime

from .channels import OutgoingMessage, SendFailed
from .dependencies import NotificationDependencies
from .domain.model import INTRUSIVE, Channel, DeliveryState, Recipient
from .domain.policy import quiet_until, retry_delay
from .settings import NotificationSettings
from .store.queries import preferences_from_row
from .store.tables import deliveries, learners, preferences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    channel: Channel
    attempts: int
    subject: str
    text: str
    html: str | None
    recipient: Recipient
    quiet_until: datetime | None
    allowed: bool


def _prefixed(row: Any, prefix: str) -> SimpleNamespace:
    mapping = row._mapping
    return SimpleNamespace(
        **{key[len(prefix) :]: mapping[key] for key in mapping if key.startswith(prefix)}
    )


class DeliveryWorker:
    """Works off the deliveries of every channel that has a sender, on the runtime's clock."""

    def __init__(self, runtime: Runtime[NotificationSettings, NotificationDependencies]) -> None:
        self.database = runtime.database
        self.settings = runtime.settings
        self.clock = runtime.clock
        self.senders = runtime.deps.senders
        self.defaults = runtime.settings.default_preferences

    async def claim(self, channel: Channel, now: datetime) -> list[Claimed]:
        s = self.settings
        due = (
            select(deliveries.c.delivery_id)
            .where(
                deliveries.c.state == DeliveryState.PENDING.value,
                deliveries.c.channel == channel.value,
                deliveries.c.next_attempt_at <= now,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(s.delivery_batch_size)
            .with_for_update(skip_locked=True)
        )
        lease_until = now + timedelta(seconds=s.delivery_lease_seconds)
        async with self.database.transaction() as tx:
            ids = (
                await tx.conn.execute(
                    update(deliveries)
                    .where(deliveries.c.delivery_id.in_(due.scalar_subquery()))
                    .values(next_attempt_at=lease_until, updated_at=now)
                    .returning(deliveries.c.delivery_id)
                )
            ).scalars()
            rows = (
                await tx.conn.execute(
                    select(
                        deliveries,
                        learners.c.village_code,
                        learners.c.full_name,
                        learners.c.phone,
                        learners.c.email.label("email_address"),
                        *(c.label(f"pref_{c.name}") for c in preferences.c),
                    )
                    .outerjoin(learners, learners.c.learner_id == deliveries.c.learner_id)
                    .outerjoin(preferences, preferences.c.learner_id == deliveries.c.learner_id)
                    .where(deliveries.c.delivery_id.in_(list(ids)))
                )
            ).all()
        return [self._claimed(row, channel, now) for row in rows]

    def _claimed(self, row: Any, channel: Channel, now: datetime) -> Claimed:
        prefs = preferences_from_row(
            _prefixed(row, "pref_") if row.pref_learner_id is not None else None,
            self.defaults,
        )
        if row.address is not None:  # a supervisor's digest: their address, no quiet hours
            recipient = Recipient(row.delivery_id, "", None, None, row.address)
            return Claimed(
                row.delivery_id,
                channel,
                row.attempts,
                row.subject,
                row.body_text,
                row.body_html,
                recipient,
                None,
                True,
            )
        recipient = Recipient(
            row.learner_id, row.village_code, row.full_name, row.phone, row.email_address
        )
        quiet = None
        if channel in INTRUSIVE:
            quiet = quiet_until(now, timezone_of(row.village_code), prefs.quiet_hours)
        return Claimed(
            row.delivery_id,
            channel,
            row.attempts,
            row.subject,
            row.body_text,
            row.body_html,
            recipient,
            quiet,
            prefs.allows(channel),
        )

    async def run_once(self, channel: Channel) -> int:
        """Claim and work off one batch of due deliveries of a channel; returns how many."""
        now = self.clock()
        claimed = await self.claim(channel, now)
        await asyncio.gather(*(self._deliver(item, now) for item in claimed))
        return len(claimed)

    async def _deliver(self, item: Claimed, now: datetime) -> None:
        if item.quiet_until is not None:
            await self._defer(item.delivery_id, item.quiet_until, now)
            return
        address = item.recipient.address(item.channel)
        if not item.allowed:
            await self._failed(item, now, "the learner turned this channel off", permanent=True)
            return
        if not address:
            await self._failed(item, now, f"no {item.channel.value} address", permanent=True)
            return
        message = OutgoingMessage(
            item.delivery_id, item.channel, address, item.subject, item.text, item.html
        )
        try:
            await self.senders[item.channel].send(message)
        except SendFailed as exc:
            await self._failed(item, now, str(exc), permanent=exc.permanent)
        except Exception as exc:
            log.exception("sending %s %s failed unexpectedly", item.channel, item.delivery_id)
            await self._failed(item, now, f"{type(exc).__name__}: {exc}", permanent=False)
        else:
            await self._record(
                item.delivery_id,
                state=DeliveryState.SENT.value,
                attempts=item.attempts + 1,
                sent_at=now,
                last_error=None,
                updated_at=now,
            )

    async def _defer(self, delivery_id: uuid.UUID, until: datetime, now: datetime) -> None:
        await self._record(delivery_id, next_attempt_at=until, updated_at=now)

    async def _failed(self, item: Claimed, now: datetime, reason: str, *, permanent: bool) -> None:
        attempts = item.attempts + 1
        if permanent or attempts >= self.settings.delivery_max_attempts:
            log.warning(
                "%s delivery %s failed for good: %s", item.channel, item.delivery_id, reason
            )
            await self._record(
                item.delivery_id,
                state=DeliveryState.FAILED_PERMANENT.value,
                attempts=attempts,
                last_error=reason[:1000],
                updated_at=now,
            )
            return
        delay = retry_delay(
            attempts,
            self.settings.delivery_retry_base_seconds,
            self.settings.delivery_retry_cap_seconds,
        )
        await self._record(
            item.delivery_id,
            attempts=attempts,
            next_attempt_at=now + delay,
            last_error=reason[:1000],
            updated_at=now,
        )

    async def _record(self, delivery_id: uuid.UUID, **values: Any) -> None:
        async with self.database.transaction() as tx:
            await tx.conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.state == DeliveryState.PENDING.value,
                )
                .values(**values)
            )

    async def run_channel(self, channel: Channel, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                handled = await self.run_once(channel)
            except Exception:
                log.exception("%s delivery loop failed; retrying", channel)
                handled = 0
            if handled == 0:
                await asyncio.sleep(self.settings.delivery_poll_seconds)

    async def close(self) -> None:
        for sender in {id(s): s for s in self.senders.values()}.values():
            await sender.close()


async def delivery_worker(runtime: Runtime[NotificationSettings, NotificationDependencies]) -> None:
    worker = DeliveryWorker(runtime)
    try:
        await asyncio.gather(*(worker.run_channel(ch, runtime.stopping) for ch in worker.senders))
    finally:
        await worker.close()
