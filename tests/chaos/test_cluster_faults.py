"""The production shape under faults: three NATS nodes (R3 streams), two processes of every
service and one PostgreSQL, with village officials of Sulawesi Tenggara being registered through
the public API while something is killed outright (``kill -9``):

(a) the NATS node leading the LMS stream, (b) a replica of a consumer (reporting, mid-batch),
(c) the replica of enrollment whose outbox relay holds rows it is publishing, (d) PostgreSQL,
for ``CHAOS_POSTGRES_OUTAGE_SECONDS`` (30 by default).

Afterwards, per event id: every registration a client was told succeeded has exactly one effect
in every consumer, and none it was told failed has any (``lms_bench.event_ledger``). The
recovery time of each fault (from the kill until a registration sent after it has reached every
consumer) is printed and written in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest

from lms_bench import event_ledger
from lms_bench.registrations import Outcome, RegistrationLoad, answers_seen
from lms_bench.run import settled, wait_until
from lms_cli.stack import LocalStack, instance_names, wait_ready
from servicekit.auth import mint_token
from servicekit.database import database_unavailable
from servicekit.registry import NAMES
from servicekit.servers import NatsCluster, connect_asyncpg
from servicekit.settings import ServiceSettings, nats_servers
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(900)]
OUTAGE_SECONDS = float(os.environ.get("CHAOS_POSTGRES_OUTAGE_SECONDS", "30"))
# registrations accepted before a fault, and during it (for those that do not stop the API)
WARM_UP, UNDER_FAULT = 20, 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    ports = {i: free_port() for name in NAMES for i in instance_names(name, 2)}
    # a consumer that died holding messages gets them redelivered after 5 s, not 30
    with LocalStack(
        ports=ports, external=False, cluster=True, topology={"ack_wait_seconds": 5.0}
    ) as stack:
        try:
            yield stack
        finally:  # the processes' logs outlive the stack's folder, for a failure's reader
            shutil.copytree(stack.log_dir, tmp_path_factory.mktemp("chaos") / "logs")


@dataclass
class Fault:
    name: str
    inject: Callable[[], Any]
    restore: Callable[[], Any]
    lasts: float = 0.0  # seconds the fault is held (else: until UNDER_FAULT are accepted)


@dataclass
class Report:
    outcomes: list[Outcome]
    recovered_s: float
    reconciliation: dict[str, Any]
    held_s: float  # from the fault until it was undone (the node or process started again)

    @property
    def recovered_while_held(self) -> bool:
        return self.recovered_s <= self.held_s

    def line(self, name: str) -> str:
        resets = sum(o.resets for o in self.outcomes)
        undone = (
            f"before it was undone at {self.held_s:.1f} s"
            if self.recovered_while_held
            else f"{self.recovered_s - self.held_s:.1f} s after it was undone at {self.held_s:.1f} s"
        )
        return (
            f"{name}: recovered in {self.recovered_s:.1f} s ({undone}); "
            f"{len(self.outcomes)} registrations, "
            f"{self.reconciliation['accepted']} accepted, {self.reconciliation['refused']} "
            f"refused; answers on the way {answers_seen(self.outcomes)}; {resets} resets"
        )


def admin() -> dict[str, str]:
    token = mint_token(ServiceSettings(), roles=["admin"], subject="chaos-admin")
    return {"Authorization": f"Bearer {token}"}


async def under_load(stack: LocalStack, fault: Fault, say: Callable[[str], None]) -> Report:
    load = RegistrationLoad(stack.replica_urls["enrollment"], admin(), concurrency=6)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop))
    try:
        await load.accepted_since(0.0, WARM_UP)
        fault_at = time.time()
        await asyncio.to_thread(fault.inject)
        recovery = asyncio.create_task(recovered(stack, load, fault_at))
        if fault.lasts:
            await asyncio.sleep(fault.lasts)  # the outage itself, not a wait for something
        else:
            # the rest of the system recovers with the node or process still dead
            await load.accepted_since(fault_at, UNDER_FAULT)
            await asyncio.shield(recovery)
        await asyncio.to_thread(fault.restore)
        held_s = time.time() - fault_at
        await load.accepted_since(time.time(), WARM_UP)
        recovered_s = await recovery
    finally:
        stop.set()
        outcomes = await running
        await load.close()
    reconciliation = await reconciled(stack, outcomes)
    report = Report(outcomes, recovered_s, reconciliation, held_s)
    say(report.line(fault.name))
    return report


async def recovered(stack: LocalStack, load: RegistrationLoad, fault_at: float) -> float:
    """Seconds from the fault until a registration sent after it has reached every consumer."""
    first = await load.accepted_since(fault_at, 1)
    while True:
        try:
            if await event_ledger.applied_everywhere(stack.database_urls, first.learner_id or ""):
                return time.time() - fault_at
        except Exception as exc:  # PostgreSQL still away, or starting up (crash recovery)
            if not database_unavailable(exc):
                raise
        await asyncio.sleep(0.1)


async def reconciled(stack: LocalStack, outcomes: list[Outcome]) -> dict[str, Any]:
    assert stack.passwords
    nc = await nats.connect(
        nats_servers(stack.nats_url), user="admin", password=stack.passwords["admin"]
    )
    try:
        js = nc.jetstream()
        await wait_until(settled(js, stack.urls), timeout=180)
        return await event_ledger.reconcile(
            outcomes, stack.database_urls, js, stack.urls["reporting"], admin()
        )
    finally:
        await nc.close()


def assert_told_properly(report: Report) -> None:
    assert report.reconciliation["ok"], report.reconciliation["problems"]
    assert [m for o in report.outcomes for m in o.malformed] == []
    assert not any(500 <= s < 600 and s != 503 for o in report.outcomes for s in o.answers)
    assert report.reconciliation["accepted"] >= WARM_UP * 2
    # the invalid requests of the load (a village that does not exist) were refused, naming it
    assert any(o.status == 422 for o in report.outcomes)


def restarted(stack: LocalStack, instance: str) -> None:
    stack.start(instance)
    wait_ready(
        {instance: stack.instance_urls[instance]}, stack.processes, stack.log_dir, timeout=400
    )


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print past the output capture: the recovery times belong in every run's output."""

    def say(line: str) -> None:
        with capsys.disabled():
            print(f"\n[chaos] {line}", flush=True)

    return say


