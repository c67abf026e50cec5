"""Positions as officials write them: the code (``sekretaris_desa``), the official title from
the message catalogs (``Sekretaris Desa``, ``Kepala Urusan Keuangan``, ADR 19) or its usual
short form (``Kaur Keuangan``, ``Kasi Pelayanan``, ``BPD``, ``Sekdes``), in any case and
spacing. One vocabulary: the catalog's titles, with the abbreviations spelt out."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from servicekit.i18n import position_name

from ..domain.model import Position

# the short forms in daily use, each word for the words of the official title it stands for
SHORT_FORMS = {
    "kaur": "kepala urusan",
    "kasi": "kepala seksi",
    "kades": "kepala desa",
    "sekdes": "sekretaris desa",
    "kadus": "kepala dusun",
    "bpd": "badan permusyawaratan desa",
    "tu": "tata usaha",
    "&": "dan",
}


def words(text: str) -> str:
    spaced = text.casefold().replace("_", " ").replace(".", " ").replace("&", " & ")
    return " ".join(SHORT_FORMS.get(word, word) for word in spaced.split())


@cache
def vocabulary() -> dict[str, Position]:
    known: dict[str, Position] = {}
    for position in Position:
        title = words(position_name(position.value))
        known |= {words(position.value): position, title: position}
        if title.startswith("anggota "):  # "BPD" is how its members are listed
            known[title.removeprefix("anggota ")] = position
    return known


def position_of(text: str) -> Position:
    found = vocabulary().get(words(text))
    if found is None:
        raise PydanticCustomError(
            "position_unknown",
            "not a position: write its code or title, e.g. Sekretaris Desa or Kaur Keuangan",
        )
    return found


def _written(value: object) -> object:
    return position_of(value) if isinstance(value, str) else value


# a position in an uploaded file: a code or a title as officials write it
WrittenPosition = Annotated[Position, BeforeValidator(_written)]
