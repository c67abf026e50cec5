"""Assessments a process keeps at hand."""

from __future__ import annotations

import uuid
from collections import OrderedDict

from ..domain.model import Assessment, VersionStatus

Key = tuple[uuid.UUID, int]


class AssessmentCache:
    """A published version never changes, so a process keeps the ones learners are taking
    instead of reading the bank again for every attempt started and submitted. Drafts, which
    do change, are never kept."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self.entries: OrderedDict[Key, Assessment] = OrderedDict()

    def get(self, assessment_id: uuid.UUID, version: int) -> Assessment | None:
        found = self.entries.get((assessment_id, version))
        if found is not None:
            self.entries.move_to_end((assessment_id, version))
        return found

    def put(self, assessment: Assessment) -> None:
        if assessment.status != VersionStatus.PUBLISHED:
            return
        key = (assessment.assessment_id, assessment.version)
        self.entries[key] = assessment
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
