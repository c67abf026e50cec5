"""A service's table of refusals: the most specific error class listed answers, a field to
blame is named, and a domain error raised anywhere in a route becomes that problem."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from servicekit.problems import Refusal, Refusals, install_problem_handlers


class DomainError(Exception):
    pass


class NotFound(DomainError):
    pass


class CourseNotFound(NotFound):
    pass


class Closed(DomainError):
    pass


class InvalidField(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class TooLate(DomainError):
    def __init__(self, deadline: str) -> None:
        super().__init__(f"enrollment closed on {deadline}")
        self.deadline = deadline


REFUSALS = Refusals(
    DomainError,
    {
        DomainError: Refusal(400, "refused"),
        NotFound: Refusal(404, "not_found"),
        CourseNotFound: Refusal(422, "unknown_course", field="course_id"),
        InvalidField: Refusal(422, "invalid_field"),
        TooLate: Refusal(
            409, "too_late", detail="enrollment is closed", extra=lambda e: {"closed": e.deadline}
        ),
    },
)


def test_the_most_specific_listed_class_wins() -> None:
    assert REFUSALS.problem(CourseNotFound("no course")).code == "unknown_course"
    assert REFUSALS.problem(NotFound("no learner")).code == "not_found"
    assert REFUSALS.problem(Closed("cohort closed")).code == "refused", "its base class answers"


def test_an_error_the_table_does_not_know_is_a_conflict() -> None:
    problem = Refusals(DomainError, {}).problem(Closed("cohort closed"))
    assert (problem.status, problem.code, problem.detail) == (409, "conflict", "cohort closed")


def test_the_refusal_names_the_field_to_blame() -> None:
    problem = REFUSALS.problem(CourseNotFound("no published course has this id"))
    assert problem.status == 422
    assert problem.detail == "course_id: no published course has this id"
    assert problem.errors == [{"field": "course_id", "message": "no published course has this id"}]


def test_an_error_that_knows_its_field_names_it() -> None:
    problem = REFUSALS.problem(InvalidField("village_code", "not a village"))
    assert problem.detail == "village_code: not a village"
    assert problem.errors == [{"field": "village_code", "message": "not a village"}]


def test_a_refusal_may_say_less_than_the_error_and_add_members() -> None:
    problem = REFUSALS.problem(TooLate("2026-12-31"))
    assert problem.detail == "enrollment is closed"
    assert problem.extra == {"closed": "2026-12-31"}


def test_a_domain_error_raised_in_a_route_is_answered_as_its_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app, REFUSALS)

    @app.get("/courses/{course_id}")
    async def course(course_id: str) -> None:
        raise CourseNotFound("no published course has this id")

    @app.get("/late")
    async def late() -> None:
        raise TooLate("2026-12-31")

    client = TestClient(app)
    response = client.get("/courses/x")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["instance"]) == ("unknown_course", "/courses/x")
    # no Accept-Language: the catalog's Bahasa Indonesia (servicekit.i18n)
    assert body["errors"] == [
        {"field": "course_id", "message": "tidak ada pelatihan terbit dengan id ini"}
    ]
    late_body = client.get("/late").json()
    assert (late_body["status"], late_body["closed"]) == (409, "2026-12-31")
