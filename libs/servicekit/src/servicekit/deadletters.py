"""List, replay and discard dead-lettered messages (``lms dead-letters ...``).

Reading goes through a short-lived consumer on ``LMS_DLQ`` (no acknowledgements, in memory),
so every dead letter that matches a :class:`DeadLetterFilter` is read, in stream order, a few
hundred per request: nothing is left out past some count. A replay publishes a dead letter on
``lms.replay.<consumer>``, which only that consumer reads, and deletes it from ``LMS_DLQ`` once
JetStream has acknowledged the copy, so running the same replay again finds nothing left to
send. If a replay stops between the two steps, the next run sends that message again: its
``Nats-Msg-Id`` is the same (JetStream drops it within the de-duplication window) and the
consumer's inbox ignores an event id it has applied. A discard does the same with the audit
log (:mod:`servicekit.audit`) in place of the replay subject: the dead letter, the reason and
who gave it are stored there before the dead letter is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from .audit import record_discard
from .dead_lettering import identify
from .reading import reading
from .topology import DLQ_STREAM, DLQ_SUBJECT_PREFIX, replay_subject

READ_BATCH = 500
REPLAY_BATCH = 100


@dataclass(frozen=True)
class DeadLetter:
    sequence: int  # in LMS_DLQ
    consumer: str
    subject: str  # where the message was read from
    event_type: str  # "" when it could not be parsed
    deliveries: int
    error: str
    stored_at: datetime | None
    data: bytes
    msg_id: str = ""
    event_id: str = ""  # "" when it could not be parsed


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters: of one consumer, of one event type, stored within a time range
    (``since`` included, ``until`` excluded); None matches any."""

    consumer: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def subject(self) -> str:
        return f"{DLQ_SUBJECT_PREFIX}.{self.consumer or '>'}"

    def matches(self, letter: DeadLetter) -> bool:
        if self.consumer is not None and letter.consumer != self.consumer:
            return False
        if self.event_type is not None and letter.event_type != self.event_type:
            return False
        stored = letter.stored_at
        if self.since is not None and (stored is None or stored < self.since):
            return False
        return not (self.until is not None and (stored is None or stored >= self.until))


EVERY = DeadLetterFilter()


@dataclass(frozen=True)
class DeadLetterPage:
    letters: list[DeadLetter]
    total: int  # every dead letter the filter matches, on all pages
    next_after: int | None  # ``after`` for the next page; None on the last one


async def iter_dead_letters(
    js: JetStreamContext, where: DeadLetterFilter = EVERY, *, after: int = 0
) -> AsyncGenerator[DeadLetter, None]:
    """Every dead letter ``where`` matches with a sequence above ``after``, oldest first."""
    async with reading(js, DLQ_STREAM, where.subject, after=after, since=where.since) as (
        sub,
        pending,
    ):
        while pending > 0:
            try:
                batch = await sub.fetch(min(READ_BATCH, pending), timeout=5)
            except nats.errors.TimeoutError:
                return  # what was pending has been deleted meanwhile
            for msg in batch:
                pending = msg.metadata.num_pending
                letter = _from_message(msg)
                if where.until is not None and letter.stored_at and letter.stored_at >= where.until:
                    return
                if where.matches(letter):
                    yield letter


async def count_dead_letters(js: JetStreamContext, where: DeadLetterFilter = EVERY) -> int:
    if where.event_type is None and where.until is None:
        async with reading(js, DLQ_STREAM, where.subject, since=where.since) as (_, pending):
            return pending  # the server counts by consumer and start time alone
    count = 0
    async with aclosing(iter_dead_letters(js, where)) as letters:
        async for _ in letters:
            count += 1
    return count


async def dead_letter_page(
    js: JetStreamContext, where: DeadLetterFilter = EVERY, *, after: int = 0, limit: int = 100
) -> DeadLetterPage:
    """Up to ``limit`` dead letters after sequence ``after``, and how many match in all."""
    letters: list[DeadLetter] = []
    async with aclosing(iter_dead_letters(js, where, after=after)) as found:
        async for letter in found:
            if len(letters) == limit:
                return DeadLetterPage(letters, await count_dead_letters(js, where), after)
            letters.append(letter)
            after = letter.sequence
    return DeadLetterPage(letters, await count_dead_letters(js, where), None)


async def list_dead_letters(
    js: JetStreamContext, consumer: str | None = None, *, where: DeadLetterFilter | None = None
) -> list[DeadLetter]:
    """All of them (of one consumer), oldest first."""
    where = where or DeadLetterFilter(consumer=consumer)
    async with aclosing(iter_dead_letters(js, where)) as found:
        return [letter async for letter in found]


Settle = Callable[[JetStreamContext, DeadLetter], Awaitable[None]]


