"""Batches from a durable pull consumer on a real nats-server: every message once, in order,
a waiting fetch answered by the first message that arrives; requests the server refuses
(409, 503, a deleted consumer), a server restart, and what is left at stop."""

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from servicekit.pull import NatsInternalsChanged, Puller, jetstream_connection
from servicekit.servers import NatsServer
from servicekit.testing.waiting import eventually

STREAM, SUBJECT = "PULLTEST", "pulltest.x"


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    context = nc.jetstream()
    await context.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    await context.add_consumer(
        STREAM, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=60)
    )
    yield context
    await nc.close()


async def publish(js: JetStreamContext, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        await js.publish(SUBJECT, str(i).encode())


async def started(js: JetStreamContext) -> Puller:
    puller = Puller.of(js, STREAM, "reader")
    await puller.start()
    return puller


async def test_batches_deliver_every_message_once_in_stream_order(js: JetStreamContext) -> None:
    await publish(js, 250)
    puller = await started(js)
    seen: list[int] = []
    sizes: list[int] = []
    while len(seen) < 250:
        batch = await puller.fetch(100, timeout=5)
        sizes.append(len(batch))
        for msg in batch:
            seen.append(int(msg.data))
            await msg.ack()
    assert seen == list(range(250))
    assert sizes == [100, 100, 50]
    assert await puller.fetch(100, timeout=0.2) == []
    await puller.stop()
    info = await js.consumer_info(STREAM, "reader")
    assert info.num_pending == 0 and info.num_redelivered == 0


async def test_an_idle_fetch_returns_with_the_first_message_that_arrives(
    js: JetStreamContext,
) -> None:
    puller = await started(js)
    assert await puller.fetch(10, timeout=0.2) == []
    # The fetch waits up to a minute for a batch of 500; one message must end the wait.
    waiting = asyncio.create_task(puller.fetch(500, timeout=60))
    await publish(js, 1)
    batch = await asyncio.wait_for(waiting, timeout=30)
    assert [int(m.data) for m in batch] == [0]
    await batch[0].ack()
    await puller.stop()


async def test_what_an_open_request_delivers_after_its_fetch_returned_comes_next(
    js: JetStreamContext,
) -> None:
    puller = await started(js)
    waiting = asyncio.create_task(puller.fetch(50, timeout=60))
    await publish(js, 1)
    first = await asyncio.wait_for(waiting, timeout=30)
    # The request for 50 is still open: the server pushes these to the puller's buffer.
    await publish(js, 5, start=1)
    later: list[int] = []
    while len(later) < 5:
        later += [int(m.data) for m in await puller.fetch(2, timeout=5)]
    assert [int(m.data) for m in first] == [0] and later == [1, 2, 3, 4, 5]
    assert await puller.stop() == []


async def test_the_jetstream_context_still_keeps_its_connection_and_api_prefix(
    nats_url: str,
) -> None:
    """The pull loop reaches into nats-py for these two; an upgrade that moves them fails
    here, by name, rather than somewhere in a running consumer."""
    nc = await nats.connect(nats_url)
    try:
        assert jetstream_connection(nc.jetstream()) == (nc, "$JS.API")
        assert jetstream_connection(nc.jetstream(domain="hub")) == (nc, "$JS.hub.API")
        assert Puller.of(nc.jetstream(), STREAM, "reader").request_subject == (
            f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.reader"
        )
    finally:
        await nc.close()
    with pytest.raises(NatsInternalsChanged, match="_nc"):
        jetstream_connection(SimpleNamespace(_prefix="$JS.API"))  # type: ignore[arg-type]


async def test_a_refused_request_is_waited_out_then_the_puller_carries_on(
    js: JetStreamContext,
) -> None:
    """409: the server takes one waiting request at a time and refuses the second puller's
    until the first is gone; the refused fetch waits out its timeout instead of spinning."""
    await js.delete_consumer(STREAM, "reader")
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=60, max_waiting=1
        ),
    )
    first, second = await started(js), await started(js)
    waiting = asyncio.create_task(first.fetch(10, timeout=3))
    await eventually(lambda: js.consumer_info(STREAM, "reader"), lambda i: i.num_waiting == 1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await second.fetch(10, timeout=0.5) == []
    assert loop.time() - began >= 0.45
    assert (second.refusal or "").startswith("409")

    await publish(js, 1)
    assert [int(m.data) for m in await waiting] == [0]
    await first.stop()
    await publish(js, 2, start=1)
    batch = await second.fetch(10, timeout=5)
    assert [int(m.data) for m in batch] == [1, 2] and second.refusal is None
    await second.stop()


async def test_a_deleted_consumer_is_refused_without_spinning_and_read_again_once_recreated(
    js: JetStreamContext,
) -> None:
    puller = await started(js)
    await publish(js, 3)
    for msg in await puller.fetch(10, timeout=5):
        await msg.ack()
    await js.delete_consumer(STREAM, "reader")
    await publish(js, 2, start=3)
    loop = asyncio.get_running_loop()
    began, fetches = loop.time(), 0
    while loop.time() - began < 1.0:
        assert await puller.fetch(10, timeout=0.25) == []
        fetches += 1
    assert fetches <= 5  # each refused fetch waits out its timeout
    assert (puller.refusal or "").startswith("503")  # no responders: no consumer to ask

    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name="reader",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=60,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=4,
        ),
    )
    batch = await puller.fetch(10, timeout=5)
    assert [int(m.data) for m in batch] == [3, 4] and puller.refusal is None
    await puller.stop()


async def test_after_the_server_restarts_the_puller_reads_on(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    await js.add_consumer(
        STREAM, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=60)
    )
    puller = await started(js)
    await publish(js, 2)
    first = await puller.fetch(10, timeout=5)
    for msg in first:
        await msg.ack()
    waiting = asyncio.create_task(puller.fetch(10, timeout=1))  # lost with the connection
    await asyncio.to_thread(nats_server.restart)
    await waiting
    await eventually(lambda: asyncio.sleep(0, nc.is_connected), bool)
    await publish(js, 3, start=2)
    later: list[int] = []
    while len(later) < 3:
        batch = await puller.fetch(10, timeout=5)
        assert batch, "nothing fetched after the restart"
        later += [int(m.data) for m in batch]
    assert [int(m.data) for m in first] == [0, 1] and later == [2, 3, 4]
    await puller.stop()
    await nc.close()


async def test_what_an_open_request_delivers_until_stop_is_handed_back_not_lost(
    js: JetStreamContext,
) -> None:
    """A pull request cannot be withdrawn: at stop, the puller keeps listening until the
    live request has ended, so every message the server gave out is either fetched or in
    the leftovers, which a nak gives out again at once (not after the 60 s ack wait)."""
    puller = await started(js)
    waiting = asyncio.create_task(puller.fetch(100, timeout=5))
    await eventually(lambda: js.consumer_info(STREAM, "reader"), lambda i: i.num_waiting == 1)
    await publish(js, 1)
    fetched = await waiting  # the request still owes 99
    for msg in fetched:
        await msg.ack()
    await publish(js, 300, start=1)
    left = await puller.stop()
    info = await js.consumer_info(STREAM, "reader")
    assert info.num_ack_pending == len(left) == 99  # nothing given out went unseen
    for msg in left:
        await msg.nak()
    successor = await started(js)
    seen: list[int] = []
    while len(seen) < 300:
        batch = await successor.fetch(100, timeout=2)
        assert batch, f"only {len(seen)} of 300 came back promptly"
        for msg in batch:
            seen.append(int(msg.data))
            await msg.ack()
    assert sorted(seen) == list(range(1, 301))
    await successor.stop()
