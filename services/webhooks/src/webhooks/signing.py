"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``webhook-id`` (the event
id, the same on every attempt, so a receiver can drop a repeat), ``webhook-timestamp`` (the
attempt's time) and ``webhook-signature``, one ``v1,<base64 HMAC-SHA256>`` of
``id.timestamp.body`` per active secret, separated by spaces, so a receiver holding either
the old or the new secret accepts a delivery while a rotation overlaps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

CONTENT_TYPE = "application/json"
USER_AGENT = "lms-pamong-desa-webhooks/1"


def signer(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(
    message_id: str, body: str, signers: Sequence[Webhook], at: datetime
) -> dict[str, str]:
    if not signers:
        raise ValueError("an endpoint without an active secret cannot be signed for")
    return {
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(s.sign(message_id, at, body) for s in signers),
    }
