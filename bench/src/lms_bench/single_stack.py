"""The single stack's two goals, and a short run that measures only them.

- **End to end**: lesson completions per second from the first ``POST /v1/progress`` until
  every consumer has applied every event (and what they emitted in turn), against the bare
  FastAPI endpoint's requests per second, same client and concurrency, same run: at least 0.5.
- **HTTP p99** of every request of the rollout up to then (registration, bulk jobs, pre-tests,
  lessons; every service and consumer busy): at most 500 ms.

``lms bench e2e`` runs the rollout up to the lessons and nothing else (a few minutes at
``small``), optionally with py-spy sampling every service during the lessons.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import nats
from rich.console import Console

from lms_cli.stack import LocalStack
from servicekit.registry import NAMES, SERVICES

from . import ceilings, profiles
from .driver import Driver
from .report import Ratio, Results
from .workload import Plan, make_plan, summary

console = Console()
E2E_GOAL = 0.5
P99_GOAL_MS = 500.0


def goals(e2e_rate: float, bare_rate: float, p99_ms: float) -> list[Ratio]:
    return [
        Ratio(
            "end-to-end lesson completions/s (HTTP request to every consumer applied) "
            "vs bare FastAPI endpoint",
            e2e_rate,
            bare_rate,
            E2E_GOAL,
        ),
        Ratio(
            "HTTP p99 across the rollout (every service and consumer busy) vs its goal",
            p99_ms,
            P99_GOAL_MS,
            1.0,
            lower_is_better=True,
            unit=" ms",
        ),
    ]


def latency_percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {}
    return {
        "http_p50_ms": ordered[len(ordered) // 2] * 1000,
        "http_p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
        "http_p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
    }


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes), to read the absolute numbers by."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


async def commits(server_url: str) -> dict[str, int]:
    """Transactions committed so far in each service's database (PostgreSQL's counter, which
    it publishes every half second or so): divided by the events, how many each takes."""
    from servicekit.servers import connect_asyncpg

    conn = await connect_asyncpg(server_url)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = await conn.fetch("SELECT datname, xact_commit FROM pg_stat_database")
    finally:
        await conn.close()
    databases = {spec.database: spec.name for spec in SERVICES}
    return {
        databases[r["datname"]]: int(r["xact_commit"]) for r in rows if r["datname"] in databases
    }


def rest_of_the_machine(stack: LocalStack) -> dict[str, float]:
    """CPU seconds so far of what the stack runs besides the services, and of this process
    (the load generator)."""
    used = {"load generator": time.process_time()}
    if stack.postgres is not None and (pid := stack.postgres.pid()) is not None:
        used["postgresql"] = profiles.tree_cpu_seconds(pid)
    for index, pid in enumerate(stack.nats.pids() if stack.nats is not None else []):
        used[f"nats-server {index + 1}"] = profiles.cpu_seconds(pid)
    return used


def online_events(plan: Plan) -> int:
    return sum(len(x.lessons_online) for x in plan.learners)


async def run(size: str, seed: int, out: Path, profile: bool) -> Results:
    from .run import free_port

    plan = make_plan(size, seed)
    results = Results(size=size, seed=seed)
    results.measurements |= {"workload": summary(plan), "load_average_at_start": load_average()}
    stack = LocalStack(
        ports={name: free_port() for name in NAMES}, external=False, ready_timeout=300
    )
    await asyncio.to_thread(stack.__enter__)
    try:
        nc = await nats.connect(stack.nats_url, user="admin", password=stack.passwords["admin"])
        driver = Driver(plan, stack.urls)
        try:
            await _measure(results, plan, stack, nc.jetstream(), driver, out, profile)
        finally:
            await driver.close()
            await nc.close()
    finally:
        await asyncio.to_thread(stack.__exit__, None, None, None)
    results.measurements["load_average_at_end"] = load_average()
    out.mkdir(parents=True, exist_ok=True)
    (out / "e2e.md").write_text(results.markdown())
    return results


async def _measure(
    results: Results,
    plan: Plan,
    stack: LocalStack,
    js: Any,
    driver: Driver,
    out: Path,
    profile: bool,
) -> None:
    from .run import free_port, settled, wait_until

    out.mkdir(parents=True, exist_ok=True)
    bare = await ceilings.bare_endpoint_rate(
        out, free_port(), 5.0, concurrency=plan.size.concurrency
    )
    results.ceilings["bare_fastapi_requests_per_s"] = bare
    console.print("[bold]course, registration, bulk enrollment, pre-tests")
    await driver.create_course()
    await driver.register()
    await driver.bulk_enroll()
    await wait_until(settled(js, stack.urls))
    await driver.pre_tests()
    await wait_until(settled(js, stack.urls))
    console.print("[bold]online lessons (end to end)" + (", sampled by py-spy" if profile else ""))
    pids = {name: process.pid for name, process in stack.processes.items()}
    cpu_before = {name: profiles.cpu_seconds(pid) for name, pid in pids.items()}
    rest_before, machine_before = rest_of_the_machine(stack), profiles.machine_cpu()
    commits_before = await commits(stack.server_url)
    sampling: AbstractContextManager[dict[str, Path]] = (
        profiles.sampled(pids, out) if profile else nullcontext({})
    )
    with sampling as files:
        started = time.perf_counter()
        rate, requests = await driver.online_lessons()
        await wait_until(settled(js, stack.urls))
        seconds = time.perf_counter() - started
    cpu = {name: profiles.cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    rest = {k: v - rest_before[k] for k, v in rest_of_the_machine(stack).items()}
    machine = [now - then for now, then in zip(profiles.machine_cpu(), machine_before, strict=True)]
    events = online_events(plan)
    await asyncio.sleep(1.0)  # the statistics of the last commits reach the counters
    committed = await commits(stack.server_url)
    latency = latency_percentiles([lat for _, lat in driver.timeline.samples])
    results.measurements |= latency | {
        "online_lesson_events": events,
        "progress_requests": requests,
        "progress_rate_under_full_load_per_s": rate,
        "e2e_seconds": seconds,
        "slowest_routes": driver.timeline.slowest_routes(),
        "cpu_ms_per_event": {k: round(1000 * v / events, 2) for k, v in (cpu | rest).items()},
        # how busy the machine's cores were meanwhile (everything on it, not only the stack)
        "machine_busy_share": round(machine[0] / machine[1], 3) if machine[1] else None,
        "machine_cpu_ms_per_event": round(1000 * machine[0] / events, 2),
        "transactions_per_event": {
            k: round((v - commits_before[k]) / events, 2) for k, v in committed.items()
        },
    }
    results.ratios = goals(events / seconds, bare, latency.get("http_p99_ms", 0.0))
    if files:
        found = [
            profiles.summarise(name, profiles.read_collapsed(path))
            for name, path in files.items()
            if path.exists()
        ]
        (out / "profile.md").write_text(profiles.markdown(found, cpu, events))
