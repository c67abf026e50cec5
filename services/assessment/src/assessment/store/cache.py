"""Assessments a process keeps at hand."""

from __future__ import annotations

import uuid
from collections import OrderedDict

from ..domain.model import Assessment


class AssessmentCache:
    """Assessments never change once created, so a process keeps the ones learners are taking
    instead of reading the bank again for every attempt started and submitted."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self.entries: OrderedDict[uuid.UUID, Assessment] = OrderedDict()

    def get(self, assessment_id: uuid.UUID) -> Assessment | None:
        found = self.entries.get(assessment_id)
        if found is not None:
            self.entries.move_to_end(assessment_id)
        return found

    def put(self, assessment: Assessment) -> None:
        self.entries[assessment.assessment_id] = assessment
        self.entries.move_to_end(assessment.assessment_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
