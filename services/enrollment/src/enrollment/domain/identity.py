"""Who a person is, so that an import never registers them twice.

A national ID (NIK), where given, decides: the same NIK is the same person, whatever the name
says. Without one, the natural key decides: the name as people write it (letters compared
without case, accents or punctuation, spaces collapsed), the village code and the position. A
village has one official of a position by a name; two officials of one village and position
with the same name are the one case it merges (ADR 21).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .model import Learner, Position


def name_key(full_name: str) -> str:
    """``"  Wa Ode  Sitti, S.Pd "`` and ``"wa ode sitti spd"`` are the same name."""
    decomposed = unicodedata.normalize("NFKD", full_name)
    # combining accents are neither letters nor spaces: dropped with the punctuation
    kept = "".join(ch for ch in decomposed if ch.isalnum() or ch.isspace())
    return " ".join(kept.casefold().split())


@dataclass(frozen=True)
class NaturalKey:
    name: str
    village_code: str
    position: Position

    @classmethod
    def of(cls, full_name: str, village_code: str, position: Position) -> NaturalKey:
        return cls(name_key(full_name), village_code, position)

    def __str__(self) -> str:
        return f"{self.village_code}|{self.position.value}|{self.name}"


def key_of(learner: Learner) -> NaturalKey:
    return NaturalKey.of(learner.full_name, learner.village_code, learner.position)


def same_person(known: Learner, nik_hash: str | None, key: NaturalKey) -> bool:
    """Whether ``known`` is the person described: by NIK when both have one (two different
    NIKs are two people, whatever their names), else by the natural key."""
    if nik_hash is not None and known.nik_hash is not None:
        return known.nik_hash == nik_hash
    return key_of(known) == key
