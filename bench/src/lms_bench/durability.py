"""JetStream's fsync trade-off, measured: publish throughput on a three-node cluster with R3
streams, with nats-server's default ``sync_interval`` (data is written at once but flushed to
disk every two minutes) and with ``sync_interval: always`` (flushed before every ack).

Each setting gets a fresh cluster; the rounds alternate the settings, so that a busy moment of
the machine does not fall on one of them only (ADR 24)."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig

from servicekit.servers import NatsCluster, new_run_dir

from .ceilings import sample_payload

SETTINGS = {"default (2 min)": None, "always": "always"}
STREAM = "DURABILITY"


async def publish_rate(url: str, count: int, window: int, replicas: int = 3) -> float:
    """Pipelined publishes, ``window`` in flight, every ack awaited."""
    nc = await nats.connect(url.split(","))
    try:
        js = nc.jetstream()
        await placed(
            js,
            StreamConfig(
                name=STREAM,
                subjects=["durability.>"],
                storage=StorageType.FILE,
                num_replicas=replicas,
                duplicate_window=120,
            ),
        )
        payload = sample_payload()
        semaphore = asyncio.Semaphore(window)

        async def publish(i: int) -> None:
            async with semaphore:
                await js.publish(
                    "durability.lesson-completed", payload, headers={"Nats-Msg-Id": f"d{i}"}
                )

        started = time.perf_counter()
        await asyncio.gather(*(publish(i) for i in range(count)))
        return count / (time.perf_counter() - started)
    finally:
        await nc.close()


async def placed(js: Any, config: StreamConfig, timeout: float = 60) -> None:
    """Create the stream once the new cluster has elected its meta leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await js.add_stream(config)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def measure(count: int = 20_000, rounds: int = 2, window: int = 500) -> dict[str, Any]:
    """Publishes per second under each setting (median of ``rounds`` fresh clusters)."""
    rates: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, sync_interval in SETTINGS.items():
            workdir = new_run_dir("durability")
            cluster = NatsCluster(workdir, sync_interval=sync_interval)
            try:
                url = await asyncio.to_thread(cluster.start)
                rates[name].append(await publish_rate(url, count, window))
            finally:
                cluster.stop()
                shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "messages": count,
        "in_flight": window,
        "rounds": rates,
        "publish_per_s": medians,
        "always_vs_default": medians["always"] / medians["default (2 min)"],
    }


def markdown(found: dict[str, Any]) -> str:
    lines = [
        "# JetStream publish throughput, 3 nodes, R3 file stream",
        "",
        f"{found['messages']:,} publishes of a lesson-completed event, {found['in_flight']} "
        "in flight, every ack awaited; median of fresh clusters, settings alternating.",
        "",
        "| sync_interval | publishes/s (median) | rounds |",
        "|---|---|---|",
    ]
    for name, rate in found["publish_per_s"].items():
        rounds = ", ".join(f"{r:,.0f}" for r in found["rounds"][name])
        lines.append(f"| {name} | {rate:,.0f} | {rounds} |")
    lines += ["", f"always / default: **{found['always_vs_default']:.2f}**"]
    return "\n".join(lines) + "\n"
