"""HTTPS to the endpoints: one keep-alive client, timeouts, no redirects, and every
connection's address checked against the address policy (ADR 15).

The check sits in the connection pool's network backend: the name is resolved, every address
it has is checked, and the connection goes to a checked address, while TLS still verifies the
certificate against the name. So a name that resolves to a private address when a delivery
is made (DNS rebinding) is refused, not only one that did when it was registered.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from .domain.addresses import AddressPolicy
from .settings import WebhooksSettings

# what is kept of a response body for the delivery log
RESPONSE_SNIPPET_BYTES = 500


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve(host, port, timeout)
        refused = self.policy.refused(addresses)
        if refused:
            raise httpcore.ConnectError(
                f"{host} resolves to {refused[0]}: a private, loopback or reserved address"
            )
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("endpoints are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's authorities (certifi's), plus those of ``ca_bundle``."""
    context = httpx.create_ssl_context(trust_env=False)
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose network backend is :class:`GuardedBackend`
    (httpx does not take a backend; the pool is the one it would build, with it)."""

    def __init__(self, policy: AddressPolicy, context: ssl.SSLContext, limits: httpx.Limits):
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or the error that prevented one."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """Posts signed bodies; the client is opened on first use and closed by the worker."""

    def __init__(self, settings: WebhooksSettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            limits = httpx.Limits(
                max_connections=None, max_keepalive_connections=512, keepalive_expiry=30.0
            )
            self._client = httpx.AsyncClient(
                transport=GuardedTransport(s.addresses, ssl_context(s.ca_bundle), limits),
                timeout=httpx.Timeout(
                    s.delivery_timeout_seconds, connect=s.connect_timeout_seconds
                ),
                follow_redirects=False,
                trust_env=False,
                # the log keeps the first bytes of a response as they came
                headers={"accept-encoding": "identity"},
            )
        return self._client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        started = time.perf_counter()
        total = self.settings.delivery_timeout_seconds + self.settings.connect_timeout_seconds
        try:
            async with asyncio.timeout(total):
                status, snippet = await self._post(url, body, headers)
        except TimeoutError:
            return self._answer(started, None, f"no answer within {total:g} s")
        except httpx.TimeoutException as exc:
            return self._answer(started, None, f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return self._answer(started, None, f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return self._answer(started, status, None)
        reason = f"HTTP {status}"
        if 300 <= status < 400:
            reason += " (redirects are not followed)"
        if snippet:
            reason += f": {snippet}"
        return self._answer(started, status, reason)

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        async with self.client().stream("POST", url, content=body, headers=headers) as response:
            kept = bytearray()
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_SNIPPET_BYTES:
                    break
        text = bytes(kept[:RESPONSE_SNIPPET_BYTES]).decode("utf-8", "replace").strip()
        return response.status_code, text

    @staticmethod
    def _answer(started: float, status: int | None, error: str | None) -> Answer:
        return Answer(status, error, int((time.perf_counter() - started) * 1000))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
