"""The webhooks database: endpoints, their sealed secrets, the events kept for replays, one
delivery per (endpoint, event) and the log of every attempt."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from servicekit.tables import plumbing_tables

metadata = MetaData()
outbox, inbox, idempotency_keys = plumbing_tables(metadata)

endpoints = Table(
    "endpoints",
    metadata,
    Column("endpoint_id", UUID(as_uuid=True), primary_key=True),
    Column("url", Text, nullable=False),
    Column("region_code", String(13), nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False),
    # since when it is enabled: the retry window of what waited meanwhile starts no earlier
    Column("enabled_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("url", "region_code", name="endpoints_once_per_url_and_region"),
)

# Fernet tokens (secretbox.py); a secret with no expiry is the current one.
endpoint_secrets = Table(
    "endpoint_secrets",
    metadata,
    Column("secret_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "endpoint_id",
        UUID(as_uuid=True),
        ForeignKey("endpoints.endpoint_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Index("endpoint_secrets_endpoint", "endpoint_id"),
)

# Every learner event received, the body exactly as it is posted; ``seq`` is the order of
# receipt, the order of a learner's deliveries.
events = Table(
    "events",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("event_type", Text, nullable=False),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("village_code", String(13), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Index("events_occurred", "occurred_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "endpoint_id",
        UUID(as_uuid=True),
        ForeignKey("endpoints.endpoint_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.event_id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(16), nullable=False),
    # failed attempts since it was (last) queued: the step of the retry schedule
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    # in flight until then (a worker that dies mid-send lets go when it runs out)
    Column("leased_until", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("dead_at", DateTime(timezone=True)),
    UniqueConstraint("endpoint_id", "event_id", name="deliveries_once_per_endpoint_and_event"),
    Index(
        "deliveries_due",
        "endpoint_id",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    # a learner's queue at an endpoint, in order
    Index(
        "deliveries_lane",
        "endpoint_id",
        "learner_id",
        "seq",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("deliveries_log", "endpoint_id", "status", "seq"),
    Index("deliveries_event", "event_id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("attempt_id", BigInteger, Identity(), primary_key=True),
    Column(
        "delivery_id",
        UUID(as_uuid=True),
        ForeignKey("deliveries.delivery_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("attempts_delivery", "delivery_id", "attempt_id"),
)
