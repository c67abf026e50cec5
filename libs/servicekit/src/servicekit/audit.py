"""The audit log of dead letters that operators discarded (``LMS_AUDIT``, ADR 13).

A discard removes a message for good from what the platform will apply, so what was removed,
why and by whom is kept: one entry per dead letter on
``lmsaudit.dead-letters.discarded.<consumer>``, with the reason, the operator, the time, what
the dead letter said (consumer, subject, event, deliveries, error) and the message itself, so
that a discard made in error can still be read back and published again. The stream keeps
entries two years and refuses deletes and purges through its API.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nats.errors
from nats.js import JetStreamContext

from .reading import reading
from .topology import AUDIT_STREAM, AUDIT_SUBJECT_PREFIX, discarded_subject

if TYPE_CHECKING:
    from .deadletters import DeadLetter

READ_BATCH = 500


@dataclass(frozen=True)
class Discard:
    """One discarded dead letter, as the audit log keeps it."""

    reason: str
    by: str
    discarded_at: datetime
    consumer: str
    subject: str
    event_id: str
    event_type: str
    deliveries: int
    error: str
    dead_letter_sequence: int
    dead_lettered_at: datetime | None
    message: str  # the message's bytes: as text if they are UTF-8, else "base64:..."

    def to_json(self) -> bytes:
        entry: dict[str, Any] = asdict(self)
        for key in ("discarded_at", "dead_lettered_at"):
            entry[key] = entry[key].isoformat() if entry[key] else None
        return json.dumps({"action": "dead_letter_discarded", **entry}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Discard:
        entry = json.loads(data)
        entry.pop("action", None)
        for key in ("discarded_at", "dead_lettered_at"):
            entry[key] = datetime.fromisoformat(entry[key]) if entry[key] else None
        return cls(**entry)


async def record_discard(js: JetStreamContext, letter: DeadLetter, *, reason: str, by: str) -> None:
    """Store the audit entry for discarding ``letter`` (at most once however often the
    discard is run: its ``Nats-Msg-Id`` names the dead letter)."""
    entry = Discard(
        reason=reason,
        by=by,
        discarded_at=datetime.now(UTC),
        consumer=letter.consumer,
        subject=letter.subject,
        event_id=letter.event_id,
        event_type=letter.event_type,
        deliveries=letter.deliveries,
        error=letter.error,
        dead_letter_sequence=letter.sequence,
        dead_lettered_at=letter.stored_at,
        message=_as_text(letter.data),
    )
    stored = letter.stored_at.isoformat() if letter.stored_at else ""
    await js.publish(
        discarded_subject(letter.consumer or "unknown"),
        entry.to_json(),
        headers={"Nats-Msg-Id": f"discard:{letter.sequence}:{stored}"},
        stream=AUDIT_STREAM,
    )


async def list_discards(js: JetStreamContext, consumer: str | None = None) -> list[Discard]:
    """Every discard kept (of one consumer's dead letters), oldest first."""
    subject = (
        discarded_subject(consumer)
        if consumer
        else f"{AUDIT_SUBJECT_PREFIX}.dead-letters.discarded.>"
    )
    found: list[Discard] = []
    async with reading(js, AUDIT_STREAM, subject) as (sub, pending):
        while pending > 0:
            try:
                batch = await sub.fetch(min(READ_BATCH, pending), timeout=5)
            except nats.errors.TimeoutError:
                break
            for msg in batch:
                pending = msg.metadata.num_pending
                found.append(Discard.from_json(msg.data))
    return found


def _as_text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()
