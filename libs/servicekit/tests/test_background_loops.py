"""A background loop (relay, job worker, delivery worker) that stops is started again; a stop
caused by a database outage is one log line, not a traceback per retry."""

import asyncio
import logging

import pytest
import sqlalchemy.exc

from servicekit.database import DatabaseDidNotAnswer
from servicekit.service import supervise


def stops_once(error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def run() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise error

    return calls, run


async def test_an_outage_is_one_line_without_the_statement_and_the_loop_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = sqlalchemy.exc.OperationalError(
        "UPDATE jobs SET ...", {"full_name": "Wa Ode Hasnia"}, ConnectionRefusedError("refused")
    )
    calls, run = stops_once(outage)
    with caplog.at_level(logging.INFO, logger="servicekit.service"):
        await supervise("job worker", run, asyncio.Event())  # type: ignore[arg-type]
    assert len(calls) == 2
    (record,) = [r for r in caplog.records if r.name == "servicekit.service"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "job worker waits for the database (ConnectionRefusedError)" in record.getMessage()
    assert "Wa Ode" not in record.getMessage()


async def test_any_other_stop_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls, run = stops_once(ValueError("a bug"))
    with caplog.at_level(logging.INFO, logger="servicekit.service"):
        await supervise("job worker", run, asyncio.Event())  # type: ignore[arg-type]
    assert len(calls) == 2
    (record,) = [r for r in caplog.records if r.name == "servicekit.service"]
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_a_database_that_does_not_answer_in_time_is_an_outage_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hung = DatabaseDidNotAnswer("SELECT ... FOR UPDATE SKIP LOCKED", None, TimeoutError())
    calls, run = stops_once(hung)
    with caplog.at_level(logging.INFO, logger="servicekit.service"):
        await supervise("outbox relay", run, asyncio.Event())  # type: ignore[arg-type]
    assert len(calls) == 2
    (record,) = [r for r in caplog.records if r.name == "servicekit.service"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "outbox relay waits for the database (TimeoutError)" in record.getMessage()
