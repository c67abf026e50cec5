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


class LearnerNotFound(NotificationError):
    """A listed learner is unknown or outside the caller's region: the same answer for both,
    so that a foreign learner's existence is not revealed."""

    def __init__(self) -> None:
        super().__init__("a listed learner is not one of your region's learners")
        self.field = "learner_ids"


class NoRecipients(NotificationError):
    def __init__(self) -> None:
        super().__init__("no learner matches this filter")


class BroadcastNotFound(NotificationError):
    def __init__(self, broadcast_id: uuid.UUID) -> None:
        super().__init__("no message job with this id that you can see")
        self.broadcast_id = broadcast_id
