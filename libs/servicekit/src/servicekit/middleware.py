"""What every HTTP request passes through before its route: correlation id, request metrics,
the body size cap, and the last-resort answer to an error nothing else handled."""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .observability import HTTP_REQUESTS, correlation_id_var
from .problems import internal_error_response, problem_response


class RequestContext:
    """Correlation id, request metrics and a body size cap, as plain ASGI middleware.

    An error that reaches it unhandled is answered here with a 500 problem and not raised
    further: raised, the server would close the client's connection, and the client's next
    request on it would fail too. Only an error after the response started, whose body is
    cut short, still closes the connection."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        correlation_id = (headers.get(b"x-correlation-id") or b"").decode()[:100] or str(
            uuid.uuid4()
        )
        token = correlation_id_var.set(correlation_id)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await problem_response(
                413, "payload_too_large", f"request body exceeds {self.max_body_bytes} bytes"
            )(scope, receive, send)
            correlation_id_var.reset(token)
            return
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception as exc:
            if response_started:
                raise
            answer = internal_error_response(scope.get("path"), exc)
            await answer(scope, receive, send_with_context)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
            correlation_id_var.reset(token)
