"""Dates and numbers as Indonesians write them, for user-facing text (certificates, messages,
pages)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

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


def angka(value: float | None, decimals: int = 1) -> str:
    """``1.234.567`` and ``72,5``: thousands with dots, decimals after a comma."""
    if value is None:
        return "-"
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale="id")


def persen(fraction: float) -> str:
    """``45%`` for 0.45."""
    return format_percent(fraction, locale="id")
