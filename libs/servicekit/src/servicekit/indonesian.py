"""Dates as Indonesians write them, for user-facing text (certificates, messages, pages)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def tanggal(value: date | datetime | None, zone: str = "Asia/Jakarta") -> str:
    """``17 Agustus 2026``; a moment is first placed in ``zone`` (WIB by default)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone)).date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
