"""Endpoints, deliveries and how a failed delivery is retried."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class DeliveryStatus(StrEnum):
    """``pending`` covers waiting, due, in flight and between retries."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: uuid.UUID
    url: str
    region_code: str
    event_types: tuple[str, ...]
    description: str | None
    enabled: bool
    enabled_at: datetime
    created_at: datetime
    updated_at: datetime


def covers(region_code: str, village_code: str) -> bool:
    """A region prefix (``74``, ``74.01``, ``74.01.01`` or a village) covers a village code."""
    return village_code == region_code or village_code.startswith(region_code + ".")


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt, then wait ``schedule[n-1]`` seconds after the n-th failure (the last wait
    repeats), until ``window`` has passed since the delivery was queued or its endpoint was
    last enabled, whichever is later; the attempt at the window's end is the last one."""

    schedule: Sequence[float]
    window: timedelta

    def delay(self, failures: int) -> timedelta:
        index = max(0, min(failures - 1, len(self.schedule) - 1))
        return timedelta(seconds=self.schedule[index])

    def deadline(self, queued_at: datetime, enabled_at: datetime) -> datetime:
        return max(queued_at, enabled_at) + self.window

    def next_attempt(
        self, failures: int, now: datetime, queued_at: datetime, enabled_at: datetime
    ) -> datetime | None:
        """When to try again after the ``failures``-th failure; None once the window is over
        (the delivery goes to the dead letters)."""
        deadline = self.deadline(queued_at, enabled_at)
        if now >= deadline:
            return None
        return min(now + self.delay(failures), deadline)

    def timeline(self) -> list[timedelta]:
        """Offsets of every attempt from the first, for a delivery that always fails."""
        at, failures = [timedelta(0)], 1
        while at[-1] < self.window:
            at.append(min(at[-1] + self.delay(failures), self.window))
            failures += 1
        return at
