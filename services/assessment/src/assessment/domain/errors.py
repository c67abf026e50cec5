import uuid


class DomainError(Exception):
    """A rule of the assessment domain was broken."""


class UnknownAssessment(DomainError):
    pass


class UnknownAttempt(DomainError):
    pass


class NotEnrolled(DomainError):
    """The learner has no active enrollment in the assessment's course."""


class PostTestLocked(DomainError):
    """``missing``: the required lessons not done yet (id, title), in course order; None while
    the learner's course version is not known here."""

    def __init__(self, missing: list[tuple[uuid.UUID, str | None]] | None) -> None:
        detail = (
            "the post-test opens once the course version is known"
            if missing is None
            else f"the post-test opens after every required lesson; {len(missing)} to go"
        )
        super().__init__(detail)
        self.missing = missing
        self.missing_lessons = None if missing is None else len(missing)


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


class PostTestExists(DomainError):
    """A course has one post-test; a correction is its next version, not a second one."""

    def __init__(self, assessment_id: uuid.UUID) -> None:
        super().__init__(
            "this course has a post-test already: revise it (PUT) and publish the new version"
        )
        self.assessment_id = assessment_id


class NoDraft(DomainError):
    """Publishing needs a draft version to publish."""


class AttemptFinished(DomainError):
    pass


class ReviewNotAvailable(DomainError):
    def __init__(self) -> None:
        super().__init__("answers are reviewed once the attempts this assessment allows are used")
