class DomainError(Exception):
    """A rule of the enrollment domain was broken."""


class NotEnrolled(DomainError):
    pass


class EnrollmentClosed(DomainError):
    pass


class AlreadyEnrolled(DomainError):
    def __init__(self, enrollment_id: object) -> None:
        super().__init__(f"the learner is already enrolled in this course ({enrollment_id})")
        self.enrollment_id = enrollment_id


class UnknownCourse(DomainError):
    pass


class UnknownLearner(DomainError):
    pass


class UnknownCohort(DomainError):
    pass


class EnrollmentWindowClosed(DomainError):
    pass
