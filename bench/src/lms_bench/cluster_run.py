"""``lms bench --cluster``: the end-to-end rate on the production shape (three NATS nodes, R3
streams, two processes per service), then the same load with the NATS node leading the LMS
stream killed (``kill -9``) halfway, in the same run, and both reconciled per event id.

The end-to-end rate is registrations accepted per second, from the first request until every
consumer of the event (notification, reporting, webhooks) has applied the last one: a
registration is a request to enrollment, an outbox row, a relay publish acknowledged by two of
three nodes (each fsyncing first, ADR 24) and three consumers' transactions.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import nats
from rich.console import Console

from lms_cli.stack import LocalStack, instance_names
from servicekit.auth import mint_token
from servicekit.registry import NAMES
from servicekit.servers import NatsCluster
from servicekit.settings import ServiceSettings, nats_servers
from servicekit.topology import STREAM

from . import event_ledger
from .registrations import Outcome, RegistrationLoad, answers_seen
from .report import Ratio, Results
from .run import settled, wait_until

console = Console()
CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin() -> dict[str, str]:
    token = mint_token(ServiceSettings(), roles=["admin"], subject="bench-admin")
    return {"Authorization": f"Bearer {token}"}


async def cluster_benchmark(registrations: int, seed: int, out: Path) -> Results:
    results = Results(size=f"cluster, {registrations:,} registrations a phase", seed=seed)
    ports = {i: free_port() for name in NAMES for i in instance_names(name, 2)}
    stack = LocalStack(ports=ports, external=False, cluster=True)
    await asyncio.to_thread(stack.__enter__)
    try:
        assert stack.passwords
        nc = await nats.connect(
            nats_servers(stack.nats_url), user="admin", password=stack.passwords["admin"]
        )
        try:
            await measure(results, stack, nc.jetstream(), registrations, seed)
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(stack.__exit__, None, None, None)
    results.write(out)
    return results


async def measure(
    results: Results, stack: LocalStack, js: Any, registrations: int, seed: int
) -> None:
    """A warm-up, the load without a fault, with the stream leader's node killed halfway, and
    without a fault again once the node is back; the better rate without a fault is the
    baseline (the machine's load moves, and the first phase meets a cold stack)."""
    console.print("[bold]cluster, warm-up")
    warm_up, _ = await phase(stack, js, registrations // 5, seed, fault=None)
    console.print("[bold]cluster, no fault")
    before, before_rate = await phase(stack, js, registrations, seed + 1, fault=None)
    console.print("[bold]cluster, the stream leader's node killed halfway")
    nodes = stack.nats
    assert isinstance(nodes, NatsCluster)
    leader = await stream_leader(js)
    faulty, faulty_rate = await phase(
        stack, js, registrations, seed + 2, fault=lambda: nodes.kill(leader)
    )
    await asyncio.to_thread(nodes.start_node, leader)
    await replicas_current(js)
    console.print("[bold]cluster, no fault again")
    after, after_rate = await phase(stack, js, registrations, seed + 3, fault=None)
    results.reconciliation = await event_ledger.reconcile(
        warm_up + before + faulty + after, stack.database_urls, js, stack.urls["reporting"], admin()
    )
    results.measurements |= {
        "registrations_per_phase": registrations,
        "concurrency": CONCURRENCY,
        "killed_node": f"lms-{leader + 1} (the LMS stream's leader)",
        "rate_without_fault_before_per_s": before_rate,
        "rate_without_fault_after_per_s": after_rate,
        "answers_without_fault": answers_seen(before + after),
        "answers_with_fault": answers_seen(faulty),
    }
    results.ratios = [
        Ratio(
            "end-to-end registrations/s, one NATS node killed halfway vs none (cluster; "
            "baseline: the better phase without a fault)",
            faulty_rate,
            max(before_rate, after_rate),
            0.7,
        )
    ]


async def replicas_current(js: Any, timeout: float = 120) -> None:
    """Until the restarted node has caught up and the stream has its three replicas again."""
    deadline = time.monotonic() + timeout
    while True:
        cluster = (await js.stream_info(STREAM)).cluster
        if cluster.leader and all(r.current for r in cluster.replicas or []):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the restarted node did not catch up")
        await asyncio.sleep(0.5)


async def phase(
    stack: LocalStack, js: Any, count: int, seed: int, fault: Any
) -> tuple[list[Outcome], float]:
    load = RegistrationLoad(
        stack.replica_urls["enrollment"],
        admin(),
        seed=seed,
        concurrency=CONCURRENCY,
        invalid_every=None,
    )
    halfway = asyncio.Event()
    started = time.perf_counter()
    try:
        running = asyncio.create_task(load.run(count, halfway))
        if fault is not None:
            await halfway.wait()
            await asyncio.to_thread(fault)
        outcomes = await running
    finally:
        await load.close()
    await wait_until(settled(js, stack.urls), timeout=600, interval=0.05)
    accepted = sum(o.accepted for o in outcomes)
    return outcomes, accepted / (time.perf_counter() - started)


async def stream_leader(js: Any) -> int:
    info = await js.stream_info(STREAM)
    return int(info.cluster.leader.rsplit("-", 1)[1]) - 1
