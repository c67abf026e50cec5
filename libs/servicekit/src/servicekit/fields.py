"""The text a client may send, as pydantic types every schema and parameter uses.

A NUL byte or another control character in a name, a reason or a cursor is refused where it
enters, with a 422 naming the field, rather than reaching PostgreSQL (which cannot store NUL),
a PDF, an e-mail or another service's consumer. ``Line`` is one line (names, titles, codes,
reasons); ``Text`` may span lines (lesson bodies, answers). Bound them with ``Field`` first:
``Annotated[str, Field(max_length=120), LINE]``. Region and village codes are read in either
typed form and kept in the canonical dotted one (``servicekit.regions.canonical``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from . import regions

# C0 and C1 controls and DEL; lone surrogates (which no encoder can write out) are refused
# too, though a JSON schema pattern cannot say so
LINE_CONTROLS = "\x00-\x1f\x7f-\x9f"
TEXT_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"


@dataclass(frozen=True)
class Printable:
    """Refuses control characters (and, on one line, tabs and line breaks); says so in the
    JSON schema as a ``pattern``, so that clients and fuzzers know."""

    multiline: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        refused = TEXT_CONTROLS if self.multiline else LINE_CONTROLS
        forbidden = re.compile(f"[{refused}\ud800-\udfff]")
        kind = "text" if self.multiline else "a single line"

        def check(value: str) -> str:
            if forbidden.search(value):
                raise PydanticCustomError(
                    "control_character", f"must be {kind} without control characters"
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", TEXT_PATTERN if self.multiline else LINE_PATTERN)
        return json_schema


LINE = Printable()
TEXT = Printable(multiline=True)
Line = Annotated[str, LINE]
Text = Annotated[str, TEXT]
# A request header's value: visible ASCII and spaces (a client's ETag, Range, key)
HeaderValue = Annotated[str, Field(max_length=200, pattern=r"^[\x20-\x7e]*$")]


def _code_shape(value: str) -> str:
    try:
        return regions.canonical(value)
    except ValueError as exc:
        raise PydanticCustomError("region_code", str(exc)) from exc


def _region_code(value: str) -> str:
    code = _code_shape(value)
    if regions.find(code) is None:
        raise PydanticCustomError("unknown_region", f"no region has code {code}")
    return code


def _village_code(value: str) -> str:
    code = _region_code(value)
    if regions.level_of(code) is not regions.Level.VILLAGE:
        raise PydanticCustomError(
            "village_code", "must be a 10-digit village code, e.g. 74.01.01.2006"
        )
    return code


REGION_PATTERN = r"^\d{2}(\.?\d{2}(\.?\d{2}(\.?\d{4})?)?)?$"
VILLAGE_PATTERN = r"^\d{2}\.?\d{2}\.?\d{2}\.?\d{4}$"


@dataclass(frozen=True)
class _Code:
    """A region code, typed dotted or not, validated against the region list and kept in
    canonical form."""

    village_only: bool = False
    known_only: bool = True

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        check = _village_code if self.village_only else _region_code
        if not self.known_only:
            check = _code_shape
        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = VILLAGE_PATTERN if self.village_only else REGION_PATTERN
        json_schema["examples"] = ["74.01.01.2006"] if self.village_only else ["74", "74.01"]
        return json_schema


RegionCode = Annotated[str, Field(max_length=13), _Code()]
# A region code in its canonical form, which may name no region (a path to look up: 404)
RegionCodeShape = Annotated[str, Field(max_length=13), _Code(known_only=False)]
VillageCode = Annotated[str, Field(max_length=13), _Code(village_only=True)]
