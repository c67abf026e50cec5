"""``lms``: run, migrate and operate LMS Pamong Desa."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from servicekit import regions
from servicekit.auth import mint_token
from servicekit.registry import NAMES, SERVICES, ServiceSpec, UnknownService, producers
from servicekit.registry import service as registered
from servicekit.settings import ServiceSettings

from .browser import ensure_chromium
from .connections import on_jetstream
from .dead_letters import app as dead_letters_app
from .errors import DATABASE_UNSET, MissingSetting, friendly

if TYPE_CHECKING:
    from sqlalchemy import Table as SqlTable

app = typer.Typer(
    help="LMS Pamong Desa",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # an error is one line (lms_cli.errors), not a traceback
)
console = Console()
ServiceName = Annotated[str, typer.Argument(help=f"one of: {', '.join(NAMES)}")]


def _service(name: str) -> ServiceSpec:
    try:
        return registered(name)
    except UnknownService as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def serve(
    service: ServiceName,
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="default: the service's local port")] = None,
) -> None:
    """Run one service: HTTP API, outbox relay and consumer (settings from the environment)."""
    import uvicorn

    spec = _service(service)
    uvicorn.run(
        spec.main().app(),
        host=host,
        port=port or spec.port,
        log_config=None,
        timeout_graceful_shutdown=25,
        # Longer than the idle timeout of the proxies and clients in front (ingress, load
        # balancers: 60 s), so the server is never the one to close a connection just as a
        # request is sent on it.
        timeout_keep_alive=75,
        access_log=False,
    )


@app.command("services")
def list_services(
    producing: Annotated[bool, typer.Option(help="only those that publish events")] = False,
) -> None:
    """Print the registered services, one a line (for scripts: SERVICES="$(lms services)")."""
    for spec in producers() if producing else SERVICES:
        print(spec.name)


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="a service, or 'all'")]) -> None:
    """Apply a service's migrations to DATABASE_URL (a step of its own, before the app starts)."""
    from servicekit.migrations import upgrade

    specs = SERVICES if service == "all" else (_service(service),)
    for spec in specs:
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise MissingSetting(DATABASE_UNSET)
        upgrade(spec.main().MIGRATIONS, url)
        console.print(f"[green]migrated[/] {spec.name}")


topology_app = typer.Typer(help="JetStream topology", no_args_is_help=True)
app.add_typer(topology_app, name="topology")


@topology_app.command("apply")
def topology_apply(
    replicas: Annotated[int, typer.Option(envvar="JETSTREAM_REPLICAS")] = 1,
    regions: Annotated[
        str,
        typer.Option(
            envvar="REGIONAL_SUBSCRIBERS",
            help="regions with a subscriber user (74,74.01): their bounded pull consumers",
        ),
    ] = "",
) -> None:
    """Create or update the LMS, LMS_DLQ and LMS_AUDIT streams and every durable consumer (idempotent)."""
    from servicekit.topology import TopologySettings, apply_topology

    settings = TopologySettings(
        replicas=replicas, regions=tuple(r.strip() for r in regions.split(",") if r.strip())
    )
    applied = on_jetstream(lambda js: apply_topology(js, settings))
    for name, outcome in applied.items():
        console.print(f"{outcome:>8} {name}")


app.add_typer(dead_letters_app, name="dead-letters")


outbox_app = typer.Typer(help="Transactional outbox", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if match is None:
        raise typer.BadParameter("use e.g. 90s, 15m, 2h or 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def outbox_table(spec: ServiceSpec) -> SqlTable:
    """The service's outbox table, from its tables alone (no settings or dependencies)."""
    tables = importlib.import_module(f"{spec.package}.store.tables")
    return tables.metadata.tables["outbox"]


@outbox_app.command("republish")
def outbox_republish(
    service: ServiceName, since: Annotated[str, typer.Option(help="window, e.g. 15m")] = "15m"
) -> None:
    """Re-publish a recent window of a service's outbox, e.g. after an unclean broker restart."""
    from servicekit.database import make_engine
    from servicekit.outbox import Outbox

    spec = _service(service)
    window = _duration(since)

    async def run() -> int:
        settings = ServiceSettings()
        engine = make_engine(settings.database_url, pool_size=1)
        outbox = Outbox(outbox_table(spec))
        try:
            async with engine.begin() as conn:
                return await outbox.republish_since(conn, window)
        finally:
            await engine.dispose()

    console.print(f"{asyncio.run(run())} events of {service} queued for re-publishing")


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", help="learner|instructor|supervisor|admin")],
    learner_id: Annotated[str | None, typer.Option()] = None,
    region: Annotated[
        str | None, typer.Option(help="supervisors: a region code, 74 or 74.01 (7401 works too)")
    ] = None,
    hours: int = 12,
) -> None:
    """Mint a development token signed with the local key (refused in production)."""
    settings = ServiceSettings()
    print(
        mint_token(
            settings,
            roles=role,
            learner_id=uuid.UUID(learner_id) if learner_id else None,
            region_code=regions.canonical(region) if region else None,
            ttl=timedelta(hours=hours),
        )
    )


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="load demo courses and learners")] = True,
    host: str = "127.0.0.1",
    base_port: Annotated[
        int,
        typer.Option(
            help="enrollment's port, and the certificate links' (PUBLIC_BASE_URL); the others follow"
        ),
    ] = 8001,
    cluster: Annotated[
        bool,
        typer.Option(
            help="the production shape: three NATS nodes with R3 streams, two processes per "
            "service (the second ten ports above the first)"
        ),
    ] = False,
) -> None:
    """Start the whole system on this machine; Ctrl-C stops everything."""
    from .up import run_stack

    run_stack(host=host, demo=demo, base_port=base_port, cluster=cluster)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Lint, check the architecture and run every test (extra arguments go to pytest)."""
    root = Path(__file__).resolve().parents[3]
    bin_dir = Path(sys.executable).parent
    sources = [
        "contracts/src",
        "libs/servicekit/src",
        "cli/src",
        "bench/src",
        *sorted(str(p.relative_to(root)) for p in root.glob("services/*/src")),
    ]
    steps = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [sys.executable, "-m", "lms_cli.import_rules"],
        [str(bin_dir / "mypy"), *sources],
        [str(bin_dir / "pytest"), *ctx.args],
    ]
    chromium = ensure_chromium()  # the dashboard's browser tests drive it
    console.print(f"[bold]chromium[/] {chromium}")
    for step in steps:
        console.print(f"[bold]$ {Path(step[0]).name} {' '.join(step[1:])}")
        result = subprocess.run(step, cwd=root)
        if result.returncode != 0:
            raise typer.Exit(result.returncode)


try:
    from lms_bench.cli import app as bench_app
except ModuleNotFoundError:  # the benchmark is a development tool, absent from the image
    bench_app = None
if bench_app is not None:
    app.add_typer(bench_app, name="bench", help="National rollout benchmark (see README)")

for _spec in SERVICES:
    _module = _spec.cli()
    if _module is not None:
        app.add_typer(_module.app, name=_spec.name, help=f"{_spec.name} service commands")


def main() -> None:
    """The ``lms`` command: an error is one line (the libraries' warnings on the way, a
    retried connection say, are not printed)."""
    logging.basicConfig(level=logging.ERROR, format="lms: %(message)s")
    friendly(app)


if __name__ == "__main__":
    main()
