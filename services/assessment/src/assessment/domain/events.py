"""What happened in the assessment domain (past tense); turned into contracts at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Assessment, Attempt, Grant


@dataclass(frozen=True)
class Graded:
    """An attempt got its result: graded on submit, or zero when its time ran out."""

    attempt: Attempt
    assessment: Assessment


@dataclass(frozen=True)
class Granted:
    """An instructor gave a learner more attempts, or more time on one."""

    grant: Grant


DomainEvent = Graded | Granted
