"""One benchmark run: the system and its raw baselines, side by side, then reconciliation."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import nats
from rich.console import Console

from lms_cli.stack import LocalStack
from servicekit.registry import NAMES, consumers, producers
from servicekit.servers import ensure_database
from servicekit.topology import STREAM

from . import ceilings, components, single_stack, subscriber_kit, webhooks
from .driver import Driver
from .memory import PeakMemory
from .reconcile import reconcile
from .report import Ratio, Results
from .workload import make_plan, summary

console = Console()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CONSUMERS = tuple(spec.name for spec in consumers())


async def consumers_settled(js: Any, consumers: tuple[str, ...] = CONSUMERS) -> bool:
    for name in consumers:
        info = await js.consumer_info(STREAM, name)
        if (info.num_pending or 0) + (info.num_ack_pending or 0):
            return False
    return True


async def outbox_backlog(url: str) -> float:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{url}/metrics")).text
    except httpx.TransportError:  # not answering (restarting after a fault): not known to be empty
        return float("inf")
    for line in text.splitlines():
        if line.startswith("lms_outbox_backlog "):
            return float(line.split()[1])
    return 0.0


def settled(js: Any, urls: dict[str, str], consumers: tuple[str, ...] = CONSUMERS) -> Any:
    """Nothing left anywhere: no unpublished outbox row, no unacknowledged message for
    ``consumers``, twice in a row (a consumer's own events reach the outbox before it
    acknowledges what caused them)."""

    async def probe() -> bool:
        for _ in range(2):
            for spec in producers():
                if await outbox_backlog(urls[spec.name]):
                    return False
            if not await consumers_settled(js, consumers):
                return False
        return True

    return probe


async def wait_until(probe: Any, timeout: float = 600, interval: float = 0.1) -> float:
    started = time.perf_counter()
    while not await probe():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the system did not settle in time")
        await asyncio.sleep(interval)
    return time.perf_counter() - started


async def stored_events(js: Any, subject: str) -> int:
    """How many events the stream holds on ``subject``."""
    info = await js.stream_info(STREAM, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def sample_reporting(js: Any, driver: Driver, applied: list[tuple[float, int]]) -> None:
    """Every half second: how many events the reporting consumer has applied so far."""
    while True:
        try:
            info = await js.consumer_info(STREAM, "reporting")
            applied.append(
                (time.perf_counter() - driver.timeline.started, int(info.ack_floor.consumer_seq))
            )
        except Exception:  # the chart is best effort; the measurements do not depend on it
            pass
        await asyncio.sleep(0.5)


async def progress_burst(driver: Driver, stack: LocalStack, js: Any, seconds: float) -> float:
    """Requests per second of POST /v1/progress, each a first completion, like the bare
    endpoint's run: same client, same concurrency, the other services stopped."""
    course_id, lessons = await driver.speed_course()
    await driver.bulk_enroll(course_id)
    await wait_until(settled(js, stack.urls))
    for name in NAMES:
        if name != "content":
            await asyncio.to_thread(stack.stop, name)
    learners = [x for x in driver.plan.learners if x.learner_id]
    pairs = [(learner, lesson) for lesson in lessons for learner in learners]
    url = f"{driver.urls['content']}/v1/progress"

    def request(client: Any, i: int) -> Any:
        learner, lesson = pairs[i % len(pairs)]
        return client.post(
            url,
            headers=driver.learner_auth(learner),
            json={"course_id": course_id, "lesson_id": lesson},
        )

    rate, _, errors = await ceilings.http_rate(
        request, seconds=seconds, concurrency=driver.plan.size.concurrency
    )
    if errors:
        raise RuntimeError(f"{errors} progress requests failed during the burst")
    return rate


