"""What happened in the enrollment domain (past tense); turned into contracts at the edge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .model import Certificate, Enrollment, Learner, Viewer


@dataclass(frozen=True)
class LearnerRegistered:
    learner: Learner


@dataclass(frozen=True)
class LearnerMoved:
    learner: Learner
    previous_village_code: str | None
    at: datetime


@dataclass(frozen=True)
class ContactChanged:
    learner: Learner
    at: datetime


@dataclass(frozen=True)
class ContactsViewed:
    """``viewer`` was shown the contact details of other people: ``learner_ids``."""

    viewer: Viewer
    learner_ids: tuple[uuid.UUID, ...]
    at: datetime


@dataclass(frozen=True)
class Enrolled:
    enrollment: Enrollment
    learner: Learner


@dataclass(frozen=True)
class Withdrawn:
    enrollment: Enrollment
    learner: Learner
    reason: str | None


@dataclass(frozen=True)
class VersionChanged:
    """The enrollment now follows another version of its course."""

    enrollment: Enrollment
    learner: Learner
    from_version: int
    to_version: int
    move_number: int
    at: datetime


@dataclass(frozen=True)
class CourseCompleted:
    enrollment: Enrollment
    learner: Learner


@dataclass(frozen=True)
class CertificateIssued:
    certificate_id: uuid.UUID
    verification_code: str
    enrollment: Enrollment
    learner: Learner
    issued_at: datetime


@dataclass(frozen=True)
class CertificateRevoked:
    certificate: Certificate


DomainEvent = (
    LearnerRegistered
    | LearnerMoved
    | ContactChanged
    | ContactsViewed
    | Enrolled
    | Withdrawn
    | VersionChanged
    | CourseCompleted
    | CertificateIssued
    | CertificateRevoked
)
