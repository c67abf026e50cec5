"""What a consumer is waiting for while its infrastructure is away.

A consumer pauses when something other than its messages fails: the database cannot be
reached or cancels statements (a failover, a restart, a lock held by a migration), the
dead-letter stream does not store a copy, or the server refuses its pull requests (its
durable consumer was deleted, say). A pause costs the messages in hand none of their
deliveries; it shows in ``/readyz`` and in ``lms_consumer_paused``, and is logged when it
starts and when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .observability import CONSUMER_PAUSED, CONSUMER_PAUSES

log = logging.getLogger(__name__)

DATABASE = "database unavailable"
DEAD_LETTER_STREAM = "dead-letter stream unavailable"
PULL_REFUSED = "pull requests refused"


class ConsumerStopping(Exception):
    """The consumer was stopped while it waited for its infrastructure: the messages in hand
    go back to the server unsettled."""


@dataclass(frozen=True)
class Pause:
    reason: str  # one of the constants above
    error: str
    started: float  # the event loop's clock


class Pauses:
    """The pauses of one consumer now under way (the database and the dead-letter stream can
    be away at once, each waited for by its own task)."""

    def __init__(
        self, consumer: str, *, progress_every: float = 2.0, retry_max: float = 2.0
    ) -> None:
        self.consumer = consumer
        # how often the messages held are reported in progress (well within the server's
        # ack wait), and the longest wait between two tries of the infrastructure
        self.progress_every = progress_every
        self.retry_max = retry_max
        self._active: dict[str, Pause] = {}
        CONSUMER_PAUSED.labels(consumer).set(0)

    def begin(self, reason: str, error: BaseException | str) -> None:
        """Note a pause for ``reason`` (nothing changes if one is already under way)."""
        if reason in self._active:
            return
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._active[reason] = Pause(reason, text[:500], asyncio.get_running_loop().time())
        CONSUMER_PAUSED.labels(self.consumer).set(1)
        CONSUMER_PAUSES.labels(self.consumer, reason).inc()
        log.warning("consumer %s paused: %s: %s", self.consumer, reason, text)

    def end(self, reason: str) -> None:
        pause = self._active.pop(reason, None)
        if pause is None:
            return
        if not self._active:
            CONSUMER_PAUSED.labels(self.consumer).set(0)
        waited = asyncio.get_running_loop().time() - pause.started
        log.warning("consumer %s resumed after %.1fs: %s", self.consumer, waited, reason)

    async def wait_out(
        self,
        reason: str,
        exc: BaseException,
        attempt: Callable[[], Awaitable[object]],
        *,
        still_away: Callable[[Exception], bool],
        report: Callable[[], Awaitable[None]],
        stopping: Callable[[], bool],
    ) -> None:
        """Paused until ``attempt`` succeeds, calling ``report`` every ``progress_every``
        seconds; the caller ends the pause (one pause may span several waits). Raises :class:`ConsumerStopping` if the consumer is stopped first, and what
        ``attempt`` raises once ``still_away`` says it is no longer the infrastructure's
        fault."""
        loop = asyncio.get_running_loop()
        pause = 0.1
        next_try = loop.time() + pause
        next_report = loop.time() + self.progress_every
        self.begin(reason, exc)
        while True:
            if stopping():
                raise ConsumerStopping(reason)
            await asyncio.sleep(max(0.0, min(next_try, next_report) - loop.time()))
            if loop.time() >= next_report:
                await report()
                next_report = loop.time() + self.progress_every
            if loop.time() < next_try:
                continue
            try:
                await attempt()
                return
            except Exception as again:
                if not still_away(again):
                    raise
            pause = min(pause * 2, self.retry_max)
            next_try = loop.time() + pause

    @property
    def current(self) -> Pause | None:
        """The longest pause under way."""
        return min(self._active.values(), key=lambda p: p.started, default=None)

    def describe(self) -> dict[str, Any]:
        """For ``/readyz``: running, or paused since when and for what."""
        pause = self.current
        if pause is None:
            return {"state": "running"}
        seconds = asyncio.get_running_loop().time() - pause.started
        return {
            "state": "paused",
            "reason": pause.reason,
            "error": pause.error,
            "paused_for_seconds": round(seconds, 1),
        }
