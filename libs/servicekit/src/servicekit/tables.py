"""Plumbing tables every service database has: outbox, inbox, idempotency keys."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


def plumbing_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    outbox = Table(
        "outbox",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("subject", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("correlation_id", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Index("outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
        Index("outbox_sent_at", "sent_at"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(64), primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("inbox_processed_at", "processed_at"),
    )
    idempotency = Table(
        "idempotency_keys",
        metadata,
        Column("scope", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("fingerprint", Text, nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox, idempotency
