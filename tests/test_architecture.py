"""The code and its map agree: the event table in docs/architecture.md and each service's one
subscription list match the topology."""

import importlib

import pytest

from lms_cli.architecture import DOC, render
from servicekit.topology import CONSUMED


def test_the_event_map_in_the_architecture_doc_is_current() -> None:
    text = DOC.read_text()
    assert render(text) == text, "docs/architecture.md is stale: run python -m lms_cli.architecture"


@pytest.mark.parametrize("service", sorted(CONSUMED))
def test_each_service_handles_exactly_the_events_its_durable_consumer_receives(
    service: str,
) -> None:
    subscription = importlib.import_module(f"{service}.main").definition().subscription
    assert subscription is not None, f"{service} consumes events but has no subscription"
    if subscription.batch_handler is not None:
        return  # a projection consumer applies every event it receives as a batch
    assert set(subscription.handlers) == set(CONSUMED[service])
