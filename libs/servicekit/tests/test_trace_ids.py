"""The trace context an event carries, worked out without parsing it or recording spans."""

import uuid

from servicekit.outbox import traceparent_in
from servicekit.tracing import parent_var, trace_id_of, traceparent_for, valid

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_relay_finds_the_events_traceparent_as_pydantic_or_postgresql_wrote_it() -> None:
    assert traceparent_in(f'{{"id":"x","traceparent":"{CALLER}"}}'.encode(), None) == CALLER
    assert traceparent_in(f'{{"id" : "x", "traceparent" : "{CALLER}"}}'.encode(), None) == CALLER


def test_without_one_the_relay_names_the_trace_after_the_correlation_id() -> None:
    found = traceparent_in(b'{"data": {"note": "traceparent"}}', "kolaka-ops-1")
    assert valid(found) and found[3:35] == trace_id_of("kolaka-ops-1")
    assert valid(traceparent_in(b'{"traceparent": "00-zz"}', None))


def test_a_uuid_correlation_id_is_its_own_trace_id_and_any_other_is_hashed_to_one() -> None:
    correlation = uuid.uuid4()
    assert trace_id_of(str(correlation)) == correlation.hex
    assert trace_id_of("kolaka-ops-1") == trace_id_of("kolaka-ops-1") != trace_id_of("x")
    assert len(trace_id_of("kolaka-ops-1")) == 32


def test_an_event_continues_its_parents_trace_with_its_own_id_as_span() -> None:
    event_id = uuid.uuid4()
    token = parent_var.set(CALLER)
    try:
        assert traceparent_for(event_id, "ignored") == (
            f"00-4bf92f3577b34da6a3ce929d0e0e4736-{event_id.hex[:16]}-01"
        )
    finally:
        parent_var.reset(token)
    alone = traceparent_for(event_id, str(event_id))
    assert alone == f"00-{event_id.hex}-{event_id.hex[:16]}-01"


def test_malformed_trace_contexts_are_ignored() -> None:
    for bad in (
        "",
        "00-not-a-trace",
        "01-" + CALLER[3:],
        CALLER.upper(),
        f"00-{'0' * 32}-{'1' * 16}-01",
    ):
        assert valid(bad) is None
