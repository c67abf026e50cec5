"""What a report can be refused for (``api/refusals.py`` says how each reaches a client)."""

from __future__ import annotations


class ReportingError(Exception):
    """Base of the reporting service's refusals."""


class UnknownRegion(ReportingError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no region has code {code}")


class UnknownCourse(ReportingError):
    def __init__(self) -> None:
        super().__init__("no published course has this id")


class LearnerNotFound(ReportingError):
    """Unknown, or not visible to the caller: both answer the same, so that an id cannot be
    probed."""

    def __init__(self) -> None:
        super().__init__("no learner with this id is visible to you")
