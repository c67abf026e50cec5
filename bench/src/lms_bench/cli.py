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
    ctx: typer.Context,
    size: Annotated[str, typer.Option(help=f"one of: {', '.join(SIZES)}")] = "smoke",
    seed: int = 2026,
    out: Annotated[
        Path, typer.Option(help="folder for results.json, results.md, timeline.png")
    ] = Path("bench-results"),
) -> None:
    """Start the stack, run the seeded rollout, measure against same-run baselines, reconcile."""
    if ctx.invoked_subcommand is not None:
        return
    if size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    results = asyncio.run(benchmark(size, seed, out))
    console.print(results.markdown())
    console.print(f"results in {out}/results.json, results.md, timeline.png")
    if not results.reconciliation.get("ok"):
        raise typer.Exit(1)


@app.command("reporting")
def reporting_at_scale(
    learners: Annotated[int, typer.Option(help="spread over every village")] = 1_000_000,
    lessons: Annotated[int, typer.Option(help="lesson-completed events per learner")] = 20,
    seed: int = 2026,
    out: Annotated[Path, typer.Option(help="folder for reporting-scale.json and .md")] = Path(
        "bench-results"
    ),
    keep_database: Annotated[
        bool, typer.Option(help="leave PostgreSQL running with the projections, to inspect")
    ] = False,
) -> None:
    """Reporting alone at scale: consumer vs raw consume, report latency at 1% and 100%."""
    import json

    from .reporting_scale import Scale, run

    results = asyncio.run(run(Scale(learners, lessons), seed, keep_database=keep_database))
    text = results.markdown()
    console.print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reporting-scale.md").write_text(text + "\n")
    (out / "reporting-scale.json").write_text(
        json.dumps(
            {
                "learners": learners,
                "lessons": lessons,
                "ceilings": results.ceilings,
                "measurements": results.measurements,
                "latency_ms": results.latency_ms,
                "ratios": [r.to_json() for r in results.ratios],
                "reconciliation": results.reconciliation,
            },
            indent=2,
        )
    )
    if not results.reconciliation.get("ok"):
        raise typer.Exit(1)


@app.command("poor-link")
def poor_link(
    learners: Annotated[int, typer.Option(help="phones, one after another")] = 3,
    seed: int = 2026,
    out: Annotated[Path, typer.Option(help="folder for poor-link.json and .md")] = Path(
        "bench-results"
    ),
) -> None:
    """A learner on a 2G link: bytes and round trips per learner against the course's size."""
    from .poor_link_run import run, write

    results = asyncio.run(run(learners, seed))
    write(results, out)
    console.print(results.markdown())
    if not results.ok:
        raise typer.Exit(1)
