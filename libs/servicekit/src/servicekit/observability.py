"""Structured JSON logs carrying the event and correlation ids, and Prometheus metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
service_name_var: ContextVar[str | None] = ContextVar("service", default=None)

HTTP_REQUESTS = Histogram(
    "lms_http_request_seconds", "HTTP request duration", ["method", "route", "status"]
)
EVENTS_CONSUMED = Counter(
    "lms_events_consumed_total", "Events handled by the consumer", ["consumer", "outcome"]
)
DEAD_LETTERS = Counter(
    "lms_dead_letters_total", "Messages moved to the dead-letter stream", ["consumer"]
)
RELAY_PUBLISHED = Counter("lms_outbox_published_total", "Outbox events published and acked")
RELAY_FAILURES = Counter(
    "lms_outbox_relay_failures_total", "Relay rounds that failed and backed off"
)
OUTBOX_BACKLOG = Gauge("lms_outbox_backlog", "Outbox rows not yet published")
OUTBOX_OLDEST_UNSENT_AGE = Gauge(
    "lms_outbox_oldest_unsent_age_seconds",
    "Age of the oldest outbox row not yet acknowledged by JetStream (0 when all are sent)",
)
NATS_CONNECTED = Gauge("lms_nats_connected", "1 while the process is connected to NATS, else 0")
CONSUMER_PAUSED = Gauge(
    "lms_consumer_paused",
    "1 while the consumer waits for its infrastructure (database, dead-letter stream, its "
    "durable consumer on the server), holding its messages; else 0",
    ["consumer"],
)
REDELIVERIES = Counter(
    "lms_consumer_redeliveries_total",
    "Messages of the consumed subjects received again (a nak, an ack wait that ran out)",
    ["consumer"],
)
CONSUMER_PENDING = Gauge(
    "lms_consumer_pending_messages",
    "Messages of the stream not yet delivered to the durable consumer (read at each scrape)",
    ["consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "lms_consumer_ack_pending_messages",
    "Messages delivered to the durable consumer and not yet acknowledged (read at each scrape)",
    ["consumer"],
)
CONSUMER_RUNNING = Gauge(
    "lms_consumer_running",
    "1 while the consumer's loop runs and its server answers about it, else 0",
    ["consumer"],
)
CHECK_OK = Gauge(
    "lms_check_ok",
    "1 while the check (database, nats, consumer) passes, as /readyz reports it, else 0",
    ["check"],
)
JOBS_ACTIVE = Gauge("lms_jobs_active", "Jobs pending or running, by kind", ["kind"])
JOB_ITEMS_REMAINING = Gauge(
    "lms_job_items_remaining",
    "Items of the active jobs not yet done, skipped or failed, by kind",
    ["kind"],
)
JOB_ITEMS_DONE = Gauge(
    "lms_job_items_done", "Items of the active jobs done so far, by kind", ["kind"]
)
JOB_OLDEST_ACTIVE_AGE = Gauge(
    "lms_job_oldest_active_age_seconds",
    "Age of the oldest job pending or running (0 when none is), by kind",
    ["kind"],
)
CONSUMER_PAUSES = Counter(
    "lms_consumer_pauses_total",
    "Pauses of the consumer, by what it waited for",
    ["consumer", "reason"],
)


ACCESS_LOG = logging.getLogger("lms.access")


class Pseudonyms:
    """A caller's subject as a short keyed hash: the same caller has the same pseudonym in
    every line of every service (sharing the key), and nobody without the key can tell whose
    it is by hashing candidate ids."""

    def __init__(self, secret: str) -> None:
        self.key = hashlib.blake2b(secret.encode(), person=b"lms-access-log").digest()

    def of(self, subject: str) -> str:
        return hashlib.blake2b(subject.encode(), key=self.key, digest_size=8).hexdigest()


def log_access(method: str, route: str, status: int, seconds: float, principal: str | None) -> None:
    """One line per request: the route's template, never its path or query (which may hold
    ids, names or tokens), and the caller only as a pseudonym."""
    ACCESS_LOG.info(
        "%s %s %d",
        method,
        route,
        status,
        extra={
            "access": {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "principal": principal,
            }
        },
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": service_name_var.get(),
            "event_id": event_id_var.get(),
            "correlation_id": correlation_id_var.get(),
        }
        access = record.__dict__.get("access")
        if access is not None:
            entry.update(access)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    service_name_var.set(service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
