"""What happened in the content domain (past tense); turned into contracts at the edge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .model import CourseVersion


@dataclass(frozen=True)
class CoursePublished:
    course: CourseVersion


@dataclass(frozen=True)
class LessonCompleted:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    lesson_id: uuid.UUID
    village_code: str
    completed_at: datetime
    recorded_at: datetime
    offline: bool = False


DomainEvent = CoursePublished | LessonCompleted
