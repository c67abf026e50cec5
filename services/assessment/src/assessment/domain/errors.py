class DomainError(Exception):
    """A rule of the assessment domain was broken."""


class UnknownAssessment(DomainError):
    pass


class UnknownAttempt(DomainError):
    pass


class NotEnrolled(DomainError):
    """The learner has no active enrollment in the assessment's course."""


class PostTestLocked(DomainError):
    def __init__(self, missing_lessons: int | None) -> None:
        detail = (
            "the post-test opens once the course version is known"
            if missing_lessons is None
            else f"the post-test opens after every required lesson; {missing_lessons} to go"
        )
        super().__init__(detail)
        self.missing_lessons = missing_lessons


class MaxAttemptsReached(DomainError):
    def __init__(self, max_attempts: int) -> None:
        super().__init__(f"all {max_attempts} attempts of this assessment are used")
        self.max_attempts = max_attempts


class OnlineOnly(DomainError):
    """The assessment cannot be taken as an offline paper."""


class PaperOutdated(DomainError):
    """An offline paper issued for a course version the learner no longer follows."""

    def __init__(self, issued_for: int | None, current: int | None) -> None:
        super().__init__(
            f"the paper was issued for version {issued_for} of the course; you now follow "
            f"version {current}: download a new paper"
        )
        self.issued_for = issued_for
        self.current = current


class InvalidField(DomainError):
    """A question or an answer breaks a rule; ``field`` names it the way the request does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
