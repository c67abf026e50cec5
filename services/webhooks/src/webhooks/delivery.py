"""The delivery worker: posts due deliveries to their endpoints, signed, and records what
happened.

One loop per replica: in one transaction per round it records the outcomes that came in and
claims due deliveries for every enabled endpoint that has room (at most
``DELIVERY_CONCURRENCY`` in flight per endpoint), then starts a task per delivery. It wakes
when a send finishes (that learner's next event may be due now) and every
``DELIVERY_POLL_SECONDS`` (new events, retries coming due, endpoints enabled). A failed
attempt is retried on the schedule of :class:`~webhooks.domain.model.RetryPolicy`; once the
window is over it becomes a dead letter of its endpoint, and the learner's next event goes.
Every attempt of a delivery carries the same ``webhook-id`` (the event id).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict, deque
from contextlib import suppress
from datetime import datetime, timedelta

from prometheus_client import Counter
from standardwebhooks import Webhook

from servicekit.service import Runtime

from .dependencies import WebhooksDependencies
from .settings import WebhooksSettings
from .signing import signed_headers, signer
from .store.queue import Claimed, Outcome, Queue, Result, Target
from .transport import Answer

log = logging.getLogger(__name__)
ATTEMPTS = Counter("lms_webhook_attempts_total", "Webhook delivery attempts by result", ["result"])
# how long a stopping worker waits for the sends in flight
STOP_GRACE_SECONDS = 10.0
# the longest an outcome waits to be recorded (and its learner's next event to be claimed)
RECORD_WITHIN_SECONDS = 0.05


class DeliveryWorker:
    def __init__(self, runtime: Runtime[WebhooksSettings, WebhooksDependencies]) -> None:
        # attempts are counted (metrics) and logged (the delivery log), not a line per request
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.settings = runtime.settings
        self.clock = runtime.clock
        self.sender = runtime.deps.sender
        self.secrets = runtime.deps.secrets
        self.retries = runtime.settings.retries
        self.queue = Queue(runtime.database)
        self.lease = timedelta(seconds=self.settings.delivery_lease_seconds)
        self.targets: dict[uuid.UUID, Target] = {}
        self.signers: dict[uuid.UUID, Webhook] = {}
        self.in_flight: dict[uuid.UUID, int] = defaultdict(int)
        # claimed and leased, waiting for a free slot: a finished send starts the next at once
        self.ready: dict[uuid.UUID, deque[Claimed]] = defaultdict(deque)
        self.touched: set[uuid.UUID] = set()
        self.outcomes: list[Outcome] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_tick = housekeeping_due = loop.time()
        try:
            while not stopping.is_set():
                self.wake.clear()
                tick = loop.time() >= next_tick
                if tick:
                    next_tick = loop.time() + self.settings.delivery_poll_seconds
                try:
                    await self.advance(everyone=tick)
                    if loop.time() >= housekeeping_due:
                        housekeeping_due = loop.time() + self.settings.housekeeping_every_seconds
                        await self.housekeeping()
                except Exception:
                    log.exception("webhook delivery round failed; trying again")
                pause = max(0.0, next_tick - loop.time())
                if self.outcomes:
                    pause = min(pause, RECORD_WITHIN_SECONDS)
                await self._pause(stopping, pause)
        finally:
            await self._finish()

    async def _pause(self, stopping: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _finish(self) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STOP_GRACE_SECONDS)
        for task in self.tasks:
            task.cancel()
        unsent = [d.delivery_id for waiting in self.ready.values() for d in waiting]
        with suppress(Exception):
            async with self.queue.round() as conn:
                await self.queue.record(conn, self.outcomes)
                await self.queue.release(conn, unsent)
        await self.sender.close()

    async def advance(self, *, everyone: bool) -> int:
        """One round, in one transaction: record the outcomes that came in (a learner's
        next event is due once its previous one is settled), then claim what is due, at
        every tick for every enabled endpoint, between ticks for those whose sends finished;
        start the claimed sends once the round has committed. Returns how many started."""
        now = self.clock()
        if everyone or not self.targets:
            self.targets = {t.endpoint_id: t for t in await self.queue.targets(now)}
        chosen = list(self.targets) if everyone else [e for e in self.touched if e in self.targets]
        self.touched.clear()
        outcomes, self.outcomes = self.outcomes, []
        # claimed for an endpoint disabled (or removed) since: let go, so it waits in order
        dropped = [e for e in self.ready if e not in self.targets and self.ready[e]]
        released = [d for e in dropped for d in self.ready.pop(e)]
        claimed: list[Claimed] = []
        try:
            async with self.queue.round() as conn:
                await self.queue.record(conn, outcomes)
                await self.queue.release(conn, [d.delivery_id for d in released])
                for endpoint_id in chosen:
                    room = self.room(endpoint_id)
                    if room > 0:
                        claimed += await self.queue.claim(conn, endpoint_id, now, room, self.lease)
        except BaseException:
            self.outcomes = outcomes + self.outcomes  # recorded in the next round
            for delivery in released:
                self.ready[delivery.endpoint_id].append(delivery)
            raise
        for delivery in claimed:
            self.ready[delivery.endpoint_id].append(delivery)
        for endpoint_id in {d.endpoint_id for d in claimed}:
            self._fill(endpoint_id)
        return len(claimed)

    def room(self, endpoint_id: uuid.UUID) -> int:
        """How many more to claim: enough to keep every slot busy until the next round."""
        held = self.in_flight[endpoint_id] + len(self.ready[endpoint_id])
        return 2 * self.settings.delivery_concurrency - held

    def _fill(self, endpoint_id: uuid.UUID) -> None:
        waiting, target = self.ready[endpoint_id], self.targets.get(endpoint_id)
        while waiting and self.in_flight[endpoint_id] < self.settings.delivery_concurrency:
            claimed = waiting.popleft()
            if target is None:  # disabled meanwhile: its lease runs out, it waits
                continue
            self._start(target, claimed)

    def _start(self, target: Target, claimed: Claimed) -> None:
        self.in_flight[target.endpoint_id] += 1
        task = asyncio.create_task(self._deliver(target, claimed))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, target: Target, claimed: Claimed) -> None:
        attempted_at = self.clock()
        try:
            signers = [self._signer(secret_id, sealed) for secret_id, sealed in target.secrets]
            headers = signed_headers(str(claimed.event_id), claimed.body, signers, attempted_at)
            answer = await self.sender.post(target.url, claimed.body.encode(), headers)
        except Exception as exc:
            log.exception("delivery %s failed unexpectedly", claimed.delivery_id)
            answer = Answer(None, f"{type(exc).__name__}: {exc}", 0)
        finally:
            self.in_flight[target.endpoint_id] -= 1
        self.outcomes.append(self._judge(target, claimed, attempted_at, answer))
        self._fill(target.endpoint_id)
        self.touched.add(target.endpoint_id)
        # a round for a batch of outcomes, or to top up the claimed ones; a few outcomes
        # alone wait at most RECORD_WITHIN_SECONDS
        batch = self.settings.delivery_concurrency
        if len(self.outcomes) >= batch or len(self.ready[target.endpoint_id]) < batch:
            self.wake.set()

    def _judge(
        self, target: Target, claimed: Claimed, attempted_at: datetime, answer: Answer
    ) -> Outcome:
        error = answer.error[:1000] if answer.error else None

        def outcome(result: Result, retry_at: datetime | None = None) -> Outcome:
            ATTEMPTS.labels(result.value).inc()
            return Outcome(
                claimed,
                result,
                attempted_at,
                answer.status_code,
                error,
                answer.duration_ms,
                retry_at,
            )

        if answer.delivered:
            return outcome(Result.DELIVERED)
        now = self.clock()
        retry_at = self.retries.next_attempt(
            claimed.failures + 1, now, claimed.queued_at, target.enabled_at
        )
        if retry_at is None:
            log.warning(
                "webhook delivery dead-lettered: endpoint %s, event %s, queued %s ago: %s",
                target.endpoint_id,
                claimed.event_id,
                now - claimed.queued_at,
                error,
            )
            return outcome(Result.DEAD)
        return outcome(Result.RETRY, retry_at)

    def _signer(self, secret_id: uuid.UUID, sealed: bytes) -> Webhook:
        known = self.signers.get(secret_id)
        if known is None:
            known = self.signers[secret_id] = signer(self.secrets.open(sealed))
        return known

    async def housekeeping(self) -> None:
        s, now = self.settings, self.clock()
        dropped = await self.queue.purge(
            now,
            delivered_before=now - timedelta(days=s.delivery_log_days),
            dead_before=now - timedelta(days=s.dead_letter_days),
            events_before=now - timedelta(days=s.event_retention_days),
        )
        if dropped:
            log.info("webhook housekeeping dropped %d rows past keeping", dropped)


async def delivery_worker(runtime: Runtime[WebhooksSettings, WebhooksDependencies]) -> None:
    await DeliveryWorker(runtime).run(runtime.stopping)
