"""Signatures a receiver checks with the standardwebhooks package: one per active secret,
the event id as webhook-id, and secrets sealed at rest under rotatable keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks.domain.model import new_secret
from webhooks.secretbox import SecretBox
from webhooks.signing import signed_headers, signer

BODY = '{"id":"4b0c7c4e-8f7e-4a53-9d7e-0a8f3c1e2d11","type":"lms.content.lesson-completed.v1"}'
EVENT_ID = "4b0c7c4e-8f7e-4a53-9d7e-0a8f3c1e2d11"


def test_every_active_secret_signs_and_each_verifies_alone() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers(EVENT_ID, BODY, [signer(new), signer(old)], datetime.now(UTC))
    assert headers["webhook-id"] == EVENT_ID
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers)["id"] == EVENT_ID
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY.replace("lesson", "lessen"), headers)


def test_a_stale_timestamp_is_refused_by_the_receiver() -> None:
    secret = new_secret()
    headers = signed_headers(EVENT_ID, BODY, [signer(secret)], datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_secrets_are_fresh_and_sealed_under_keys_that_rotate() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") for s in secrets)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = new_secret()
    sealed = SecretBox([old_key]).seal(secret)
    assert secret.encode() not in sealed
    both = SecretBox([new_key, old_key])
    resealed = both.reseal(sealed)
    assert SecretBox([new_key]).open(resealed) == secret
    with pytest.raises(ValueError, match="no longer configured"):
        SecretBox([new_key]).open(sealed)
