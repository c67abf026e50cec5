"""What the webhook bridge refuses to do."""

from __future__ import annotations

import uuid


class WebhookError(Exception):
    """Base of the webhook bridge's refusals."""


class InvalidEndpointUrl(WebhookError):
    """The URL is not one the bridge may post to (scheme, form or address)."""

    field = "url"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EndpointExists(WebhookError):
    field = "url"

    def __init__(self, url: str, region_code: str) -> None:
        super().__init__(f"an endpoint for {url} and region {region_code} is already registered")


class EndpointNotFound(WebhookError):
    def __init__(self, endpoint_id: uuid.UUID) -> None:
        super().__init__("no endpoint has this id")
        self.endpoint_id = endpoint_id


class DeliveryNotFound(WebhookError):
    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__("this endpoint has no delivery with this id")
        self.delivery_id = delivery_id


class NotDeadLettered(WebhookError):
    """Only a dead letter is redelivered; a pending delivery is still being tried."""

    def __init__(self, delivery_id: uuid.UUID, status: str) -> None:
        super().__init__(f"only dead letters are redelivered; this delivery is {status}")
        self.delivery_id = delivery_id
        self.status = status
