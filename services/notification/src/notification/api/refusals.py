"""How the notification service's refusals reach a client."""

from __future__ import annotations

from servicekit.problems import Refusal, Refusals

from ..domain.errors import (
    BroadcastNotFound,
    DeliveryNotFailed,
    DeliveryNotFound,
    LearnerNotFound,
    MessageNotFound,
    NoRecipients,
    NotificationError,
)

REFUSALS = Refusals(
    NotificationError,
    {
        MessageNotFound: Refusal(404, "message_not_found"),
        DeliveryNotFound: Refusal(404, "delivery_not_found"),
        DeliveryNotFailed: Refusal(409, "not_failed"),
        LearnerNotFound: Refusal(404, "learner_not_found"),
        NoRecipients: Refusal(422, "no_recipients"),
        BroadcastNotFound: Refusal(404, "broadcast_not_found"),
    },
)
