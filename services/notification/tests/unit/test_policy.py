"""Timing rules: quiet hours in WIB/WITA/WIT, backoff with a cap, periods."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from notification.domain.model import QuietHours
from notification.domain.policy import digest_period, quiet_until, reminder_period, retry_delay

NIGHT = QuietHours(time(21, 0), time(7, 0))


def test_quiet_hours_wrap_past_midnight_and_end_at_local_morning() -> None:
    # 22:30 WIT (UTC+9) is quiet; it ends at 07:00 WIT the next day = 22:00 UTC
    now = datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    assert quiet_until(now, "Asia/Jayapura", NIGHT) == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    # the same instant is 20:30 in WIB (UTC+7): not quiet
    assert quiet_until(now, "Asia/Jakarta", NIGHT) is None


def test_quiet_hours_after_midnight_end_the_same_local_morning() -> None:
    now = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)  # 02:00 WITA on 2 March
    assert quiet_until(now, "Asia/Makassar", NIGHT) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_equal_start_and_end_mean_no_quiet_hours() -> None:
    off = QuietHours(time(0, 0), time(0, 0))
    assert quiet_until(datetime(2026, 3, 1, 18, 0, tzinfo=UTC), "Asia/Jakarta", off) is None
    assert quiet_until(datetime(2026, 3, 1, 18, 0, tzinfo=UTC), "Asia/Jakarta", None) is None


def test_daytime_quiet_window_is_supported() -> None:
    lunch = QuietHours(time(12, 0), time(13, 0))
    now = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)  # 12:30 WIB
    assert quiet_until(now, "Asia/Jakarta", lunch) == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_retry_delay_doubles_and_stops_at_the_cap() -> None:
    delays = [retry_delay(n, 30, 600) for n in range(1, 8)]
    assert delays[:5] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480)]
    assert delays[5:] == [timedelta(seconds=600)] * 2
    assert retry_delay(10_000, 30, 600) == timedelta(seconds=600)


def test_reminder_periods_are_fixed_windows_and_digests_iso_weeks() -> None:
    monday = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    same = [reminder_period(monday + timedelta(days=d), 7) for d in range(7)]
    assert len(set(same)) <= 2
    assert reminder_period(monday, 7) != reminder_period(monday + timedelta(days=7), 7)
    assert digest_period(monday) == "2026-W10"
    assert digest_period(monday + timedelta(days=6, hours=22)) == "2026-W10"
