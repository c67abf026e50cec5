"""Contract events -> commands: the webhook bridge's one subscription list.

Every learner event (those on regional subjects) is kept and queued for the endpoints whose
region and event types it matches; the body posted is the CloudEvent as the stream carries
it. The private events (a contact changed, someone was shown contacts) are not consumed
(ADR 5, ADR 15, ADR 22). The bridge publishes nothing, so there is no ``outbound`` module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lms_contracts as c
from servicekit.service import Together

from ..domain.commands import RecordEvent, RecordEvents

LEARNER_EVENTS: tuple[type[c.EventData], ...] = tuple(
    e for e in c.EVENT_TYPES.values() if e.regional
)


def record(event: c.CloudEvent[Any]) -> RecordEvent:
    data = event.data
    return RecordEvent(
        event_id=event.id,
        event_type=event.type,
        learner_id=data.learner_id,
        village_code=data.village_code,
        occurred_at=event.time,
        body=event.to_json().decode(),
    )


def record_all(events: Sequence[c.CloudEvent[Any]]) -> RecordEvents:
    return RecordEvents(tuple(record(event) for event in events))


def record_one(event: c.CloudEvent[Any]) -> RecordEvents:
    return record_all([event])


# a batch's events of every type together, in one statement (``store/received.py``); none is
# left to apply one by one, and one alone would be applied the same way
INBOUND: dict[type[c.EventData], Together] = dict.fromkeys(
    LEARNER_EVENTS, Together(batch=record_all, each=record_one)
)
