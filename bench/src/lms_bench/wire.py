"""What a phone's link carries: every byte of every request and answer (request line, headers
and body as sent; status line, headers and body as received, compressed as it travelled) and
every round trip, counted by an httpx transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


@dataclass
class Traffic:
    up: int = 0
    down: int = 0
    round_trips: int = 0
    # per step of the journey: (round trips, bytes up, bytes down)
    steps: dict[str, list[int]] = field(default_factory=dict)
    step: str = "other"

    @property
    def total(self) -> int:
        return self.up + self.down

    def count(self, *, up: int = 0, down: int = 0, trip: int = 0) -> None:
        self.up, self.down, self.round_trips = (
            self.up + up,
            self.down + down,
            self.round_trips + trip,
        )
        mine = self.steps.setdefault(self.step, [0, 0, 0])
        mine[0], mine[1], mine[2] = mine[0] + trip, mine[1] + up, mine[2] + down


def _headers_size(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2


def request_size(request: httpx.Request) -> int:
    line = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
    try:
        body = len(request.content)
    except httpx.RequestNotRead:
        body = 0
    return len(line) + _headers_size(request.headers) + body


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, traffic: Traffic) -> None:
        self.inner = inner
        self.traffic = traffic

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.traffic.count(down=len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts what crosses the wire; a body cut off counts only the bytes that arrived."""

    def __init__(self, traffic: Traffic, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.traffic = traffic
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.traffic.count(up=request_size(request), trip=1)
        response = await self.inner.handle_async_request(request)
        status = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n")
        self.traffic.count(down=status + _headers_size(response.headers))
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CountedStream(response.stream, self.traffic)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
