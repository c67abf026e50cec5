"""Every service's API fuzzed from its own OpenAPI document by schemathesis, as an admin, a
supervisor and a learner, against the five services running as processes with demo data:
no server error, and every answer's status, content type and body as documented."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from lms_cli.demo import load_demo
from lms_cli.stack import LocalStack
from servicekit.auth import mint_token
from servicekit.registry import NAMES
from servicekit.settings import ServiceSettings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ROLES = ("admin", "supervisor", "learner")
# Examples per operation and role: enough to reach every documented answer of these small
# APIs, few enough for the whole run to stay within about two minutes.
EXAMPLES = 12
# What uvicorn answers to bytes that are not an HTTP request (never reaching the app)
HTTP_PARSER_REFUSAL = "Invalid HTTP request received."
# Schema-valid requests may still be refused for what no schema says: a page cursor carries
# the service's signature (400), a region or village code must exist, a course be published,
# a question of a kind have its answer (422). Everything else of the check stands: no 5xx, no
# other status.
ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429"]
# Schema-violating requests are refused; one over the body cap with 413 (and 5xx, which the
# server error check reports on its own, is not a refusal)
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    with LocalStack(ports={name: free_port() for name in NAMES}, external=False) as local:
        load_demo(local.urls, ServiceSettings())
        yield local.urls


def token(role: str, learner_id: str) -> str:
    settings = ServiceSettings()
    if role == "supervisor":
        return mint_token(settings, roles=[role], region_code="74")
    if role == "learner":
        return mint_token(settings, roles=[role], learner_id=uuid.UUID(learner_id))
    return mint_token(settings, roles=[role])


@pytest.fixture(scope="module")
def a_learner(stack: dict[str, str]) -> str:
    admin = {"Authorization": f"Bearer {token('admin', str(uuid.uuid4()))}"}
    found = httpx.get(f"{stack['enrollment']}/v1/learners?limit=1", headers=admin).json()
    return str(found["items"][0]["learner_id"])


def fuzz(schema: BaseSchema, headers: dict[str, str]) -> list[str]:
    """Every operation, in both generation modes: what each check found, one line a finding."""
    found: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            found.append(f"the OpenAPI document is invalid: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                if response.status_code == 400 and response.text == HTTP_PARSER_REFUSAL:
                    return  # not valid HTTP: uvicorn refused it before any service saw it
                case.validate_response(response, headers=headers)

            try:
                run()
            except Unsatisfiable:  # nothing to negate (no parameters, no body)
                continue
            except (Exception, FailureGroup) as exc:  # recorded; the next operation is fuzzed
                found.append(f"{operation.label} ({mode.value}): {exc}")
    return found


@pytest.mark.parametrize("service", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_every_answer_is_documented_and_no_input_breaks_a_service(
    stack: dict[str, str], a_learner: str, service: str, role: str
) -> None:
    schema = schemathesis.openapi.from_url(f"{stack[service]}/openapi.json")
    schema.config.checks.positive_data_acceptance.expected_statuses = ACCEPTED
    schema.config.checks.negative_data_rejection.expected_statuses = REFUSED
    headers = {"Authorization": f"Bearer {token(role, a_learner)}"}
    found = fuzz(schema, headers)
    assert not found, "\n\n".join(found)
