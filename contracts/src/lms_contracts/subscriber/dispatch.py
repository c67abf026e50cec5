"""From pulled messages to typed handlers, in order, each message settled once.

- a known event type with a handler: the handler runs, then the message is acknowledged;
- a known type without a handler: acknowledged (the integrator chose not to handle it);
- a type this version of the contracts does not know (the platform added a v1 type): logged
  once per type and acknowledged, so the consumer never stops on it;
- a known type whose payload does not validate: logged and terminated (retrying cannot fix
  it; the stream keeps it for a replay once the cause is found);
- a handler that raises (the integrator's database is away): the message and the rest of the
  batch are handed back with a growing delay, so they are delivered again, in order.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from ..envelope import CloudEvent, EventData
from ..registry import CATALOG_EVENTS, REGIONAL_EVENTS, MalformedEvent, UnknownEventType
from ..registry import parse_event as parse

log = logging.getLogger("lms_contracts.subscriber")
Handler = Callable[[CloudEvent[Any]], Awaitable[None]]
READABLE: tuple[type[EventData], ...] = (*REGIONAL_EVENTS, *CATALOG_EVENTS)
# seconds before a message whose handler failed is delivered again, by delivery count
RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)


class Message(Protocol):
    """What the dispatcher needs of a pulled message (nats-py's ``Msg`` has it)."""

    subject: str
    data: bytes

    @property
    def metadata(self) -> Any: ...

    async def ack(self) -> None: ...

    async def nak(self, delay: float | None = None) -> None: ...

    async def term(self) -> None: ...


def retry_delay(message: Message) -> float:
    delivered = message.metadata.num_delivered or 1
    return RETRY_DELAYS[min(delivered, len(RETRY_DELAYS)) - 1]


class Dispatcher:
    """The table of handlers by event type, and what happens to each pulled message."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.counts: Counter[str] = Counter()
        self._unknown: set[str] = set()
        # a replay starts the durables from the beginning; what is older than this is skipped
        self.since: datetime | None = None

    def register(self, events: Iterable[type[EventData]], handler: Handler) -> None:
        for event in events:
            if event not in READABLE:
                raise ValueError(
                    f"{event.__name__} ({event.event_type}) is not readable by regional systems"
                )
            if event.event_type in self.handlers:
                raise ValueError(f"a handler for {event.event_type} is already registered")
            self.handlers[event.event_type] = handler

    def handled(self) -> set[type[EventData]]:
        return {event for event in READABLE if event.event_type in self.handlers}

    async def deliver(self, messages: Sequence[Message]) -> None:
        """Handle ``messages`` in order; on a handler's failure hand back it and the rest."""
        for index, message in enumerate(messages):
            try:
                await self._one(message)
            except Exception:
                delay = retry_delay(message)
                log.exception(
                    "handler failed on %s; it and %d later messages come back in %.0f s",
                    message.subject,
                    len(messages) - index - 1,
                    delay,
                )
                self.counts["failed"] += 1
                for rest in messages[index:]:
                    await rest.nak(delay=delay)
                return

    async def _one(self, message: Message) -> None:
        try:
            event = parse(message.data)
        except UnknownEventType as exc:
            self._skip_unknown(message, exc)
            await message.ack()
            return
        except MalformedEvent as exc:
            log.error("malformed event on %s, terminated: %s", message.subject, exc)
            self.counts["malformed"] += 1
            await message.term()
            return
        handler = self.handlers.get(event.type)
        if handler is None or (self.since is not None and event.time < self.since):
            self.counts["skipped"] += 1
        else:
            await handler(event)
            self.counts["handled"] += 1
        await message.ack()

    def _skip_unknown(self, message: Message, error: UnknownEventType) -> None:
        self.counts["unknown"] += 1
        event_type = message.subject.split(".", 4)[:4]
        name = ".".join(event_type)
        if name not in self._unknown:
            self._unknown.add(name)
            log.warning(
                "%s; acknowledged and skipped (a newer lms-contracts knows it): %s",
                error,
                message.subject,
            )
