"""One read of a stream's messages on a subject, through a consumer of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


@asynccontextmanager
async def reading(
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    after: int = 0,
    since: datetime | None = None,
) -> AsyncIterator[tuple[JetStreamContext.PullSubscription, int]]:
    """A consumer of its own on ``stream`` for one read of ``subject`` (from sequence
    ``after`` + 1, or from ``since``), removed afterwards: its subscription, and how many
    messages it has to deliver."""
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        filter_subject=subject,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=60.0,  # gone by itself should this process die
    )
    if after:
        config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, after + 1
    elif since is not None:
        config.deliver_policy, config.opt_start_time = DeliverPolicy.BY_START_TIME, since
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    name = ""
    try:
        info = await sub.consumer_info()
        name = info.name
        yield sub, int(info.num_pending or 0)
    finally:
        with suppress(Exception):
            await sub.unsubscribe()
        if name:
            with suppress(Exception):
                await js.delete_consumer(stream, name)
