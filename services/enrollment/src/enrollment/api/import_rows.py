"""The rows of an uploaded file -> the learners to register, and why each other row is not.

A row naming a village outside the uploader's region refuses the whole file (403, naming
every such row): nothing of it is applied. A row that is wrong in itself (a bad phone, an
unknown position) or repeats an earlier row of the same file (same NIK, or same natural key)
is kept as skipped, with its column and a reason in the uploader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from servicekit import regions
from servicekit.i18n import field_message, validation_message
from servicekit.problems import Problem

from ..domain import commands
from ..domain.identity import NaturalKey
from .positions import WrittenPosition
from .schemas import Email, Name, Nik, Phone, VillageCode
from .uploads import Row

# the NIK -> its keyed hash (the NIK itself goes no further than this module)
NikDigest = Callable[[str], str]


class ImportRowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Name
    position: WrittenPosition
    village_code: VillageCode
    phone: Phone | None = None
    email: Email | None = None
    nik: Nik | None = Field(default=None, description="stored only as a keyed hash")


@dataclass
class Checked:
    valid: list[tuple[int, commands.RegisterLearner]] = field(default_factory=list)
    refused: list[commands.RowRefused] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    # identity (NIK hash or natural key) -> the first row that named it
    seen: dict[str, int] = field(default_factory=dict)


def registration(row: ImportRowIn, nik_hash: str | None) -> commands.RegisterLearner:
    return commands.RegisterLearner(
        full_name=row.full_name,
        position=row.position,
        village_code=row.village_code,
        phone=row.phone,
        email=row.email,
        nik_hash=nik_hash,
    )


def check_row(row: Row, region_code: str, digest: NikDigest, checked: Checked) -> None:
    try:
        learner = ImportRowIn.model_validate(row.cells)
    except ValidationError as exc:
        errors = exc.errors()
        columns = [".".join(str(p) for p in e["loc"]) or "row" for e in errors]
        messages = [validation_message(e) for e in errors]
        reasons = (
            messages[0]
            if len(errors) == 1
            else "; ".join(f"{c}: {m}" for c, m in zip(columns, messages, strict=True))
        )
        checked.refused.append(commands.RowRefused(row.number, ", ".join(columns), reasons))
        return
    if not regions.within(learner.village_code, region_code):
        checked.outside.append(row.number)
        return
    nik_hash = digest(learner.nik) if learner.nik else None
    identity = (
        f"nik:{nik_hash}"
        if nik_hash
        else str(NaturalKey.of(learner.full_name, learner.village_code, learner.position))
    )
    first = checked.seen.setdefault(identity, row.number)
    if first != row.number:
        column = "nik" if nik_hash else "full_name"
        reason = field_message("the same person as row {row}", row=first)
        checked.refused.append(commands.RowRefused(row.number, column, reason))
        return
    checked.valid.append((row.number, registration(learner, nik_hash)))


def check_rows(rows: list[Row], region_code: str, digest: NikDigest) -> Checked:
    """Every row checked; a file with any row outside ``region_code`` refused whole."""
    checked = Checked()
    for row in rows:
        check_row(row, region_code, digest, checked)
    if checked.outside:
        message = field_message("outside region {region_code}", region_code=region_code or "-")
        raise Problem(
            403,
            "outside_region",
            f"rows outside region {region_code}: {', '.join(map(str, checked.outside[:20]))}",
            errors=[
                {"row": number, "field": "village_code", "message": message}
                for number in checked.outside[:50]
            ],
        )
    return checked
