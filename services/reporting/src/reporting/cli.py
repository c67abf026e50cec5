"""``lms reporting ...``: load the region tree, rebuild the projections by replay."""

from __future__ import annotations

import typer

from .settings import ReportingSettings

app = typer.Typer(no_args_is_help=True)


@app.command("load-regions")
def load_regions() -> None:
    """Load the real region list (provinces to villages) into DATABASE_URL."""
    from .regions_loader import load_regions_sync

    count = load_regions_sync(ReportingSettings().database_url)
    typer.echo(f"{count} regions loaded (national, provinces, regencies, districts, villages)")


@app.command()
def rebuild() -> None:
    """Replay the whole stream into fresh projection tables, then switch over without downtime.

    Needs NATS credentials that may create a consumer on the stream (the admin user).
    """
    import asyncio

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from servicekit.database import make_engine
    from servicekit.service import connect_nats

    from .rebuild import rebuild as run_rebuild

    settings = ReportingSettings()

    async def main() -> int:
        engine = make_engine(settings.database_url, pool_size=2)
        nc = await connect_nats(settings, "reporting-rebuild")
        columns = (
            TextColumn("[bold]replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns) as bar:
                task = bar.add_task("replay", total=None)
                return await run_rebuild(
                    engine,
                    nc.jetstream(),
                    lambda done, total: bar.update(task, completed=done, total=total),
                )
        finally:
            await nc.close()
            await engine.dispose()

    replayed = asyncio.run(main())
    typer.echo(f"rebuilt from {replayed} events and switched over")
