"""``lms up``: real nats-server and PostgreSQL from their wheels, migrations, topology, region
list, demo data and every registered service as a separate process. A service that stops is
started again (``lms_cli.supervision``); Ctrl-C stops all of it and removes its folder.

``lms up --cluster`` is the production shape: three nats-server nodes routed to each other
with every stream and durable consumer on three replicas, and two replicas of every service,
each connected to all three nodes."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from lms_contracts import CertificateIssued
from servicekit.migrations import upgrade
from servicekit.registry import NAMES, SERVICES, publisher_of, service
from servicekit.servers import (
    LocalPostgres,
    NatsCluster,
    NatsServer,
    ensure_database_sync,
    new_run_dir,
    stop_leftovers,
)
from servicekit.settings import ServiceSettings

console = Console()
DEMO_REGIONS = ["74", "74.01"]
CLUSTER_NODES = 3
CLUSTER_SERVICE_REPLICAS = 2


def instance_names(name: str, replicas: int) -> list[str]:
    """A service's processes: its name alone, or ``<name>-1``, ``<name>-2`` ... for replicas."""
    return [name] if replicas == 1 else [f"{name}-{i}" for i in range(1, replicas + 1)]


def stack_ports(base_port: int, replicas: int) -> dict[str, int]:
    """Each service's port follows ``base_port`` in the registry's order; a second replica
    listens ten above the first (8001 and 8011 for enrollment)."""
    return {
        instance: base_port + offset + 10 * replica
        for offset, name in enumerate(NAMES)
        for replica, instance in enumerate(instance_names(name, replicas))
    }


def _die_with_parent() -> None:
    """Children get SIGTERM if `lms up` itself dies, so no service outlives it."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Spawner:
    """Starts processes that get SIGTERM when this process ends, even killed.

    The kernel sends it (PR_SET_PDEATHSIG) when the *thread* that started the child ends, not
    the process: a service restarted from a thread that ends early (an event loop's executor,
    closed with its loop) was stopped then, its parent still running, and refused every
    connection afterwards. So every child is started from one thread, which lives until
    :meth:`close` (for :data:`SPAWNER`, until this process ends)."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lms-spawner")

    def popen(self, args: list[str], **options: Any) -> subprocess.Popen[bytes]:
        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(args, preexec_fn=_die_with_parent, **options)

        return self._thread.submit(start).result()

    def close(self) -> None:
        self._thread.shutdown()


SPAWNER = Spawner()


