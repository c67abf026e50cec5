"""How long a failing delivery is tried: at least 72 hours from when it was queued or its
endpoint was enabled, on the documented schedule, the last attempt at the window's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from webhooks.settings import WebhooksSettings

POLICY = WebhooksSettings().retries
QUEUED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_the_default_schedule_keeps_trying_for_72_hours_then_stops() -> None:
    timeline = POLICY.timeline()
    assert timeline[:4] == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(seconds=305),
        timedelta(seconds=2105),
    ]
    assert timeline[-1] == timedelta(hours=72)
    assert max(b - a for a, b in pairwise(timeline)) == timedelta(hours=10)
    assert len(timeline) == 13


def test_a_failure_before_the_deadline_is_retried_and_one_at_it_is_dead() -> None:
    almost = QUEUED + timedelta(hours=71, minutes=55)
    assert POLICY.next_attempt(9, almost, QUEUED, QUEUED) == QUEUED + timedelta(hours=72)
    assert POLICY.next_attempt(10, QUEUED + timedelta(hours=72), QUEUED, QUEUED) is None


def test_enabling_an_endpoint_again_gives_what_waited_a_full_window() -> None:
    enabled = QUEUED + timedelta(days=10)
    first_failure = enabled + timedelta(seconds=1)
    assert POLICY.next_attempt(1, first_failure, QUEUED, enabled) == first_failure + timedelta(
        seconds=5
    )
    assert POLICY.deadline(QUEUED, enabled) == enabled + timedelta(hours=72)
