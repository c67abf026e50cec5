"""The JetStream topology, declared in this one place and applied by ``lms topology apply``.

Services bind to their durable consumer and never declare streams or consumers themselves.
A service's durable consumer reads the whole stream and the service skips, unparsed, what it
does not consume (:class:`SubjectFilter`): with one subject per event type and village, a
subject-filtered consumer is delivered a few hundred messages a second by nats-server, an
unfiltered one tens of thousands (ADR 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from lms_contracts import EventData
from lms_contracts.subscriber.durables import consumer_configs as regional_consumer_configs

from .registry import consumers
from .registry import service as registered

STREAM = "LMS"
DLQ_STREAM = "LMS_DLQ"
DLQ_SUBJECT_PREFIX = "lmsdlq"
AUDIT_STREAM = "LMS_AUDIT"
AUDIT_SUBJECT_PREFIX = "lmsaudit"
REPLAY_SUBJECT_PREFIX = "lms.replay"
DAY = 24 * 3600.0
# The durable consumers deliver a message until it is settled: the service's consumer alone
# decides when to give up on one, and gives up only by storing it in LMS_DLQ (ADR 12). A
# server-side limit would leave a message behind, unacknowledged and unread, whenever that
# copy failed at the last delivery.
UNLIMITED = -1


@dataclass(frozen=True)
class TopologySettings:
    replicas: int = 1
    retention_days: float = 400.0
    duplicate_window_seconds: float = 120.0
    dlq_retention_days: float = 90.0
    audit_retention_days: float = 730.0
    # Only for a consumer that went silent holding a message (its process died, its
    # connection was lost): the server redelivers it after this long. Retries of failed
    # messages follow the consumer's nak delays (``servicekit.retries``), never a schedule
    # kept here.
    ack_wait_seconds: float = 30.0
    max_ack_pending: int = 20_000
    # regional subscribers whose consumers the operator creates (REGIONAL_SUBSCRIBERS=74,74.01)
    regions: tuple[str, ...] = ()


def event_filter(event: type[EventData]) -> str:
    return f"{event.event_type}.>" if event.regional else event.event_type


def replay_subject(consumer: str) -> str:
    return f"{REPLAY_SUBJECT_PREFIX}.{consumer}"


def dlq_subject(consumer: str) -> str:
    return f"{DLQ_SUBJECT_PREFIX}.{consumer}"


def discarded_subject(consumer: str) -> str:
    """Where the audit log keeps the dead letters of ``consumer`` that an operator discarded."""
    return f"{AUDIT_SUBJECT_PREFIX}.dead-letters.discarded.{consumer}"


def filter_subjects(service: str) -> list[str]:
    return [*(event_filter(e) for e in registered(service).consumes), replay_subject(service)]


class SubjectFilter:
    """NATS subject filters (``*`` one token, ``>`` the rest) matched in the client."""

    def __init__(self, filters: list[str]) -> None:
        self.filters = [f.split(".") for f in filters]
        self._seen: dict[str, bool] = {}

    def __call__(self, subject: str) -> bool:
        known = self._seen.get(subject)
        if known is None:
            tokens = subject.split(".")
            known = any(_matches(f, tokens) for f in self.filters)
            if len(self._seen) < 100_000:  # subjects repeat (type x village): remember them
                self._seen[subject] = known
        return known


def _matches(pattern: list[str], tokens: list[str]) -> bool:
    for i, part in enumerate(pattern):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(tokens) == len(pattern)


def interests(service: str) -> SubjectFilter | None:
    """What ``service``'s consumer applies: its event types and its own replay subject (None,
    everything, for a consumer the table does not know)."""
    consuming = {spec.name for spec in consumers()}
    return SubjectFilter(filter_subjects(service)) if service in consuming else None


def stream_config(settings: TopologySettings) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="Every LMS event; kept long enough to rebuild projections by replay",
        subjects=["lms.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=settings.retention_days * DAY,
        duplicate_window=settings.duplicate_window_seconds,
        num_replicas=settings.replicas,
        allow_direct=True,
    )


def dlq_stream_config(settings: TopologySettings) -> StreamConfig:
    return StreamConfig(
        name=DLQ_STREAM,
        description="Messages a consumer gave up on, kept for inspection and replay",
        subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=settings.dlq_retention_days * DAY,
        num_replicas=settings.replicas,
        allow_direct=True,
    )


def audit_stream_config(settings: TopologySettings) -> StreamConfig:
    """What operators did that removed data (a discarded dead letter, with its reason and the
    message itself): kept two years, and no entry can be deleted or purged through the API
    (ADR 13)."""
    return StreamConfig(
        name=AUDIT_STREAM,
        description="Audit log of operators' actions that removed data, with their reasons",
        subjects=[f"{AUDIT_SUBJECT_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=settings.audit_retention_days * DAY,
        num_replicas=settings.replicas,
        deny_delete=True,
        deny_purge=True,
    )


def consumer_config(service: str, settings: TopologySettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=service,
        description=(
            f"{service} service: pull, explicit ack, delivered until settled (the service "
            "dead-letters); the whole stream, filtered by the service"
        ),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=UNLIMITED,
        # no `backoff`: its delays would apply on top of the consumer's nak delays
        ack_wait=settings.ack_wait_seconds,
        max_ack_pending=settings.max_ack_pending,
        num_replicas=settings.replicas,
    )


async def _apply_stream(js: JetStreamContext, config: StreamConfig) -> str:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return "created"
    await js.update_stream(config)
    return "updated"


async def apply_topology(
    js: JetStreamContext, settings: TopologySettings | None = None
) -> dict[str, str]:
    """Create or update the streams and every durable consumer; safe to run again."""
    settings = settings or TopologySettings()
    applied = {
        STREAM: await _apply_stream(js, stream_config(settings)),
        DLQ_STREAM: await _apply_stream(js, dlq_stream_config(settings)),
        AUDIT_STREAM: await _apply_stream(js, audit_stream_config(settings)),
    }
    for service in (spec.name for spec in consumers()):
        config = consumer_config(service, settings)
        try:
            await js.consumer_info(STREAM, service)
            existed = True
        except NotFoundError:
            existed = False
        await js.add_consumer(STREAM, config)
        applied[f"{STREAM}/{service}"] = "updated" if existed else "created"
    for region in settings.regions:
        for regional in regional_consumer_configs(region):
            await js.add_consumer(STREAM, regional)
            applied[f"{STREAM}/{regional.durable_name}"] = "applied"
    return applied
