"""The subscriber kit alone: does it keep up with a province's share of the national rate?

On a nats-server of its own (with the platform's users and the province's), the LMS stream
gets lesson events spread over the country, the province receiving its share; then, in the
same run, the province's events are read twice through a durable filtered to the province:
with plain nats-py (``fetch`` and an ack each, the baseline) and with the kit (FastStream's
pull subscriber, a typed handler per event, an ack each after the handler).

The kit fills a batch for up to ``max_wait`` when fewer events than a batch are there (its
default, 1 s, is a regional system's latency, not its rate): measured with 0.1 s, so that the
last partial batch's wait does not stand for the rate of a run of a few thousand events.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from datetime import UTC, datetime

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from lms_contracts import CloudEvent, LessonCompleted, new_event, regional_filter, subject_of
from lms_contracts.subscriber import Subscriber
from servicekit import regions
from servicekit.natsauth import (
    ADMIN,
    all_users,
    generate_passwords,
    regional_user_name,
    server_config,
)
from servicekit.servers import NatsServer, new_run_dir
from servicekit.topology import STREAM, apply_topology

KIT_MAX_WAIT = 0.1


def lesson(village_code: str) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    data = LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=now,
        recorded_at=now,
    )
    return subject_of(data), new_event(data).to_json()


async def publish_country(js: JetStreamContext, province: str, share: float, events: int) -> int:
    """``events`` lesson events, ``share`` of them in ``province``; how many landed there."""
    rng = random.Random(2026)
    ours = sorted(regions.villages_of_province(province))
    others = [
        village
        for code in regions.provinces()
        if code != province
        for village in sorted(regions.villages_of_province(code))[:50]
    ]
    mine = 0
    for start in range(0, events, 500):
        batch = []
        for _ in range(min(500, events - start)):
            in_province = rng.random() < share
            mine += in_province
            batch.append(lesson(rng.choice(ours if in_province else others)))
        await asyncio.gather(*(js.publish(s, body, timeout=10) for s, body in batch))
    return mine


async def raw_fetch_rate(js: JetStreamContext, province: str, expected: int) -> float:
    """Plain nats-py on a durable filtered to the province: fetch, ack each."""
    started = time.perf_counter()
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name="bench-raw",
            filter_subject=regional_filter(province),
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=1000,
        ),
    )
    sub = await js.pull_subscribe_bind(durable="bench-raw", stream=STREAM)
    received = 0
    while received < expected:
        for message in await sub.fetch(100, timeout=5):
            await message.ack()
            received += 1
    return received / (time.perf_counter() - started)


async def kit_rate(url: str, province: str, password: str, expected: int) -> float:
    """The kit on the province's own durable, as the province's NATS user."""
    kit = Subscriber(province, url=url, password=password, max_wait=KIT_MAX_WAIT)
    done, handled = asyncio.Event(), 0

    @kit.on(LessonCompleted)
    async def count(event: CloudEvent[LessonCompleted]) -> None:
        nonlocal handled
        handled += 1
        if handled >= expected:
            done.set()

    started = time.perf_counter()
    await kit.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
        return handled / (time.perf_counter() - started)
    finally:
        await kit.close()


async def measure(province: str, share: float, events: int) -> dict[str, float]:
    workdir = new_run_dir("bench-kit")
    passwords = generate_passwords([province])
    config = workdir / "nats.conf"
    config.write_text(server_config(all_users(passwords, [province])))
    server = NatsServer(workdir, config_file=config)
    server.start()
    try:
        nc = await nats.connect(server.url, user=ADMIN, password=passwords[ADMIN])
        js = nc.jetstream()
        await apply_topology(js)
        mine = await publish_country(js, province, share, events)
        raw = await raw_fetch_rate(js, province, mine)
        kit = await kit_rate(server.url, province, passwords[regional_user_name(province)], mine)
        await nc.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"kit_events": mine, "kit_per_s": kit, "raw_fetch_per_s": raw}
