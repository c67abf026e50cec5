"""NATS subjects: ``<type>`` for course events, ``<type>.PP.KK.CC.DDDD`` for learner events."""

from __future__ import annotations

import re

VILLAGE_CODE = re.compile(r"^(\d{2})\.?(\d{2})\.?(\d{2})\.?(\d{4})$")
REGION_PREFIX = re.compile(r"^\d{2}(\.?\d{2}(\.?\d{2}(\.?\d{4})?)?)?$")


class InvalidRegionCode(ValueError):
    pass


def split_village_code(village_code: str) -> tuple[str, str, str, str]:
    """``"74.01.01.2006"`` or ``"7401012006"`` -> ``("74", "01", "01", "2006")``."""
    match = VILLAGE_CODE.match(village_code)
    if match is None:
        raise InvalidRegionCode(f"not a 10-digit village code: {village_code!r}")
    province, regency, district, village = match.groups()
    return province, regency, district, village


def format_village_code(village_code: str) -> str:
    """Canonical dotted form ``PP.KK.CC.DDDD``."""
    return ".".join(split_village_code(village_code))


def split_region_code(region_code: str) -> list[str]:
    """A region prefix (province, regency, district or village) split into its parts."""
    if not REGION_PREFIX.match(region_code):
        raise InvalidRegionCode(f"not a region code: {region_code!r}")
    digits = region_code.replace(".", "")
    widths = (2, 2, 2, 4)
    parts, start = [], 0
    for width in widths:
        if start >= len(digits):
            break
        parts.append(digits[start : start + width])
        start += width
    return parts


def format_region_code(region_code: str) -> str:
    return ".".join(split_region_code(region_code))


def subject_for(event_type: str, village_code: str | None = None) -> str:
    """The subject an event of ``event_type`` is published on."""
    if village_code is None:
        return event_type
    return ".".join((event_type, *split_village_code(village_code)))


def regional_filter(region_code: str, event_type: str = "lms.*.*.v1") -> str:
    """Subject filter for every learner event of a region, e.g. ``lms.*.*.v1.74.>``."""
    return ".".join((event_type, *split_region_code(region_code))) + (
        ".>" if len(split_region_code(region_code)) < 4 else ""
    )


STREAM = "LMS"


def regional_consumer(region_code: str) -> str:
    """The durable consumer (and NATS user) of a regional system, e.g. ``region-74-01``."""
    return "region-" + "-".join(split_region_code(region_code))


def catalog_consumer(region_code: str) -> str:
    """The durable consumer a regional system reads the course catalog with."""
    return f"{regional_consumer(region_code)}-catalog"
