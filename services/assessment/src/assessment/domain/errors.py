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

    @property
    def explanation(self) -> str:
        """For the learner, in Bahasa Indonesia."""
        if self.missing is None:
            return "Post-test dibuka setelah versi pelatihan Anda tercatat; coba lagi sebentar."
        names = ", ".join(f'"{title}"' if title else "(tanpa judul)" for _, title in self.missing)
        return (
            "Post-test dibuka setelah semua materi wajib selesai. "
            f"Materi wajib yang belum selesai ({len(self.missing)}): {names}."
        )


class MaxAttemptsReached(DomainError):
    def __init__(self, max_attempts: int) -> None:
        super().__init__(f"all {max_attempts} attempts of this assessment are used")
        self.max_attempts = max_attempts


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
        super().__init__("Pembahasan jawaban tersedia setelah kesempatan terakhir Anda dipakai.")
