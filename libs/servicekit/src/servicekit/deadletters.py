"""List and replay dead-lettered messages (``lms dead-letters ...``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from .topology import DLQ_STREAM, DLQ_SUBJECT_PREFIX, replay_subject


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    consumer: str
    subject: str
    deliveries: int
    error: str
    stored_at: datetime | None
    data: bytes


async def list_dead_letters(
    js: JetStreamContext, consumer: str | None = None, limit: int = 1000
) -> list[DeadLetter]:
    info = await js.stream_info(DLQ_STREAM)
    found: list[DeadLetter] = []
    subject = f"{DLQ_SUBJECT_PREFIX}.{consumer}" if consumer else f"{DLQ_SUBJECT_PREFIX}.>"
    sequence = info.state.first_seq
    while sequence <= info.state.last_seq and len(found) < limit:
        try:
            raw = await js.get_msg(DLQ_STREAM, seq=sequence, subject=subject, next=True)
        except NotFoundError:
            break
        found.append(_dead_letter(raw))
        sequence = (raw.seq or sequence) + 1
    return found


async def replay_dead_letter(js: JetStreamContext, sequence: int) -> DeadLetter:
    """Send a dead letter back to the one consumer that gave up on it, then drop it."""
    letter = _dead_letter(await js.get_msg(DLQ_STREAM, seq=sequence))
    await js.publish(
        replay_subject(letter.consumer),
        letter.data,
        headers={"Nats-Msg-Id": f"replay:{sequence}:{uuid.uuid4()}"},
    )
    await js.delete_msg(DLQ_STREAM, sequence)
    return letter


def _dead_letter(raw: RawStreamMsg) -> DeadLetter:
    headers = raw.headers or {}
    return DeadLetter(
        sequence=raw.seq or 0,
        consumer=headers.get("Lms-Consumer", ""),
        subject=headers.get("Lms-Subject", ""),
        deliveries=int(headers.get("Lms-Deliveries", "0") or 0),
        error=headers.get("Lms-Error", ""),
        stored_at=getattr(raw, "time", None),
        data=raw.data or b"",
    )
