class DomainError(Exception):
    """A rule of the enrollment domain was broken."""


class NotEnrolled(DomainError):
    """Why the learner has no enrollment to act on (withdrawn, or none): a rule of the
    catalogs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class EnrollmentClosed(DomainError):
    pass


class AlreadyCompleted(DomainError):
    """The learner finished the course: their version and result stay as they are."""


class UnknownVersion(DomainError):
    def __init__(self, version: int) -> None:
        super().__init__(f"the course has no published version {version} (known here)")
        self.version = version


class AlreadyEnrolled(DomainError):
    def __init__(self, enrollment_id: object) -> None:
        super().__init__(f"the learner is already enrolled in this course ({enrollment_id})")
        self.enrollment_id = enrollment_id


class UnknownCourse(DomainError):
    pass


class UnknownLearner(DomainError):
    pass


class UnknownCohort(DomainError):
    def __init__(self, cohort: str) -> None:
        super().__init__(f"the course has no cohort named {cohort!r}")
        self.cohort = cohort


class EnrollmentWindowClosed(DomainError):
    def __init__(self, cohort: str) -> None:
        super().__init__(f"enrollment in {cohort!r} is not open now")
        self.cohort = cohort


class CohortExists(DomainError):
    def __init__(self, cohort: str) -> None:
        super().__init__(f"the course already has a cohort named {cohort!r}")
        self.cohort = cohort


class LearnerExists(DomainError):
    def __init__(self, learner_id: object, village_code: str) -> None:
        super().__init__("a learner with this NIK is already registered")
        self.learner_id = learner_id
        self.village_code = village_code


class BulkJobTooLarge(DomainError):
    def __init__(self, matching: int, cap: int) -> None:
        super().__init__(f"matches {matching} learners; at most {cap} per job")
        self.matching = matching
        self.cap = cap


class CohortOutsideRegion(DomainError):
    pass


class JobClosed(DomainError):
    """The job already completed, failed or was cancelled."""


class UnknownJob(DomainError):
    pass


class UnknownCertificate(DomainError):
    pass


class AlreadyRevoked(DomainError):
    """A certificate is revoked once; the first reason stands."""
