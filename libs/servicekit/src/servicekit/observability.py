"""Structured JSON logs carrying the event and correlation ids, and Prometheus metrics."""

from __future__ import annotations

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
CONSUMER_PAUSES = Counter(
    "lms_consumer_pauses_total",
    "Pauses of the consumer, by what it waited for",
    ["consumer", "reason"],
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
