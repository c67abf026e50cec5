"""``lms up``: real nats-server and PostgreSQL from their wheels, migrations, topology, region
list, demo data and every registered service as a separate process. A service that stops is
started again (``lms_cli.supervision``); Ctrl-C stops all of it and removes its folder."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from rich.console import Console

from lms_contracts import CertificateIssued
from servicekit.auth import mint_token
from servicekit.migrations import upgrade
from servicekit.registry import NAMES, SERVICES, publisher_of, service
from servicekit.servers import (
    LocalPostgres,
    NatsServer,
    ensure_database_sync,
    new_run_dir,
    stop_leftovers,
)
from servicekit.settings import ServiceSettings

from .supervision import Supervisor

console = Console()
DEMO_REGIONS = ["74", "74.01"]


def _die_with_parent() -> None:
    """Children get SIGTERM if `lms up` itself dies, so no service outlives it."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_service(
    name: str, env: dict[str, str], host: str, log_dir: Path, port: int | None = None
) -> subprocess.Popen[bytes]:
    with (log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
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
            preexec_fn=_die_with_parent,
        )


def wait_ready(
    urls: dict[str, str],
    processes: dict[str, subprocess.Popen[bytes]],
    log_dir: Path,
    # six interpreters importing at once on a loaded 2-core machine can take minutes; a
    # service that exits is reported at once whatever the deadline
    timeout: float = 240,
) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending:
        for name, url in list(pending.items()):
            if processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {log_dir / (name + '.log')}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready: {', '.join(pending)}")
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


def secured_nats(workdir: Path, regions: list[str]) -> tuple[NatsServer, dict[str, str]]:
    """nats-server with the generated users and permissions (see servicekit.natsauth)."""
    from servicekit.natsauth import all_users, generate_passwords, server_config

    passwords = generate_passwords(regions)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "nats.conf"
    config.write_text(server_config(all_users(passwords, regions)))
    config.chmod(0o600)
    return NatsServer(workdir, config_file=config), passwords


def provision(
    server_url: str, nats_url: str, nats_admin: tuple[str, str] | None = None
) -> dict[str, str]:
    """One database and role per service, migrated (reporting's migrations load the region
    tree); the topology applied."""
    from servicekit.service import connect_nats
    from servicekit.topology import TopologySettings, apply_topology

    urls = {}
    for spec in SERVICES:
        urls[spec.name] = ensure_database_sync(server_url, spec.database, owner=spec.database)
        upgrade(spec.main().MIGRATIONS, urls[spec.name])
        console.print(f"  migrated [cyan]{spec.name}[/]")

    async def topology() -> None:
        user, password = nats_admin or (None, None)
        settings = ServiceSettings(nats_url=nats_url, nats_user=user, nats_password=password)
        nc = await connect_nats(settings, "lms-up")
        await apply_topology(nc.jetstream(), TopologySettings(regions=tuple(DEMO_REGIONS)))
        await nc.close()

    asyncio.run(topology())
    console.print("  JetStream topology applied")
    return urls


class LocalStack:
    """NATS (with its users) and PostgreSQL from the wheels, or the external ones named by
    ``NATS_URL`` / ``DATABASE_URL``; provisioned; every service as a separate process."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        external: bool = True,
        service_env: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.ports = ports or {spec.name: spec.port for spec in SERVICES}
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
        self._cleanup = ExitStack()

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{self.host}:{port}" for name, port in self.ports.items()}

    @property
    def public_base_url(self) -> str:
        """Where certificates are verified: the service that issues them, on this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.ports[publisher_of(CertificateIssued).name]}"

    @property
    def nats_admin(self) -> tuple[str, str] | None:
        return ("admin", self.passwords["admin"]) if self.passwords else None

    def __enter__(self) -> LocalStack:
        stop_leftovers()
        cleanup = self._cleanup
        cleanup.callback(shutil.rmtree, self.run_dir, ignore_errors=True)
        try:
            self.nats_url = (os.environ.get("NATS_URL") if self.external else None) or ""
            if not self.nats_url:
                nats, self.passwords = secured_nats(self.run_dir / "nats", DEMO_REGIONS)
                self.nats_url = nats.start()
                cleanup.callback(nats.stop)
            self.server_url = (os.environ.get("DATABASE_URL") if self.external else None) or ""
            if not self.server_url:
                postgres = LocalPostgres(self.run_dir / "postgres")
                self.server_url = postgres.start()
                cleanup.callback(postgres.stop)
            console.print(f"[bold]NATS[/] {self.nats_url}\n[bold]PostgreSQL[/] {self.server_url}")
            self.database_urls = provision(self.server_url, self.nats_url, self.nats_admin)
            self.log_dir.mkdir()
            cleanup.callback(stop_processes, self.processes)
            for name in NAMES:
                self.start(name)
            wait_ready(self.urls, self.processes, self.log_dir)
        except BaseException:
            cleanup.close()
            raise
        return self

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
        process = start_service(name, self.env_for(name), self.host, self.log_dir, self.ports[name])
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        stop_processes({name: self.processes[name]})

    def __exit__(self, *exc: object) -> None:
        self._cleanup.close()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_stack(*, host: str, demo: bool, base_port: int = 8001) -> None:
    # Ctrl-C and SIGTERM stop everything at any moment, also where SIGINT was ignored
    # (a shell starts background jobs that way).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ports = {name: base_port + offset for offset, name in enumerate(NAMES)}
    try:
        with LocalStack(host=host, ports=ports) as stack:
            settings = ServiceSettings()
            admin = mint_token(settings, roles=["admin"], subject="dev-admin")
            if demo:
                from .demo import load_demo

                load_demo(stack.urls, settings)
            for name, url in stack.urls.items():
                console.print(f"  [green]{name:<13}[/] {url}  (docs: {url}/docs)")
            console.print(f"Events (AsyncAPI): {stack.urls[NAMES[0]]}/asyncapi")
            console.print("\n[bold]Admin token[/] (12 h):")
            print(admin, flush=True)  # one line, never wrapped, so it can be copied
            if stack.passwords:
                console.print(
                    "[bold]NATS users[/] for operations and a regional system (the subscriber "
                    "kit: add `status` for its checkpoint, `postgres --database-url ...` for "
                    "the worked example):"
                )
                print(
                    f"NATS_URL={stack.nats_url} NATS_USER=admin NATS_PASSWORD={stack.passwords['admin']}"
                )
                print(
                    # "--password=" keeps a generated password that starts with "-" a value
                    f"python -m lms_contracts.subscriber --url {stack.nats_url} --user region-74 "
                    f"--password={stack.passwords['region-74']} --region 74",
                    flush=True,
                )
            console.print(
                f"Logs: {stack.log_dir}. A service that stops is restarted. "
                "Press Ctrl-C to stop everything."
            )
            Supervisor(
                stack.processes,
                stack.start,
                lambda name: stack.urls[name],
                console,
                lambda name: str(stack.log_dir / f"{name}.log"),
            ).run()
    except KeyboardInterrupt:
        console.print("stopped")
