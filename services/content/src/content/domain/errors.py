class DomainError(Exception):
    """A rule of the content domain was broken."""


class UnknownCourse(DomainError):
    pass


class UnknownLesson(DomainError):
    pass


class LessonNotInVersion(DomainError):
    """The lesson exists in the course, but not in the version the learner follows."""


class NotEnrolled(DomainError):
    pass


class VersionImmutable(DomainError):
    pass


class CourseNotPublishable(DomainError):
    pass


class CourseCodeTaken(DomainError):
    pass


class InvalidLesson(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidRule(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PreTestRequired(DomainError):
    """The learner's version counts lessons only after the pre-test."""
