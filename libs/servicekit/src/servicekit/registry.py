"""The one list of services: what each is called, where it listens, what it publishes and
consumes, what it may do on NATS and which database it owns.

The CLI, the local stack, NATS authentication, the JetStream topology, the benchmark and the
deploy tests read this list; none keeps its own. Adding a service is this entry, the service
folder (``services/<name>/``, package ``<name>``) and its deploy folder (see
``docs/adding-a-service.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from lms_contracts import (
    EVENT_TYPES,
    CertificateIssued,
    CertificateRevoked,
    CourseCompleted,
    CoursePublished,
    CourseVersionChanged,
    Enrolled,
    EventData,
    ExtensionGranted,
    Failed,
    LearnerContactChanged,
    LearnerRegistered,
    LearnerUpdated,
    LessonCompleted,
    Passed,
    Withdrawn,
)


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the platform."""

    name: str
    port: int
    title: str
    publishes: tuple[type[EventData], ...] = ()
    consumes: tuple[type[EventData], ...] = ()

    @property
    def produces(self) -> bool:
        """A producer runs an outbox relay and may publish on ``lms.<name>.>``."""
        return bool(self.publishes)

    @property
    def database(self) -> str:
        """Its own PostgreSQL database, and the role that owns it, share the service's name."""
        return self.name

    @property
    def package(self) -> str:
        return self.name

    @property
    def project(self) -> str:
        """The workspace member's distribution name."""
        return f"lms-{self.name}"

    @property
    def publish_subjects(self) -> tuple[str, ...]:
        """NATS subjects it may publish events on: only its own namespace."""
        return (f"lms.{self.name}.>",) if self.produces else ()

    def main(self) -> ModuleType:
        """Its composition root (``<name>.main``)."""
        return importlib.import_module(f"{self.package}.main")

    def cli(self) -> ModuleType | None:
        """Its own commands (``<name>.cli``), if it has any."""
        try:
            return importlib.import_module(f"{self.package}.cli")
        except ModuleNotFoundError as exc:
            if exc.name == f"{self.package}.cli":
                return None
            raise


def published_by(name: str) -> tuple[type[EventData], ...]:
    """The contract event types whose declared producer is ``name``."""
    return tuple(e for e in EVENT_TYPES.values() if e.producer == name)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "enrollment",
        8001,
        "LMS Pamong Desa: enrollment",
        publishes=published_by("enrollment"),
        consumes=(CoursePublished, LessonCompleted, Passed, Failed),
    ),
    ServiceSpec(
        "content",
        8002,
        "LMS Pamong Desa: content",
        publishes=published_by("content"),
        consumes=(Enrolled, Withdrawn, CourseVersionChanged, Passed, Failed),
    ),
    ServiceSpec(
        "assessment",
        8003,
        "LMS Pamong Desa: assessment",
        publishes=published_by("assessment"),
        consumes=(CoursePublished, Enrolled, Withdrawn, CourseVersionChanged, LessonCompleted),
    ),
    ServiceSpec(
        "notification",
        8004,
        "LMS Pamong Desa: notification",
        consumes=(
            LearnerRegistered,
            LearnerUpdated,
            LearnerContactChanged,
            Enrolled,
            Withdrawn,
            LessonCompleted,
            Passed,
            Failed,
            CourseCompleted,
            CertificateIssued,
            CourseVersionChanged,
            CertificateRevoked,
            ExtensionGranted,
        ),
    ),
    ServiceSpec(
        "reporting",
        8005,
        "LMS Pamong Desa: reporting",
        # every event but an instructor's grant, which changes no count; the private contact
        # change too: the inactive list shows contacts to the region's supervisors, each read
        # logged; and enrollment's reads of contacts, into the same access log (ADR 22)
        consumes=tuple(e for e in EVENT_TYPES.values() if e is not ExtensionGranted),
    ),
    ServiceSpec(
        "webhooks",
        8006,
        "LMS Pamong Desa: webhooks",
        # the learner events, on their regional subjects: what a regional NATS user may read;
        # never the private contact change nor who read contacts (ADR 5, ADR 15, ADR 22)
        consumes=tuple(e for e in EVENT_TYPES.values() if e.regional),
    ),
)

BY_NAME: dict[str, ServiceSpec] = {spec.name: spec for spec in SERVICES}
NAMES: tuple[str, ...] = tuple(BY_NAME)


class UnknownService(KeyError):
    def __str__(self) -> str:
        return f"unknown service {self.args[0]!r}; one of {', '.join(NAMES)}"


def service(name: str) -> ServiceSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownService(name) from None


def producers() -> tuple[ServiceSpec, ...]:
    return tuple(spec for spec in SERVICES if spec.produces)


def consumers() -> tuple[ServiceSpec, ...]:
    return tuple(spec for spec in SERVICES if spec.consumes)


def publisher_of(event: type[EventData]) -> ServiceSpec:
    """The one service that publishes ``event``."""
    (spec,) = (s for s in SERVICES if event in s.publishes)
    return spec
