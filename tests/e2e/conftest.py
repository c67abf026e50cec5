"""The stack the end-to-end journeys share: the five services as processes on real NATS and
PostgreSQL, started once for the folder; tokens and the answer key of a test."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lms_cli.stack import LocalStack
from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    def __init__(
        self,
        urls: dict[str, str],
        log_dir: Path,
        nats_url: str = "",
        nats_admin: tuple[str, str] | None = None,
    ) -> None:
        self.urls = urls
        self.log_dir = log_dir
        self.nats_url = nats_url
        self.nats_admin = nats_admin  # the operator's user and password
        self.settings = ServiceSettings()

    def auth(
        self,
        *roles: str,
        learner_id: str | None = None,
        region: str | None = None,
        subject: str | None = None,
    ) -> dict[str, str]:
        token = mint_token(
            self.settings,
            roles=list(roles),
            learner_id=uuid.UUID(learner_id) if learner_id else None,
            region_code=region,
            subject=subject,
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    """The five services as processes, NATS with its users, a PostgreSQL of their own."""
    ports = {name: free_port() for name in SERVICES}
    with LocalStack(ports=ports, external=False) as local:
        yield Stack(local.urls, local.log_dir, local.nats_url, local.nats_admin)
        processes = list(local.processes.values())
    assert all(process.poll() is not None for process in processes)


def ok(response: httpx.Response, status: int | None = None) -> Any:
    assert response.status_code < 400 if status is None else response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    )
    return response.json()


async def answer_key(
    http: httpx.AsyncClient, stack: Stack, assessment_id: str, questions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    full = ok(
        await http.get(
            f"{stack.urls['assessment']}/v1/assessments/{assessment_id}",
            headers=stack.auth("instructor"),
        )
    )
    keyed = {q["question_id"]: q for q in full["questions"]}
    answers = []
    for question in questions:
        key = keyed[question["question_id"]]
        if key["kind"] == "true_false":
            answers.append({"question_id": question["question_id"], "value": key["answer"]})
        elif key["kind"] == "short_answer":
            answers.append(
                {"question_id": question["question_id"], "text": key["accepted_answers"][0]}
            )
        else:
            correct = {o["text"] for o in key["options"] if o["correct"]}
            answers.append(
                {
                    "question_id": question["question_id"],
                    "option_ids": [
                        o["option_id"] for o in question["options"] if o["text"] in correct
                    ],
                }
            )
    return answers
