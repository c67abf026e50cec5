"""A region in SQL: the rows whose code lies under a region, without ``LIKE`` patterns (a code
never becomes a wildcard)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, true


def under(column: Any, region_code: str) -> ColumnElement[bool]:
    """``column`` (a canonical code) is ``region_code`` or lies under it; ``""`` is the whole
    country. ``starts_with`` compares bytes, never patterns, and uses a C-collated index."""
    if region_code == "":
        return true()
    return or_(column == region_code, func.starts_with(column, region_code + "."))