async def benchmark(size: str, seed: int, out: Path) -> Results:
    plan = make_plan(size, seed)
    results = Results(size=size, seed=seed)
    results.measurements["workload"] = summary(plan)
    results.measurements["load_average_at_start"] = single_stack.load_average()
    ports = {name: free_port() for name in NAMES}
    stack = LocalStack(ports=ports, external=False, ready_timeout=300)
    await asyncio.to_thread(stack.__enter__)
    try:
        with PeakMemory(stack.processes) as memory:
            nc = await nats.connect(stack.nats_url, user="admin", password=stack.passwords["admin"])
            js = nc.jetstream()
            driver = Driver(plan, stack.urls)
            try:
                await measure(results, plan, stack, nc, js, driver, out)
            finally:
                await driver.close()
                await nc.close()
        results.peak_memory_mb = memory.peaks
    finally:
        await asyncio.to_thread(stack.__exit__, None, None, None)
    results.write(out)
    return results


async def measure(
    results: Results, plan: Any, stack: LocalStack, nc: Any, js: Any, driver: Driver, out: Path
) -> None:
    events = max(2000, min(plan.lesson_events(), 50_000))
    applied: list[tuple[float, int]] = []
    sampler = asyncio.create_task(sample_reporting(js, driver, applied))
    console.print("[bold]raw ceilings")
    results.ceilings |= await ceilings.jetstream_publish_and_consume(nc, events)
    bench_db = await ensure_database(stack.server_url, "bench_inserts")
    bulk_size = plan.size.bulk_learners
    results.ceilings["postgres_batched_inserts_per_s"] = await ceilings.postgres_batched_inserts(
        bench_db, bulk_size
    )
    bare_seconds = 5.0 if plan.size.learners < 5000 else 15.0
    out.mkdir(parents=True, exist_ok=True)
    results.ceilings["bare_fastapi_requests_per_s"] = await ceilings.bare_endpoint_rate(
        out, free_port(), bare_seconds, concurrency=plan.size.concurrency
    )

    console.print("[bold]course, registration, bulk enrollment")
    await driver.create_course()
    await driver.register()
    bulk_seconds = await driver.bulk_enroll()
    drained = await wait_until(settled(js, stack.urls))
    results.measurements["bulk_enrollment_s"] = bulk_seconds
    enrolled = await stored_events(js, "lms.enrollment.enrolled.v1.>")
    results.measurements["enrolled_events"] = enrolled
    largest = max(plan.provinces, key=lambda p: plan.expected_totals(p)["registered"])
    early_latency = await driver.report_latency(largest)

    console.print("[bold]pre-tests and online lessons (end to end)")
    await driver.pre_tests()
    await wait_until(settled(js, stack.urls))
    started = time.perf_counter()
    progress_rate, progress_requests = await driver.online_lessons()
    await wait_until(settled(js, stack.urls))
    e2e_seconds = time.perf_counter() - started
    online_events = sum(len(x.lessons_online) for x in plan.learners)
    e2e_rate = online_events / e2e_seconds
    results.measurements |= {
        "progress_requests": progress_requests,
        "online_lesson_events": online_events,
        "e2e_seconds": e2e_seconds,
        "drain_after_bulk_s": drained,
    }
    latencies = sorted(lat for _, lat in driver.timeline.samples)
    results.measurements |= single_stack.latency_percentiles(latencies)
    results.measurements["slowest_routes"] = driver.timeline.slowest_routes()

    console.print("[bold]offline syncs and post-tests with reporting stopped, then its catch-up")
    await asyncio.to_thread(stack.stop, "reporting")
    await driver.offline_syncs()
    await driver.post_tests()

    await wait_until(settled(js, stack.urls, tuple(c for c in CONSUMERS if c != "reporting")))
    backlog = (await js.consumer_info(STREAM, "reporting")).num_pending or 0
    await asyncio.to_thread(stack.start, "reporting")
    catch_up = await wait_until(settled(js, stack.urls), interval=0.05)
    reporting_rate = backlog / catch_up if backlog else 0.0
    results.measurements |= {"reporting_backlog": backlog, "reporting_catch_up_s": catch_up}

    await asyncio.sleep(0)
    late_latency = await driver.report_latency(largest)
    results.measurements |= {
        "region_report_ms_early": early_latency * 1000,
        "region_report_ms_end": late_latency * 1000,
        "region_report_region": largest,
    }

    console.print("[bold]reconciliation")
    results.reconciliation = await reconcile(driver)

    console.print("[bold]components alone: outbox relay, reporting consumer replaying the run")
    relay_rate = await components.relay_rate(stack.server_url, js, events)
    bulk_rate, plain_rate = await components.bulk_enrollment_rate(stack.server_url, bulk_size)
    results.ceilings["postgres_batched_inserts_enrollment_rows_per_s"] = plain_rate
    results.measurements["bulk_job_learners"] = bulk_size
    replay_rate, replayed = await components.reporting_consumer_rate(stack.server_url, js)
    results.measurements |= {
        "relay_backlog": events,
        "reporting_replay_events": replayed,
        "reporting_catch_up_rate_per_s": reporting_rate,
    }

    console.print("[bold]subscriber kit: the largest province's share of the run's events")
    share = sum(x.village_code.startswith(f"{largest}.") for x in plan.learners) / len(
        plan.learners
    )
    kit = await subscriber_kit.measure(largest, share, events)
    results.ceilings["jetstream_fetch_province_durable_per_s"] = kit["raw_fetch_per_s"]
    results.measurements |= {
        "subscriber_kit_province": largest,
        "subscriber_kit_province_share": share,
        "subscriber_kit_events": kit["kit_events"],
        "subscriber_kit_per_s": kit["kit_per_s"],
    }

    console.print("[bold]webhook bridge against a bare HTTPS client, to the same receiver")
    hooks = 1_000 if plan.size.learners < 500 else 10_000
    bridge_rate, bare_rate = await webhooks.webhook_rates(stack.server_url, out, hooks)
    results.ceilings["bare_https_posts_per_s"] = bare_rate
    results.measurements["webhook_deliveries"] = hooks

    console.print("[bold]progress endpoint burst, content alone (others stopped)")
    burst_rate = await progress_burst(driver, stack, js, bare_seconds)
    results.measurements["progress_rate_under_full_load_per_s"] = progress_rate

    results.measurements["load_average_at_end"] = single_stack.load_average()
    results.ratios = [
        *single_stack.goals(
            e2e_rate,
            results.ceilings["bare_fastapi_requests_per_s"],
            results.measurements.get("http_p99_ms", 0.0),
        ),
        Ratio(
            "outbox relay vs raw JetStream publish",
            relay_rate,
            results.ceilings["jetstream_publish_per_s"],
            0.5,
        ),
        Ratio(
            "POST /v1/progress vs bare FastAPI endpoint",
            burst_rate,
            results.ceilings["bare_fastapi_requests_per_s"],
            0.4,
        ),
        Ratio(
            "reporting consumer (replaying the run) vs raw JetStream consume",
            replay_rate,
            results.ceilings["jetstream_consume_per_s"],
            0.5,
        ),
        Ratio(
            "webhook bridge deliveries (signed, ordered per learner) vs bare httpx posts "
            "to the same HTTPS receiver",
            bridge_rate,
            bare_rate,
            0.5,
        ),
        Ratio(
            "bulk enrollment (events included) vs plain batched INSERTs of the same rows",
            bulk_rate,
            plain_rate,
            0.25,
        ),
        Ratio(
            "subscriber kit (a province's durable) vs raw nats-py fetch of the same messages",
            kit["kit_per_s"],
            kit["raw_fetch_per_s"],
            0.25,
        ),
        Ratio(
            "subscriber kit vs the province's share of the end-to-end event rate",
            kit["kit_per_s"],
            share * e2e_rate,
            1.0,
        ),
        Ratio(
            "region report latency at the end vs after enrollment",
            late_latency * 1000,
            early_latency * 1000,
            1.5,
            lower_is_better=True,
            unit=" ms",
        ),
    ]
    sampler.cancel()
    results.timeline = driver.timeline.buckets(applied)

    if latencies:
        results.measurements["http_requests"] = len(latencies)
        results.measurements["http_mean_ms"] = statistics.fmean(latencies) * 1000