def start_service(
    name: str,
    env: dict[str, str],
    host: str,
    log_dir: Path,
    port: int | None = None,
    *,
    log_name: str | None = None,
) -> subprocess.Popen[bytes]:
    with (log_dir / f"{log_name or name}.log").open(
        "ab"
    ) as log:  # the child keeps its own descriptor
        return SPAWNER.popen(
            [
                sys.executable,
                "-m",
                "lms_cli.main",
                "serve",
                name,
                "--host",
                host,
                "--port",
                str(port or service(name).port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


# six interpreters importing at once on a loaded 2-core machine can take minutes; a service
# that exits is reported at once whatever the deadline
READY_TIMEOUT = 240.0


def wait_ready(
    urls: dict[str, str],
    processes: dict[str, subprocess.Popen[bytes]],
    log_dir: Path,
    timeout: float = READY_TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    last: dict[str, str] = {}  # what each said last, for the error
    while pending:
        for name, url in list(pending.items()):
            if processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {log_dir / (name + '.log')}")
            try:
                response = httpx.get(f"{url}/readyz", timeout=5)
            except httpx.HTTPError as exc:
                last[name] = repr(exc)
                continue
            if response.status_code == 200:
                del pending[name]
            last[name] = response.text[:300]
        if time.monotonic() > deadline:
            said = "; ".join(f"{name}: {last.get(name, '')}" for name in pending)
            raise TimeoutError(f"not ready: {said}")
        time.sleep(0.2)


def stop_processes(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def secured_nats(
    workdir: Path, regions: list[str], *, nodes: int = 1
) -> tuple[NatsServer | NatsCluster, dict[str, str]]:
    """nats-server with the generated users and permissions (see servicekit.natsauth): one
    server, or a cluster of ``nodes`` that fsyncs before every ack, as in production (ADR 24)."""
    from servicekit.natsauth import all_users, generate_passwords, server_config

    passwords = generate_passwords(regions)
    accounts = server_config(all_users(passwords, regions))
    workdir.mkdir(parents=True, exist_ok=True)
    if nodes > 1:
        cluster = NatsCluster(workdir, size=nodes, accounts=accounts, sync_interval="always")
        return cluster, passwords
    config = workdir / "nats.conf"
    config.write_text(accounts)
    config.chmod(0o600)
    return NatsServer(workdir, config_file=config), passwords


def provision(
    server_url: str,
    nats_url: str,
    nats_admin: tuple[str, str] | None = None,
    *,
    jetstream_replicas: int = 1,
    topology: dict[str, Any] | None = None,
) -> dict[str, str]:
    """One database and role per service, migrated (reporting's migrations load the region
    tree); the topology applied with ``jetstream_replicas`` copies of every stream."""
    from servicekit.service import connect_nats
    from servicekit.topology import TopologySettings

    urls = {}
    for spec in SERVICES:
        urls[spec.name] = ensure_database_sync(server_url, spec.database, owner=spec.database)
        upgrade(spec.main().MIGRATIONS, urls[spec.name])
        console.print(f"  migrated [cyan]{spec.name}[/]")

    async def apply() -> None:
        user, password = nats_admin or (None, None)
        settings = ServiceSettings(nats_url=nats_url, nats_user=user, nats_password=password)
        nc = await connect_nats(settings, "lms-up")
        applied = TopologySettings(
            replicas=jetstream_replicas, regions=tuple(DEMO_REGIONS), **(topology or {})
        )
        try:
            await applied_once_ready(nc.jetstream(), applied)
        finally:
            await nc.close()

    asyncio.run(apply())
    console.print(f"  JetStream topology applied ({jetstream_replicas} replicas)")
    return urls


async def applied_once_ready(js: Any, topology: Any, timeout: float = 60) -> None:
    """Apply the topology as soon as JetStream can place it: a new cluster first elects its
    meta leader and learns its peers, and refuses replicated streams until then."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import APIError

    from servicekit.topology import apply_topology

    deadline = time.monotonic() + timeout
    while True:
        try:
            await apply_topology(js, topology)
            return
        except (APIError, NatsTimeout):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


class LocalStack:
    """NATS (with its users) and PostgreSQL from the wheels, or the external ones named by
    ``NATS_URL`` / ``DATABASE_URL``; provisioned; every service as a separate process.

    ``cluster``: three NATS nodes and R3 streams, ``replicas`` processes per service (two), each
    on its own port (``ports`` is keyed by process: ``enrollment-1``, ``enrollment-2``...).
    ``topology`` overrides settings of the JetStream topology (``ack_wait_seconds``...)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        external: bool = True,
        service_env: dict[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT,
        cluster: bool = False,
        topology: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.ready_timeout = ready_timeout  # a benchmark on a busy machine waits longer
        self.topology = topology
        self.cluster = cluster
        self.replicas = CLUSTER_SERVICE_REPLICAS if cluster else 1
        self.ports = ports or stack_ports(8001, self.replicas)
        self.external = external
        # links to certificates (in PDFs, messages and reports) lead to this stack's own
        # verification page, whatever ports it runs on, unless PUBLIC_BASE_URL says otherwise
        public = os.environ.get("PUBLIC_BASE_URL") or self.public_base_url
        self.service_env = {"PUBLIC_BASE_URL": public} | (service_env or {})
        self.run_dir = new_run_dir("stack")
        self.log_dir = self.run_dir / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.passwords: dict[str, str] = {}
        self.database_urls: dict[str, str] = {}
        self.server_url = ""
        self.nats_url = ""
        self.nats: NatsServer | NatsCluster | None = None
        self.postgres: LocalPostgres | None = None
        self._cleanup = ExitStack()

    def instances(self, name: str) -> list[str]:
        """The processes of service ``name`` (or ``name`` itself, already one process)."""
        return [name] if name in self.ports else instance_names(name, self.replicas)

    def service_of(self, instance: str) -> str:
        return instance if instance in NAMES else instance.rsplit("-", 1)[0]

    @property
    def instance_urls(self) -> dict[str, str]:
        return {instance: f"http://{self.host}:{port}" for instance, port in self.ports.items()}

    @property
    def replica_urls(self) -> dict[str, list[str]]:
        """Every service's replicas' addresses."""
        found = self.instance_urls
        return {name: [found[i] for i in self.instances(name)] for name in NAMES}

    @property
    def urls(self) -> dict[str, str]:
        """One address per service (its first replica's)."""
        return {name: urls[0] for name, urls in self.replica_urls.items()}

    @property
    def public_base_url(self) -> str:
        """Where certificates are verified: the service that issues them, on this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        issuer = self.instances(publisher_of(CertificateIssued).name)[0]
        return f"http://{host}:{self.ports[issuer]}"

    @property
    def nats_admin(self) -> tuple[str, str] | None:
        return ("admin", self.passwords["admin"]) if self.passwords else None

    def __enter__(self) -> LocalStack:
        stop_leftovers()
        cleanup = self._cleanup
        cleanup.callback(shutil.rmtree, self.run_dir, ignore_errors=True)
        try:
            self._start_servers(cleanup)
            console.print(f"[bold]NATS[/] {self.nats_url}\n[bold]PostgreSQL[/] {self.server_url}")
            self.database_urls = provision(
                self.server_url,
                self.nats_url,
                self.nats_admin,
                jetstream_replicas=CLUSTER_NODES if self.cluster else 1,
                topology=self.topology,
            )
            self.log_dir.mkdir()
            cleanup.callback(stop_processes, self.processes)
            for instance in self.ports:
                self.start(instance)
            # a process takes seconds of CPU to start: more of them take longer on a laptop
            wait_ready(
                self.instance_urls,
                self.processes,
                self.log_dir,
                timeout=max(self.ready_timeout, 30.0 * len(self.ports)),
            )
        except BaseException:
            cleanup.close()
            raise
        return self

    def _start_servers(self, cleanup: ExitStack) -> None:
        self.nats_url = (os.environ.get("NATS_URL") if self.external else None) or ""
        if not self.nats_url:
            nodes = CLUSTER_NODES if self.cluster else 1
            self.nats, self.passwords = secured_nats(
                self.run_dir / "nats", DEMO_REGIONS, nodes=nodes
            )
            self.nats_url = self.nats.start()
            cleanup.callback(self.nats.stop)
        self.server_url = (os.environ.get("DATABASE_URL") if self.external else None) or ""
        if not self.server_url:
            self.postgres = LocalPostgres(self.run_dir / "postgres")
            self.server_url = self.postgres.start()
            cleanup.callback(self.postgres.stop)

    def env_for(self, name: str) -> dict[str, str]:
        env = (
            os.environ
            | self.service_env
            | {
                "DATABASE_URL": self.database_urls[name],
                "NATS_URL": self.nats_url,
                "ENVIRONMENT": "dev",
            }
        )
        if self.passwords:
            env |= {"NATS_USER": name, "NATS_PASSWORD": self.passwords[name]}
        return env

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start a process (``enrollment-2``), or every process of a service (``enrollment``)."""
        for instance in self.instances(name):
            service_name = self.service_of(instance)
            self.processes[instance] = start_service(
                service_name,
                self.env_for(service_name),
                self.host,
                self.log_dir,
                self.ports[instance],
                log_name=instance,
            )
        return self.processes[instance]

    def stop(self, name: str) -> None:
        """Stop a process, or every process of a service."""
        stop_processes({i: self.processes[i] for i in self.instances(name)})

    def __exit__(self, *exc: object) -> None:
        self._cleanup.close()
