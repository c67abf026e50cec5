"""What every HTTP request passes through before its route: correlation id, request metrics,
the body size cap, security headers, and the last-resort answer to an error nothing else
handled."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .headers import security_headers
from .observability import HTTP_REQUESTS, Pseudonyms, correlation_id_var, log_access
from .problems import BodyTooLarge, body_too_large_response, internal_error_response
from .tracing import Tracing, parent_var, valid

# Probes and scrapes (every few seconds, per pod) are counted in the metrics, not logged.
UNLOGGED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# A caller's correlation id is echoed in headers and logs: visible ASCII only, bounded.
CORRELATION_ID = re.compile(rb"[\x21-\x7e]{1,100}")


def correlation_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Correlation-Id`` if it is a plain token, else a fresh one (never an
    error: an id is for following a request, not a reason to refuse it)."""
    for name, value in headers:
        if name == b"x-correlation-id" and CORRELATION_ID.fullmatch(value):
            return value.decode("ascii")
    return str(uuid.uuid4())


class BodyLimits:
    """The cap on a request body: ``default`` bytes, or more for the routes (path templates
    such as ``/v1/courses/{course_id}/attachments``) that take large uploads."""

    def __init__(self, default: int, routes: Mapping[str, int] | None = None) -> None:
        self.default = default
        self.routes = [(compile_path(path)[0], cap) for path, cap in (routes or {}).items()]

    def of(self, path: str) -> int:
        for pattern, cap in self.routes:
            if pattern.match(path):
                return cap
        return self.default


class RequestContext:
    """Correlation id, request metrics, a body size cap and security headers, as plain ASGI
    middleware.

    The body is counted as it is received, whatever its transfer encoding: a request whose
    declared length is over the cap is refused before its body is read, and one whose body
    grows past the cap (chunked, say) is refused at that chunk, before the route runs or the
    caller is authenticated, and with nothing more than one chunk held in memory.

    An error that reaches it unhandled is answered here with a 500 problem and not raised
    further: raised, the server would close the client's connection, and the client's next
    request on it would fail too. Only an error after the response started, whose body is
    cut short, still closes the connection."""

    def __init__(
        self, app: ASGIApp, body_limits: BodyLimits, pseudonyms: Pseudonyms | None = None
    ) -> None:
        self.app = app
        self.body_limits = body_limits
        # None: no access log
        self.pseudonyms = pseudonyms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        correlation_id = correlation_id_of(headers)
        token = correlation_id_var.set(correlation_id)
        # With tracing on, FastAPI's own span of the request carries the caller's trace
        # context (servicekit.tracing); off, the events written continue the caller's trace.
        caller_trace = None if Tracing.enabled else traceparent_of(headers)
        trace_token = parent_var.set(caller_trace) if caller_trace else None
        try:
            await self._serve(scope, receive, send, correlation_id)
        finally:
            if trace_token is not None:
                parent_var.reset(trace_token)
            correlation_id_var.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, correlation_id: str) -> None:
        cap = self.body_limits.of(scope["path"])
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", correlation_id.encode()),
                    *security_headers(message.get("headers", [])),
                ]
            await send(message)

        try:
            if declared_over(scope, cap):
                await body_too_large_response(cap)(scope, receive, send_with_context)
                return
            await self.app(scope, capped(receive, cap), send_with_context)
        except BodyTooLarge as exc:
            if response_started:
                raise
            await body_too_large_response(exc.max_bytes)(scope, receive, send_with_context)
        except Exception as exc:
            if response_started:
                raise
            answer = internal_error_response(scope.get("path"), exc)
            await answer(scope, receive, send_with_context)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).observe(seconds)
            if self.pseudonyms is not None and route not in UNLOGGED_ROUTES:
                principal = (scope.get("state") or {}).get("principal")
                subject = getattr(principal, "subject", None)
                hashed = self.pseudonyms.of(subject) if subject else None
                log_access(method, route, status, seconds, hashed)


def route_template(scope: Scope) -> str:
    """The template of the route answering (``/v1/learners/{learner_id}``), never an id or a
    filter of the request: what logs and metrics may name; ``unmatched`` for no route."""
    return getattr(scope.get("route"), "path", "unmatched")


def traceparent_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's W3C ``traceparent``, if it is well formed."""
    for name, value in headers:
        if name == b"traceparent":
            return valid(value.decode("latin-1"))
    return None


def declared_over(scope: Scope, cap: int) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            return value.isdigit() and int(value) > cap
    return False


def capped(receive: Receive, cap: int) -> Receive:
    """``receive`` that counts the body's bytes and raises :class:`BodyTooLarge` at the first
    chunk that takes them past ``cap``."""
    received = 0

    async def receive_capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise BodyTooLarge(cap)
        return message

    return receive_capped
