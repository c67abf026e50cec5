"""How the webhook bridge's refusals reach a client."""

from __future__ import annotations

from servicekit.problems import Refusal, Refusals

from ..domain.errors import (
    DeliveryNotFound,
    EndpointExists,
    EndpointNotFound,
    InvalidEndpointUrl,
    NotDeadLettered,
    WebhookError,
)

REFUSALS = Refusals(
    WebhookError,
    {
        InvalidEndpointUrl: Refusal(422, "invalid_endpoint_url"),
        EndpointExists: Refusal(409, "endpoint_exists"),
        EndpointNotFound: Refusal(404, "endpoint_not_found"),
        DeliveryNotFound: Refusal(404, "delivery_not_found"),
        NotDeadLettered: Refusal(409, "not_dead_lettered"),
    },
)
