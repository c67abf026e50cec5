"""The one sense of time of a service process, built in its composition root and passed down,
so that a test can hold it still or move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime:
        """Now, timezone-aware, in UTC."""
        ...


def system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move (tests)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, by: timedelta) -> None:
        self.now += by
