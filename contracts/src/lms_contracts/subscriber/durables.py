"""The regional system's durable consumers: their configuration, a replay from a point in
time, and the checkpoint each keeps on the server.

A regional NATS user may create only its own durables, each with its own filter (the filter
is part of the create subject its permissions allow), read them and reset them; it may not
delete them or read the stream's information. The operator's topology creates them with
:func:`consumer_configs` (the kit creates them the same way if they are missing). A replay
resets a durable to the start of the stream and skips what is older than its start time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from ..subjects import STREAM, catalog_consumer, regional_consumer, regional_filter
from ..v1 import CoursePublished

# the JetStream error code of a consumer that does not exist
CONSUMER_NOT_FOUND = 10014


@dataclass(frozen=True)
class Durable:
    name: str
    filter_subject: str


def learner_events(region_code: str) -> Durable:
    return Durable(regional_consumer(region_code), regional_filter(region_code))


def catalog(region_code: str) -> Durable:
    return Durable(catalog_consumer(region_code), CoursePublished.event_type)


def consumer_config(
    durable: Durable, *, max_ack_pending: int = 1000, ack_wait: float = 60.0
) -> ConsumerConfig:
    return ConsumerConfig(
        name=durable.name,
        durable_name=durable.name,
        description="regional subscriber: pull, explicit ack",
        filter_subject=durable.filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=max_ack_pending,
        ack_wait=ack_wait,
    )


def consumer_configs(region_code: str) -> list[ConsumerConfig]:
    """The region's two durables as the operator's topology creates them."""
    return [consumer_config(learner_events(region_code)), consumer_config(catalog(region_code))]


async def rewind(js: JetStreamContext, durables: list[Durable]) -> None:
    """Deliver ``durables`` again from the start of the stream (the server's consumer reset,
    nats-server 2.14+); a durable not created yet starts there anyway."""
    for durable in durables:
        response = await js._nc.request(
            f"$JS.API.CONSUMER.RESET.{STREAM}.{durable.name}",
            json.dumps({"seq": 1}).encode(),
            timeout=5,
        )
        error = json.loads(response.data).get("error")
        if error and error.get("err_code") != CONSUMER_NOT_FOUND:
            raise RuntimeError(f"could not rewind {durable.name}: {error}")


@dataclass(frozen=True)
class Checkpoint:
    """Where a durable stands: the server keeps it, so it survives the subscriber."""

    consumer: str
    filter_subject: str
    exists: bool
    acknowledged_sequence: int = 0
    acknowledged_at: datetime | None = None
    delivered_sequence: int = 0
    pending: int = 0
    awaiting_ack: int = 0
    redelivered: int = 0

    def describe(self) -> str:
        if not self.exists:
            return f"{self.consumer}: not created yet (the subscriber creates it on its first run)"
        when = self.acknowledged_at.isoformat() if self.acknowledged_at else "never"
        return (
            f"{self.consumer} ({self.filter_subject}): acknowledged up to stream sequence "
            f"{self.acknowledged_sequence} (last ack {when}); delivered up to "
            f"{self.delivered_sequence}; {self.pending} not yet delivered, "
            f"{self.awaiting_ack} awaiting acknowledgement, {self.redelivered} redelivered"
        )


async def checkpoint(js: JetStreamContext, durable: Durable) -> Checkpoint:
    try:
        info = await js.consumer_info(STREAM, durable.name)
    except NotFoundError:
        return Checkpoint(durable.name, durable.filter_subject, exists=False)
    return Checkpoint(
        consumer=durable.name,
        filter_subject=info.config.filter_subject or durable.filter_subject,
        exists=True,
        acknowledged_sequence=info.ack_floor.stream_seq if info.ack_floor else 0,
        acknowledged_at=info.ack_floor.last_active if info.ack_floor else None,
        delivered_sequence=info.delivered.stream_seq if info.delivered else 0,
        pending=info.num_pending or 0,
        awaiting_ack=info.num_ack_pending or 0,
        redelivered=info.num_redelivered or 0,
    )
