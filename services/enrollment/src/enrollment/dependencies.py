"""What the enrollment service needs besides its settings: one clock, nothing else to send to
or keep elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.service import Dependencies


@dataclass
class EnrollmentDependencies(Dependencies):
    pass
