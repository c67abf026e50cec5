"""``lms bench``: run the national rollout benchmark and write its results."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .run import benchmark
from .workload import SIZES

app = typer.Typer(no_args_is_help=False, invoke_without_command=True)
console = Console()


@app.callback()
def bench(
    size: Annotated[str, typer.Option(help=f"one of: {', '.join(SIZES)}")] = "smoke",
    seed: int = 2026,
    out: Annotated[
        Path, typer.Option(help="folder for results.json, results.md, timeline.png")
    ] = Path("bench-results"),
) -> None:
    """Start the stack, run the seeded rollout, measure against same-run baselines, reconcile."""
    if size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    results = asyncio.run(benchmark(size, seed, out))
    console.print(results.markdown())
    console.print(f"results in {out}/results.json, results.md, timeline.png")
    if not results.reconciliation.get("ok"):
        raise typer.Exit(1)
