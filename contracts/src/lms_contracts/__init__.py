"""Event contracts of LMS Pamong Desa: CloudEvents 1.0 envelopes and versioned payloads."""

from .envelope import CloudEvent, EventData, new_event
from .registry import EVENT_TYPES, MalformedEvent, UnknownEventType, parse_event, subject_of
from .subjects import (
    InvalidRegionCode,
    format_region_code,
    format_village_code,
    regional_filter,
    split_region_code,
    split_village_code,
    subject_for,
)
from .v1 import (
    AssessmentKind,
    CertificateIssued,
    CourseCompleted,
    CoursePublished,
    Enrolled,
    Failed,
    LearnerContactChanged,
    LearnerRegistered,
    LearnerUpdated,
    LessonCompleted,
    Passed,
    Position,
    Withdrawn,
)

__all__ = [
    "EVENT_TYPES",
    "AssessmentKind",
    "CertificateIssued",
    "CloudEvent",
    "CourseCompleted",
    "CoursePublished",
    "Enrolled",
    "EventData",
    "Failed",
    "InvalidRegionCode",
    "LearnerContactChanged",
    "LearnerRegistered",
    "LearnerUpdated",
    "LessonCompleted",
    "MalformedEvent",
    "Passed",
    "Position",
    "UnknownEventType",
    "Withdrawn",
    "format_region_code",
    "format_village_code",
    "new_event",
    "parse_event",
    "regional_filter",
    "split_region_code",
    "split_village_code",
    "subject_for",
    "subject_of",
]
