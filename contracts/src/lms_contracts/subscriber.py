"""Example subscriber for a provincial or regency system (needs ``lms-contracts[subscriber]``).

Follows the region's learner events and the course catalog on durable JetStream consumers,
so it resumes where it stopped after a restart; ``--since`` replays from a point in time.
The consumers are pull consumers with bounded settings, created by the operator's topology
(``lms topology apply``) before the region's user is handed out; this kit creates them only
with the very same configuration, and replays by resetting them (the server refuses a
regional user any other configuration, and deleting them).
Each event is handled at most once per event id: keep the ids you have processed (here, in
memory; use your database in production), because a replay may send an event again.

    python -m lms_contracts.subscriber --url nats://lms.example:4222 \\
        --user region-74 --password ... --region 74 --since 2026-11-01T00:00:00Z
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import nats
from nats.errors import TimeoutError as FetchTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from . import CloudEvent, EventData, parse_event, regional_filter
from .subjects import split_region_code

STREAM = "LMS"
CATALOG = "lms.content.course-published.v1"
Handler = Callable[[CloudEvent[EventData]], Awaitable[None]]


def consumer_names(region_code: str) -> tuple[str, str]:
    name = "region-" + "-".join(split_region_code(region_code))
    return name, f"{name}-catalog"


async def connect(url: str, user: str, password: str) -> nats.NATS:
    return await nats.connect(
        url, user=user, password=password, inbox_prefix=f"_INBOX_{user}", max_reconnect_attempts=-1
    )


# Bounds of a regional consumer: how many events may wait for acknowledgement, how long one
# may before it is sent again, how many pull requests may wait
MAX_ACK_PENDING = 1000
ACK_WAIT_SECONDS = 60.0
MAX_WAITING = 16


def consumer_configs(region_code: str) -> list[ConsumerConfig]:
    """The region's two durable consumers: pull, explicit acknowledgement, file storage,
    bounded, each on its own filter."""
    learner_events, catalog = consumer_names(region_code)
    return [
        ConsumerConfig(
            name=name,
            durable_name=name,
            description=f"regional subscriber {name}",
            filter_subject=subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_SECONDS,
            max_ack_pending=MAX_ACK_PENDING,
            max_waiting=MAX_WAITING,
        )
        for name, subject in ((learner_events, regional_filter(region_code)), (catalog, CATALOG))
    ]


async def ensure_consumers(
    js: JetStreamContext, region_code: str, since: datetime | None = None
) -> tuple[str, str]:
    """The two durable consumers (created if the operator has not yet); with ``since``, reset
    to the start of the stream to replay (``follow`` skips what is older than ``since``)."""
    for config in consumer_configs(region_code):
        name = config.durable_name or ""
        try:
            await js.consumer_info(STREAM, name)
        except NotFoundError:
            await js.add_consumer(STREAM, config)
        if since is not None:
            await reset_consumer(js, name, sequence=1)
    learner_events, catalog = consumer_names(region_code)
    return learner_events, catalog


async def reset_consumer(js: JetStreamContext, name: str, sequence: int) -> None:
    """Deliver again from stream ``sequence`` (the server's consumer reset, nats-server 2.14+)."""
    response = await js._nc.request(
        f"$JS.API.CONSUMER.RESET.{STREAM}.{name}", json.dumps({"seq": sequence}).encode(), timeout=5
    )
    answer = json.loads(response.data)
    if "error" in answer:
        raise RuntimeError(f"could not reset {name}: {answer['error']}")


async def follow(
    js: JetStreamContext,
    region_code: str,
    handle: Handler,
    *,
    since: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Fetch, parse, handle and acknowledge events until ``stop`` is set."""
    stop = stop or asyncio.Event()
    names = await ensure_consumers(js, region_code, since)
    subscriptions = [await js.pull_subscribe_bind(durable=n, stream=STREAM) for n in names]
    seen: set[Any] = set()
    while not stop.is_set():
        for subscription in subscriptions:
            try:
                messages = await subscription.fetch(100, timeout=1)
            except FetchTimeout:
                continue
            for message in messages:
                event = parse_event(message.data)
                if since is not None and event.time < since:
                    await message.ack()  # before the replay's starting point
                    continue
                if event.id not in seen:
                    await handle(event)
                    seen.add(event.id)
                await message.ack()


async def _print(event: CloudEvent[EventData]) -> None:
    print(event.time.isoformat(), event.type, event.data.model_dump_json())


async def _main(args: argparse.Namespace) -> None:
    nc = await connect(args.url, args.user, args.password)
    try:
        since = datetime.fromisoformat(args.since) if args.since else None
        await follow(nc.jetstream(), args.region, _print, since=since)
    finally:
        await nc.close()


def main() -> None:  # pragma: no cover - runnable example
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--region", required=True, help="province (74) or regency (74.01)")
    parser.add_argument("--since", help="replay from this ISO time, e.g. 2026-11-01T00:00:00Z")
    try:
        asyncio.run(_main(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
