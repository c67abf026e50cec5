"""Batches from a durable pull consumer on a real nats-server: every message once, in order,
and a waiting fetch answered by the first message that arrives."""

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from servicekit.pull import Puller

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
