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
    def __init__(self, code: str) -> None:
        super().__init__(f"a course with code {code!r} exists")
        self.code = code


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


class CourseOverBudget(DomainError):
    """A device would have to carry more than the course's size budget."""

    def __init__(self, content_bytes: int, budget_bytes: int) -> None:
        super().__init__(
            f"the course needs {content_bytes} bytes on a device; its budget is {budget_bytes}"
        )
        self.content_bytes = content_bytes
        self.budget_bytes = budget_bytes
