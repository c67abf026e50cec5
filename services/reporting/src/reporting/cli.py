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
