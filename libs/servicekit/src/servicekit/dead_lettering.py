"""What a consumer does with a message it failed on: nak it for a later delivery, or give up
on it by storing a copy in ``LMS_DLQ`` (and logging that it did).

Each copy carries the message's bytes and, in headers, what an operator needs to decide on it:
the consumer, the subject and stream sequence it was read from, its deliveries and the error.
Its ``Nats-Msg-Id`` is the consumer and stream sequence, so a copy stored twice (the consumer
stopped between storing and terminating) is dropped by JetStream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from lms_contracts import CloudEvent

from . import pauses
from .observability import DEAD_LETTERS, EVENTS_CONSUMED, event_id_var
from .retries import retry_delay
from .topology import dlq_subject

log = logging.getLogger(__name__)
# Deliveries past the consumer's ``max_deliver`` that are still tried (its dead-lettering was
# cut short by a stop); after that many more, a message is dead-lettered untried: one that
# kills the process handling it must not do so forever.
GIVEN_UP_UNTRIED = 3
# Paused, holding the messages in hand, until the attempt succeeds (Consumer._held).
Hold = Callable[[str, Exception, Callable[[], Awaitable[Any]]], Awaitable[None]]


class Settling:
    """The retry policy applied to a message that failed: a nak with the delay for its
    delivery, or at its ``max_deliver``-th, a copy in the dead-letter stream. The consumer is
    paused until that copy is stored (nothing is given up unstored)."""

    def __init__(
        self,
        consumer: str,
        js: JetStreamContext,
        max_deliver: int,
        retry_delays: Sequence[float],
        *,
        hold: Hold,
    ) -> None:
        self.consumer = consumer
        self.js = js
        self.max_deliver = max_deliver
        self.retry_delays = retry_delays
        self.hold = hold

    async def failed(self, msg: Msg, event: CloudEvent[Any], exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered or 1
        if deliveries >= self.max_deliver:
            await self.dead_letter(msg, exc)
            return
        delay = retry_delay(self.retry_delays, deliveries)
        token = event_id_var.set(str(event.id))
        try:
            log.warning(
                "handling %s failed (delivery %d), retry in %.1fs: %r",
                event.type,
                deliveries,
                delay,
                exc,
            )
        finally:
            event_id_var.reset(token)
        EVENTS_CONSUMED.labels(self.consumer, "retried").inc()
        await msg.nak(delay=delay)

    async def dead_letter(self, msg: Msg, exc: Exception) -> None:
        """Store a copy in the dead-letter stream, then terminate the message."""
        copy = DeadLetterCopy.of(self.consumer, msg, exc)

        async def store() -> None:
            await self.js.publish(dlq_subject(self.consumer), msg.data, headers=copy.headers)

        try:
            await store()
        except Exception as failed:
            await self.hold(pauses.DEAD_LETTER_STREAM, failed, store)
        DEAD_LETTERS.labels(self.consumer).inc()
        EVENTS_CONSUMED.labels(self.consumer, "dead_lettered").inc()
        copy.log()
        await msg.term()


def unsettled(msg: Msg) -> Exception:
    """Why a message delivered past every try is dead-lettered untried."""
    return RuntimeError(
        f"delivered {msg.metadata.num_delivered} times without being settled "
        "(its handling failed, or stopped the process, every time)"
    )


@dataclass(frozen=True)
class DeadLetterCopy:
    consumer: str
    event_id: str  # "" when the message cannot be parsed that far
    event_type: str
    stream_sequence: int
    deliveries: int
    error: str
    headers: dict[str, str]

    @classmethod
    def of(cls, consumer: str, msg: Msg, exc: BaseException) -> DeadLetterCopy:
        meta = msg.metadata
        event_id, event_type = identify(msg.data)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        headers = {
            "Nats-Msg-Id": f"{consumer}:{meta.sequence.stream}",
            "Lms-Consumer": consumer,
            "Lms-Subject": msg.subject,
            "Lms-Stream-Sequence": str(meta.sequence.stream),
            "Lms-Deliveries": str(meta.num_delivered),
            "Lms-Error": error,
        }
        if event_type:
            headers["Lms-Event-Type"] = event_type
        return cls(
            consumer,
            event_id,
            event_type,
            meta.sequence.stream,
            meta.num_delivered or 0,
            error,
            headers,
        )

    def log(self) -> None:
        """One line an operator can search by event id, type, consumer or error."""
        token = event_id_var.set(self.event_id or None)
        try:
            log.error(
                "dead-lettered event %s of type %s: consumer %s gave up after %d deliveries "
                "(stream sequence %d): %s",
                self.event_id or "(unreadable)",
                self.event_type or "(unknown)",
                self.consumer,
                self.deliveries,
                self.stream_sequence,
                self.error,
            )
        finally:
            event_id_var.reset(token)


def identify(data: bytes) -> tuple[str, str]:
    """The CloudEvent ``id`` and ``type`` of raw message bytes, as far as they can be read."""
    try:
        envelope = json.loads(data)
    except ValueError:
        return "", ""
    if not isinstance(envelope, dict):
        return "", ""
    found = envelope.get("id"), envelope.get("type")
    return tuple(v if isinstance(v, str) else "" for v in found)  # type: ignore[return-value]
