"""SMS and WhatsApp through one generic HTTP gateway.

Each message is one ``POST`` of JSON ``{"message_id", "channel", "to", "text"}`` to the
configured URL with

- the authentication header (default ``Authorization: Bearer <token>``),
- ``Idempotency-Key: <message_id>`` so a provider can drop a resend after a lost reply,
- the signature header (default ``X-Signature: sha256=<hex>``): HMAC-SHA256 of the exact body
  bytes with the shared secret, so the provider can tell the request came from us.

2xx is success; 408, 429 and 5xx (and network errors) are retried; other 4xx are permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from ..settings import NotificationSettings
from .base import OutgoingMessage, SendFailed

RETRYABLE = {408, 425, 429}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpGatewaySender:
    def __init__(self, settings: NotificationSettings) -> None:
        assert settings.gateway_url
        self.url = settings.gateway_url
        self.auth_header = settings.gateway_auth_header
        self.auth_value = (
            f"{settings.gateway_auth_scheme} {settings.gateway_auth_token}".strip()
            if settings.gateway_auth_token
            else None
        )
        self.signature_header = settings.gateway_signature_header
        self.secret = settings.gateway_signing_secret
        self.timeout = settings.gateway_timeout_seconds
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        # opened on first use, and again after a close: the sender outlives a delivery
        # worker that stopped and was restarted
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    def request_parts(self, message: OutgoingMessage) -> tuple[bytes, dict[str, str]]:
        payload = {
            "message_id": str(message.delivery_id),
            "channel": message.channel.value,
            "to": message.to,
            "text": message.text,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": str(message.delivery_id),
        }
        if self.auth_value:
            headers[self.auth_header] = self.auth_value
        if self.secret:
            headers[self.signature_header] = signature(self.secret, body)
        return body, headers

    async def send(self, message: OutgoingMessage) -> None:
        body, headers = self.request_parts(message)
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendFailed(f"gateway unreachable: {type(exc).__name__}", permanent=False) from exc
        if response.is_success:
            return
        status = response.status_code
        reason = f"gateway answered {status}: {response.text[:200]}"
        raise SendFailed(reason, permanent=status < 500 and status not in RETRYABLE)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