async def replay_dead_letters(
    js: JetStreamContext, where: DeadLetterFilter = EVERY
) -> AsyncGenerator[DeadLetter, None]:
    """Replay every dead letter ``where`` matches, yielding each once it is replayed and
    removed (for a progress bar: :func:`count_dead_letters` gives the total first)."""
    async with aclosing(_settle_all(js, where, _publish_replay)) as settled:
        async for letter in settled:
            yield letter


async def discard_dead_letters(
    js: JetStreamContext, where: DeadLetterFilter, *, reason: str, by: str
) -> AsyncGenerator[DeadLetter, None]:
    """Discard every dead letter ``where`` matches: each is kept in the audit log with
    ``reason`` and ``by`` (who discarded it), then removed; yielded once removed."""
    async with aclosing(_settle_all(js, where, _auditor(reason, by))) as settled:
        async for letter in settled:
            yield letter


async def dead_letter_at(js: JetStreamContext, sequence: int) -> DeadLetter | None:
    """The dead letter stored at ``sequence``, or None if there is none (any more)."""
    try:
        raw = await js.get_msg(DLQ_STREAM, seq=sequence)
    except NotFoundError:
        return None
    return _dead_letter(
        raw.seq or sequence, raw.subject or "", raw.headers or {}, raw.data or b"", raw.time
    )


async def replay_dead_letter(js: JetStreamContext, sequence: int) -> DeadLetter | None:
    """Send one dead letter back to the one consumer that gave up on it, then drop it; None
    if there is no such dead letter (replayed or discarded already)."""
    letter = await dead_letter_at(js, sequence)
    if letter is not None:
        await _settle(js, [letter], _publish_replay)
    return letter


async def discard_dead_letter(
    js: JetStreamContext, sequence: int, *, reason: str, by: str
) -> DeadLetter | None:
    """Discard one dead letter (kept in the audit log); None if there is no such one."""
    letter = await dead_letter_at(js, sequence)
    if letter is not None:
        await _settle(js, [letter], _auditor(reason, by))
    return letter


async def _settle_all(
    js: JetStreamContext, where: DeadLetterFilter, settle: Settle
) -> AsyncGenerator[DeadLetter, None]:
    chunk: list[DeadLetter] = []
    async with aclosing(iter_dead_letters(js, where)) as found:
        async for letter in found:
            chunk.append(letter)
            if len(chunk) == REPLAY_BATCH:
                for settled in await _settle(js, chunk, settle):
                    yield settled
                chunk = []
    for settled in await _settle(js, chunk, settle):
        yield settled


async def _settle(
    js: JetStreamContext, letters: Sequence[DeadLetter], settle: Settle
) -> list[DeadLetter]:
    """Copy each where it goes (its consumer's replay subject, the audit log), then delete
    those JetStream took; the first failure is raised after that (running the command again
    carries on)."""
    copied = await asyncio.gather(
        *(settle(js, letter) for letter in letters), return_exceptions=True
    )
    sent = [letter for letter, r in zip(letters, copied, strict=True) if r is None]
    await asyncio.gather(*(js.delete_msg(DLQ_STREAM, letter.sequence) for letter in sent))
    failed = [r for r in copied if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    return sent


async def _publish_replay(js: JetStreamContext, letter: DeadLetter) -> None:
    if not letter.consumer:
        raise ValueError(f"dead letter {letter.sequence} names no consumer")
    stored = letter.stored_at.isoformat() if letter.stored_at else ""
    msg_id = f"replay:{letter.consumer}:{letter.sequence}:{stored}"
    await js.publish(replay_subject(letter.consumer), letter.data, headers={"Nats-Msg-Id": msg_id})


def _auditor(reason: str, by: str) -> Settle:
    if not reason.strip():
        raise ValueError("a discard needs a reason")

    async def audit(js: JetStreamContext, letter: DeadLetter) -> None:
        await record_discard(js, letter, reason=reason, by=by)

    return audit


def _from_message(msg: Msg) -> DeadLetter:
    meta = msg.metadata
    return _dead_letter(
        meta.sequence.stream, msg.subject, msg.headers or {}, msg.data, meta.timestamp
    )


def _dead_letter(
    sequence: int,
    stored_on: str,
    headers: dict[str, str],
    data: bytes,
    stored_at: datetime | None,
) -> DeadLetter:
    """A dead letter from what LMS_DLQ stored: the consumer's headers, or (for a message
    stored without them) the consumer its subject names."""
    event_id, event_type = identify(data)
    return DeadLetter(
        sequence=sequence,
        consumer=headers.get("Lms-Consumer") or stored_on.removeprefix(f"{DLQ_SUBJECT_PREFIX}."),
        subject=headers.get("Lms-Subject", ""),
        event_type=headers.get("Lms-Event-Type") or event_type,
        deliveries=int(headers.get("Lms-Deliveries", "0") or 0),
        error=headers.get("Lms-Error", ""),
        stored_at=stored_at,
        data=data,
        msg_id=headers.get("Nats-Msg-Id", ""),
        event_id=event_id,
    )
