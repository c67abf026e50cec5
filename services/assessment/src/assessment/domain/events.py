"""What happened in the assessment domain (past tense); turned into contracts at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Assessment, Attempt


@dataclass(frozen=True)
class Graded:
    """An attempt got its result: graded on submit, or zero when its time ran out."""

    attempt: Attempt
    assessment: Assessment


DomainEvent = Graded
