"""Timing rules: quiet hours, retry backoff, reminder and digest periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .model import QuietHours

ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def quiet_until(now: datetime, zone: str, quiet: QuietHours | None) -> datetime | None:
    """When quiet hours end for someone in ``zone``, or None if it is not quiet now."""
    if quiet is None:
        return None
    local = now.astimezone(ZoneInfo(zone))
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential backoff: base, 2x base, 4x base, ... never above the cap."""
    exponent = max(attempts - 1, 0)
    return timedelta(seconds=min(base_seconds * (2 ** min(exponent, 30)), cap_seconds))


def reminder_period(now: datetime, period_days: int) -> str:
    """Reminders go out at most once per period of ``period_days`` days (UTC calendar)."""
    days = (now.astimezone(UTC).date() - date(2024, 1, 1)).days
    start = date(2024, 1, 1) + timedelta(days=(days // period_days) * period_days)
    return f"{start.isoformat()}/P{period_days}D"


def digest_period(now: datetime) -> str:
    """Digests go out once per ISO week."""
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def zone_label(zone: str) -> str:
    return ZONE_NAMES.get(zone, zone)
