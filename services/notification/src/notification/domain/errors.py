"""What the notification service refuses to do."""

from __future__ import annotations

import uuid


class NotificationError(Exception):
    """Base of the notification service's refusals."""


class MessageNotFound(NotificationError):
    def __init__(self, message_id: uuid.UUID) -> None:
        super().__init__("no message with this id in your inbox")
        self.message_id = message_id


class DeliveryNotFound(NotificationError):
    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__("no delivery has this id")
        self.delivery_id = delivery_id


class DeliveryNotFailed(NotificationError):
    """Only a delivery that failed for good goes back into the queue."""

    def __init__(self, delivery_id: uuid.UUID, state: str) -> None:
        super().__init__(f"only failed deliveries are retried; it is {state}")
        self.delivery_id = delivery_id
        self.state = state
