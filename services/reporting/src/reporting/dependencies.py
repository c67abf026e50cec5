"""What the reporting service needs besides its settings."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.service import Dependencies


@dataclass
class ReportingDependencies(Dependencies):
    """The clock alone: it says which learners count as active in a report's window."""
