"""The connection-time address check, against a real HTTPS server on loopback: production
rules refuse it whatever the URL says, an allowed network lets it through, and the bridge's
CA bundle is what makes the test authority trusted."""

from __future__ import annotations

import pytest

from servicekit.testing.https import Certificates
from webhooks.settings import WebhooksSettings
from webhooks.transport import WebhookSender

from .conftest import receiver_at

pytestmark = pytest.mark.integration
HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}


async def post(settings: WebhooksSettings, url: str) -> tuple[int | None, str | None]:
    sender = WebhookSender(settings)
    try:
        answer = await sender.post(url, b"{}", HEADERS)
    finally:
        await sender.close()
    return answer.status_code, answer.error


async def test_production_rules_refuse_a_loopback_connection_even_by_name(
    certificates: Certificates,
) -> None:
    rules = WebhooksSettings(private_networks_allowed=False, ca_bundle=str(certificates.ca))
    async with receiver_at(certificates) as receiver:
        for url in (f"https://localhost:{receiver.port}/x", f"{receiver.url}/x"):
            status, error = await post(rules, url)
            assert status is None and error is not None
            assert "private, loopback or reserved address" in error
        assert receiver.receiver.received == []


async def test_an_allowed_network_is_reached_and_its_certificate_checked_against_the_name(
    certificates: Certificates,
) -> None:
    allowed = WebhooksSettings(
        private_networks_allowed=False,
        allowed_networks=["127.0.0.0/8"],
        ca_bundle=str(certificates.ca),
    )
    untrusted = WebhooksSettings(private_networks_allowed=False, allowed_networks=["127.0.0.0/8"])
    async with receiver_at(certificates) as receiver:
        assert await post(allowed, f"https://localhost:{receiver.port}/x") == (204, None)
        assert (await post(allowed, f"{receiver.url}/x"))[0] == 204
        status, error = await post(untrusted, f"{receiver.url}/x")
        assert status is None and "CERTIFICATE_VERIFY_FAILED" in (error or "")
        assert len(receiver.receiver.received) == 2
