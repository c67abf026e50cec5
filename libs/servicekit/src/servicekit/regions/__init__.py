"""The real Indonesian region list (kode wilayah), loaded lazily from the packaged CSV files.

Levels: province ``PP``, regency ``PP.KK``, district ``PP.KK.CC``, village ``PP.KK.CC.DDDD``.
See ``data/README.md`` for the source and licence.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


class Level(IntEnum):
    NATIONAL = 0
    PROVINCE = 1
    REGENCY = 2
    DISTRICT = 3
    VILLAGE = 4


TIMEZONES = {7: "Asia/Jakarta", 8: "Asia/Makassar", 9: "Asia/Jayapura"}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: Level
    parent_code: str | None


# The canonical form of a code: dotted, two digits a level and four for the village.
CANONICAL = re.compile(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?")
# What a caller may type: the canonical form or the same digits without dots.
TYPED = re.compile(r"\d{2}(\.?\d{2}(\.?\d{2}(\.?\d{4})?)?)?")


def dotted(code: str) -> str:
    digits = code.replace(".", "")
    parts = [digits[0:2], digits[2:4], digits[4:6], digits[6:10]]
    return ".".join(p for p in parts if p)


def canonical(code: str) -> str:
    """The one normalisation of a typed code (``7401``, ``74.01``) to its dotted form; a
    ValueError for anything else (wildcards, partial levels, other characters)."""
    if not TYPED.fullmatch(code):
        raise ValueError("must be a region code such as 74, 74.01, 74.01.01 or 74.01.01.2006")
    return dotted(code)


def is_canonical(code: str) -> bool:
    return CANONICAL.fullmatch(code) is not None


def within(code: str, region_code: str) -> bool:
    """Whether ``code`` is ``region_code`` or lies under it (both canonical; ``""`` is the
    whole country). Compared level by level, so ``7`` or ``74.0`` cover nothing."""
    return region_code == "" or code == region_code or code.startswith(region_code + ".")


def level_of(code: str) -> Level:
    return {
        0: Level.NATIONAL,
        2: Level.PROVINCE,
        4: Level.REGENCY,
        6: Level.DISTRICT,
        10: Level.VILLAGE,
    }[len(code.replace(".", ""))]


def _rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def provinces() -> dict[str, Region]:
    return {
        dotted(r["id"]): Region(dotted(r["id"]), r["name"], Level.PROVINCE, None)
        for r in _rows(DATA / "provinces.csv.gz")
    }


@cache
def province_timezones() -> dict[str, str]:
    return {
        dotted(r["id"]): TIMEZONES.get(int(r["timezone"] or 7), "Asia/Jakarta")
        for r in _rows(DATA / "provinces.csv.gz")
    }


@cache
def regency_timezones() -> dict[str, str]:
    return {
        dotted(r["id"]): TIMEZONES.get(int(r["timezone"] or 7), "Asia/Jakarta")
        for r in _rows(DATA / "regencies.csv.gz")
    }


@cache
def regencies() -> dict[str, Region]:
    return {
        dotted(r["id"]): Region(dotted(r["id"]), r["name"], Level.REGENCY, dotted(r["province_id"]))
        for r in _rows(DATA / "regencies.csv.gz")
    }


@cache
def districts() -> dict[str, Region]:
    return {
        dotted(r["id"]): Region(dotted(r["id"]), r["name"], Level.DISTRICT, dotted(r["regency_id"]))
        for r in _rows(DATA / "districts.csv.gz")
    }


@cache
def villages_of_province(province_code: str) -> dict[str, Region]:
    path = DATA / "villages" / f"villages_{province_code.replace('.', '')}.csv.gz"
    if not path.exists():
        return {}
    return {
        dotted(r["id"]): Region(dotted(r["id"]), r["name"], Level.VILLAGE, dotted(r["district_id"]))
        for r in _rows(path)
    }


def all_villages() -> dict[str, Region]:
    found: dict[str, Region] = {}
    for province in provinces():
        found.update(villages_of_province(province))
    return found


def find(code: str) -> Region | None:
    """The region with this code (dotted or plain digits), or None if it does not exist."""
    digits = code.replace(".", "")
    if not digits.isdigit() or len(digits) not in (2, 4, 6, 10):
        return None
    key = dotted(digits)
    level = level_of(digits)
    table = {
        Level.PROVINCE: provinces,
        Level.REGENCY: regencies,
        Level.DISTRICT: districts,
    }.get(level)
    if table is not None:
        return table().get(key)
    return villages_of_province(key[:2]).get(key)


def timezone_of(village_code: str) -> str:
    """IANA zone (WIB, WITA or WIT) of a village, from its regency's (then province's) zone."""
    key = dotted(village_code)
    return regency_timezones().get(key[:5]) or province_timezones().get(key[:2], "Asia/Jakarta")
