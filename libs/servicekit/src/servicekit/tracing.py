"""Trace context across HTTP, the outbox, the relay and the consumers (OpenTelemetry, W3C).

Every event carries a ``traceparent`` (the CloudEvents distributed-tracing extension): the
trace of the request or the event that caused it. Spans are recorded and exported only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set: then the
HTTP request (FastAPI's own span), the outbox write, the relay's publish and each consumer's
apply are spans of that trace, sent over OTLP/HTTP. Without it nothing is recorded and the cost is a few string
operations per request and per event: the trace id still travels (the caller's
``traceparent`` header, else one derived from the correlation id), so that logs of one
request across services can be joined on it and a collector added later sees whole traces.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROPAGATOR = TraceContextTextMapPropagator()
# Operators' probes and scrapes are not traced.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# The trace context of the work at hand (a caller's header, the event being applied) while no
# span is recorded: what the events it writes continue.
parent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
tracer = trace.get_tracer("servicekit")


def _untraced(scope: Any) -> bool:
    return scope.get("path") in UNTRACED_PATHS


# FastAPI's own span of each request (named by method and route template, the caller's
# traceparent its parent), recorded once a tracer provider is set; its metrics and log
# signals stay off (metrics are Prometheus', logs are JSON lines).
HTTP_TELEMETRY: TelemetryConfig = {
    "tracing": True,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
    "exclude": _untraced,
}


class Tracing:
    """Whether spans are recorded in this process (set once, at start)."""

    enabled = False


def configure_tracing(service: str) -> bool:
    """Record spans and export them over OTLP/HTTP when an endpoint is configured; True if so.
    The exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout)."""
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    if Tracing.enabled:
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    Tracing.enabled = True
    log.info("tracing: spans exported over OTLP")
    return True


def valid(traceparent: str | None) -> str | None:
    if traceparent and TRACEPARENT.fullmatch(traceparent) and traceparent[3:35] != "0" * 32:
        return traceparent
    return None


def trace_id_of(correlation_id: str | None) -> str:
    """A correlation id that is a UUID is its own trace id; any other token is hashed to one,
    so that every event of one correlation id is of one trace."""
    if not correlation_id:
        return uuid.uuid4().hex
    try:
        return uuid.UUID(correlation_id).hex
    except ValueError:
        return hashlib.blake2b(correlation_id.encode(), digest_size=16).hexdigest()


def traceparent_for(event_id: uuid.UUID, correlation_id: str | None) -> str:
    """The ``traceparent`` of an event written now: the recorded span's, else the parent's
    trace with the event id as its span id, else a trace of the correlation id."""
    if Tracing.enabled:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            sampled = int(span_context.trace_flags)
            return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{sampled:02x}"
    parent = parent_var.get()
    trace_id, flags = (
        (parent[3:35], parent[53:55]) if parent else (trace_id_of(correlation_id), "01")
    )
    return f"00-{trace_id}-{event_id.hex[:16]}-{flags}"


@contextmanager
def span(
    name: str,
    traceparent: str | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    links: Sequence[str | None] = (),
    attributes: dict[str, str | int] | None = None,
) -> Iterator[Span | None]:
    """A recorded span (child of ``traceparent`` if given, else of the current span) while
    tracing is on; else only ``traceparent`` made the parent of what is written inside."""
    if not Tracing.enabled:
        token = parent_var.set(valid(traceparent)) if traceparent is not None else None
        try:
            yield None
        finally:
            if token is not None:
                parent_var.reset(token)
        return
    parent = None
    if valid(traceparent):
        parent = PROPAGATOR.extract({"traceparent": traceparent})
    linked = [Link(c) for c in (_context_of(t) for t in links) if c is not None]
    attached = otel_context.attach(parent) if parent is not None else None
    try:
        with tracer.start_as_current_span(
            name, kind=kind, links=linked, attributes=attributes
        ) as current:
            yield current
    finally:
        if attached is not None:
            otel_context.detach(attached)


def _context_of(traceparent: str | None) -> trace.SpanContext | None:
    if not valid(traceparent):
        return None
    extracted = PROPAGATOR.extract({"traceparent": traceparent})
    span_context = trace.get_current_span(extracted).get_span_context()
    return span_context if span_context.is_valid else None
