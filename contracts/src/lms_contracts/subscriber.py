"""Example subscriber for a provincial or regency system (needs ``lms-contracts[subscriber]``).

Follows the region's learner events and the course catalog on durable JetStream consumers,
so it resumes where it stopped after a restart; ``--since`` replays from a point in time.
Each event is handled at most once per event id: keep the ids you have processed (here, in
memory; use your database in production), because a replay may send an event again.

    python -m lms_contracts.subscriber --url nats://lms.example:4222 \\
        --user region-74 --password ... --region 74 --since 2026-11-01T00:00:00Z
"""

from __future__ import annotations

import argparse
import asyncio
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


async def ensure_consumers(
    js: JetStreamContext, region_code: str, since: datetime | None = None
) -> tuple[str, str]:
    """Create the two durable consumers, or re-create them to replay from ``since``."""
    learner_events, catalog = consumer_names(region_code)
    for name, subject in ((learner_events, regional_filter(region_code)), (catalog, CATALOG)):
        if since is not None:
            try:
                await js.delete_consumer(STREAM, name)
            except NotFoundError:
                pass
        config = ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
            opt_start_time=since,
            max_ack_pending=1000,
        )
        try:
            await js.consumer_info(STREAM, name)
        except NotFoundError:
            await js.add_consumer(STREAM, config)
    return learner_events, catalog


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
