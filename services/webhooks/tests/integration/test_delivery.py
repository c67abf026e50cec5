"""Deliveries to a real HTTPS receiver: signed, only the region's learner events, once per
event, in order per learner, through an endpoint that goes down, answers 500s and comes back."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from nats.js import JetStreamContext

from servicekit.testing.https import Certificates, RunningReceiver
from servicekit.testing.waiting import eventually

from .conftest import (
    AWULITI,
    BENDE,
    BENTENG_UTARA,
    NOPEMBER,
    TOWUA,
    api,
    bridge,
    contact,
    first_accepted,
    lesson,
    publish,
    receiver_at,
    register,
    registered,
    verify,
)

pytestmark = pytest.mark.integration


async def test_a_regency_gets_its_learner_events_signed_and_nothing_from_elsewhere(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        endpoint, secret = await register(service, f"{receiver.url}/lms", "74.01")
        assert endpoint["region_code"] == "74.01" and endpoint["enabled"] is True
        kolaka, konawe, selayar = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        wanted = [
            await publish(jetstream, registered(kolaka, TOWUA)),
            await publish(jetstream, lesson(kolaka, TOWUA), again=True),  # redelivered
        ]
        await publish(jetstream, contact(kolaka, TOWUA))  # private: never consumed
        await publish(jetstream, registered(konawe, AWULITI))  # another regency
        await publish(jetstream, lesson(selayar, BENTENG_UTARA))  # another province
        wanted.append(await publish(jetstream, lesson(kolaka, TOWUA)))

        log = await eventually(
            lambda: api(service, "GET", f"/{endpoint['endpoint_id']}/deliveries"),
            lambda page: [d["status"] for d in page["items"]] == ["delivered"] * 3,
        )
        received = receiver.receiver.received
        assert [r.headers["webhook-id"] for r in received] == [str(e.id) for e in wanted]
        for request, event in zip(received, wanted, strict=True):
            payload = verify(secret, request)
            assert payload["id"] == str(event.id) and payload["type"] == event.type
            assert payload["data"]["village_code"] == TOWUA
            assert request.path == "/lms"
            assert request.headers["content-type"] == "application/json"
        assert len(log["items"]) == 3


async def test_an_endpoint_that_goes_down_and_fails_loses_nothing_and_keeps_each_learners_order(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    learners = {uuid.uuid4(): village for village in (TOWUA, BENDE, NOPEMBER) for _ in range(2)}
    published: dict[uuid.UUID, list[str]] = defaultdict(list)

    async def round_of_lessons() -> None:
        for learner_id, village in learners.items():
            event = await publish(jetstream, lesson(learner_id, village))
            published[learner_id].append(str(event.id))

    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        endpoint, secret = await register(service, receiver.url, "74.01")
        await round_of_lessons()
        await eventually(lambda: _accepted(receiver), lambda n: n == len(learners))

        await receiver.stop()  # down: connections refused
        await round_of_lessons()
        await round_of_lessons()
        await eventually(
            lambda: api(service, "GET", f"/{endpoint['endpoint_id']}/deliveries?status=pending"),
            lambda page: any(d["attempts"] >= 2 for d in page["items"]),
        )

        receiver.receiver.status = 500  # back, but failing
        await receiver.start()
        await round_of_lessons()
        await eventually(
            lambda: _answered(receiver, 500), lambda n: n >= 2 * len(learners), timeout=30
        )

        receiver.receiver.status = 204  # well again
        total = sum(len(ids) for ids in published.values())
        await eventually(lambda: _accepted(receiver), lambda n: n == total, timeout=60)

        requests = receiver.receiver.received
        accepted = first_accepted(requests)
        assert set(accepted) == {i for ids in published.values() for i in ids}
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for request in requests:
            bodies[request.headers["webhook-id"]].add(request.body)
            assert verify(secret, request)["id"] == request.headers["webhook-id"]
        assert all(len(seen) == 1 for seen in bodies.values()), "one body per webhook-id"
        for learner_id, ids in published.items():
            order = [i for i in accepted if i in set(ids)]
            assert order == ids, f"learner {learner_id} out of order"
        counts = {"pending": 0, "delivered": total, "dead": 0}
        await eventually(
            lambda: api(service, "GET", f"/{endpoint['endpoint_id']}"),
            lambda shown: shown["deliveries"] == counts,
        )


async def _accepted(receiver: RunningReceiver) -> int:
    return len(first_accepted(receiver.receiver.received))


async def _answered(receiver: RunningReceiver, status: int) -> int:
    return sum(1 for r in receiver.receiver.received if r.status == status)
