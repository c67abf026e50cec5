"""A batch of learner events kept and queued in one statement (``store/received.py``): each
event once per endpoint whose region and types match it, redeliveries and duplicates within a
batch queuing nothing more, each learner's events sent in the batch's order."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.https import Certificates
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import (
    AWULITI,
    BENDE,
    BENTENG_UTARA,
    TOWUA,
    api,
    bridge,
    lesson,
    receiver_at,
    register,
    registered,
)

pytestmark = pytest.mark.integration


async def as_one_batch(service: RunningService, batch: list[c.CloudEvent[Any]]) -> None:
    """What the consumer does with a fetched batch: one transaction, its inbox and events."""
    consumer = service.runtime.consumer
    assert consumer is not None
    await consumer._apply(batch)


async def test_a_batch_of_many_learners_and_types_is_queued_once_per_matching_endpoint(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        kolaka, _ = await register(
            service, f"{receiver.url}/kolaka", "74.01", [c.LessonCompleted.event_type]
        )
        province, _ = await register(service, f"{receiver.url}/sultra", "74")
        sitti, andi, rahma, selayar = (uuid.uuid4() for _ in range(4))
        data: list[c.EventData] = [
            registered(sitti, TOWUA),
            *(lesson(sitti, TOWUA) for _ in range(3)),
            *(lesson(andi, BENDE) for _ in range(2)),
            registered(rahma, AWULITI),  # Konawe: the province's endpoint only
            lesson(rahma, AWULITI),
            lesson(selayar, BENTENG_UTARA),  # Sulawesi Selatan: nobody's
        ]
        events = [c.new_event(x) for x in data]
        random.Random(22).shuffle(events)
        await as_one_batch(service, [*events, events[0]])
        await as_one_batch(service, events)  # redelivered: queues nothing more

        def wanted(region: str, types: set[str] | None) -> list[str]:
            return [
                str(e.id)
                for e in events
                if (e.data.village_code + ".").startswith(region + ".")
                and (types is None or e.type in types)
            ]

        for endpoint, expected in (
            (kolaka, wanted("74.01", {c.LessonCompleted.event_type})),
            (province, wanted("74", None)),
        ):
            log = await eventually(
                lambda e=endpoint: api(service, "GET", f"/{e['endpoint_id']}/deliveries"),
                lambda page, n=len(expected): [d["status"] for d in page["items"]]
                == ["delivered"] * n,
            )
            assert sorted(d["event_id"] for d in log["items"]) == sorted(expected)

        accepted = [
            (r.path, r.headers["webhook-id"]) for r in receiver.receiver.received if r.accepted
        ]
        assert len(accepted) == len(set(accepted)), "each delivery sent once"
        learner_of = {str(e.id): e.data.learner_id for e in events}
        for path in ("/kolaka", "/sultra"):
            for learner in {learner_of[i] for p, i in accepted if p == path}:
                got = [i for p, i in accepted if p == path and learner_of[i] == learner]
                in_order = [str(e.id) for e in events if str(e.id) in got]
                assert got == in_order, "a learner's events are sent in the batch's order"
