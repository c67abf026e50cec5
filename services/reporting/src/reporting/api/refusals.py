"""How the reporting service's refusals reach a client."""

from servicekit.problems import Refusal, Refusals

from ..domain.errors import LearnerNotFound, ReportingError, UnknownCourse, UnknownRegion

REFUSALS = Refusals(
    ReportingError,
    {
        UnknownRegion: Refusal(404, "unknown_region"),
        UnknownCourse: Refusal(404, "unknown_course"),
        LearnerNotFound: Refusal(404, "learner_not_found"),
    },
)