async def test_a_nats_node_killed_under_load_loses_and_doubles_nothing(
    cluster: LocalStack, say: Callable[[str], None]
) -> None:
    nodes = cluster.nats
    assert isinstance(nodes, NatsCluster)
    leader = await stream_leader(cluster)

    report = await under_load(
        cluster,
        Fault(
            "NATS node (stream leader) kill -9",
            lambda: nodes.kill(leader),
            lambda: nodes.start_node(leader),
        ),
        say,
    )

    assert_told_properly(report)
    assert report.recovered_while_held  # two nodes / one replica carried on alone
    # the API kept answering: enrollment writes to its outbox, the relay waits for a leader
    assert all(o.status is not None for o in report.outcomes)
    # the killed node is back in the cluster and the stream on three replicas again
    await stream_leader(cluster)


async def test_a_consumer_replica_killed_mid_batch_applies_everything_once(
    cluster: LocalStack, say: Callable[[str], None]
) -> None:
    victim = "reporting-2"
    report = await under_load(
        cluster,
        Fault(
            "reporting replica kill -9",
            lambda: cluster.processes[victim].kill(),
            lambda: restarted(cluster, victim),
        ),
        say,
    )

    assert_told_properly(report)
    assert report.recovered_while_held  # two nodes / one replica carried on alone
    assert cluster.processes[victim].poll() is None


async def test_an_enrollment_replica_killed_while_relaying_doubles_nothing(
    cluster: LocalStack, say: Callable[[str], None]
) -> None:
    killed: list[str] = []

    def kill_the_relaying_replica() -> None:
        killed.append(asyncio.run(relaying_replica(cluster)))
        cluster.processes[killed[0]].kill()

    report = await under_load(
        cluster,
        Fault(
            "enrollment replica kill -9 while its relay holds outbox rows",
            kill_the_relaying_replica,
            lambda: restarted(cluster, killed[0]),
        ),
        say,
    )

    assert_told_properly(report)
    assert report.recovered_while_held  # two nodes / one replica carried on alone
    # a request in flight on the killed replica was sent again to the other, with its key
    assert all(o.status is not None for o in report.outcomes)


async def test_postgresql_killed_for_a_while_answers_503_and_loses_nothing(
    cluster: LocalStack, say: Callable[[str], None]
) -> None:
    postgres = cluster.postgres
    assert postgres is not None
    report = await under_load(
        cluster,
        Fault(
            f"PostgreSQL kill -9 for {OUTAGE_SECONDS:.0f} s",
            postgres.kill,
            postgres.resume,
            lasts=OUTAGE_SECONDS,
        ),
        say,
    )

    assert_told_properly(report)
    told_503 = [o for o in report.outcomes if 503 in o.answers]
    assert told_503, "nobody was told the database was away"
    assert report.recovered_s >= OUTAGE_SECONDS
    # every process (those restarted by the earlier faults too) stayed up and answered: no
    # connection was refused
    assert {i: p.poll() for i, p in cluster.processes.items() if p.poll() is not None} == {}
    assert not [k for o in report.outcomes for k in o.reset_kinds if k == "ConnectError"]


async def stream_leader(stack: LocalStack) -> int:
    """The index of the node leading the LMS stream, once it has a leader and its other
    replicas are current."""
    assert stack.passwords
    nc = await nats.connect(
        nats_servers(stack.nats_url), user="admin", password=stack.passwords["admin"]
    )
    try:
        js = nc.jetstream()
        info = await eventually(lambda: js.stream_info(STREAM), led_by_all, timeout=60)
        return int(info.cluster.leader.rsplit("-", 1)[1]) - 1
    finally:
        await nc.close()


def led_by_all(info: Any) -> bool:
    """A leader, and every other replica caught up with it."""
    cluster = info.cluster
    return bool(cluster and cluster.leader and all(r.current for r in cluster.replicas or []))


async def relaying_replica(stack: LocalStack, timeout: float = 60) -> str:
    """The enrollment process whose relay holds outbox rows at this moment: its connection
    (named by process id) is in a transaction with rows of the outbox locked to publish."""
    pids = {str(stack.processes[i].pid): i for i in stack.instances("enrollment")}
    conn = await connect_asyncpg(stack.database_urls["enrollment"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for row in await conn.fetch(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.relation = 'outbox'::regclass AND l.mode = 'RowShareLock'"
            ):
                pid = row["application_name"].rsplit(":", 1)[-1]
                if pid in pids:
                    return pids[pid]
            await asyncio.sleep(0.005)
    finally:
        await conn.close()
    raise TimeoutError("no enrollment relay was seen publishing")
