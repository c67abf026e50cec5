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
    cluster: Annotated[
        bool,
        typer.Option(
            help="the cluster stack (lms up --cluster): end-to-end rate without and with a "
            "NATS node killed halfway"
        ),
    ] = False,
    registrations: Annotated[int, typer.Option(help="with --cluster: per phase")] = 1500,
) -> None:
    """Start the stack, run the seeded rollout, measure against same-run baselines, reconcile."""
    if ctx.invoked_subcommand is not None:
        return
    if cluster:
        from .cluster_run import cluster_benchmark

        found = asyncio.run(cluster_benchmark(registrations, seed, out))
        console.print(found.markdown())
        if not found.reconciliation.get("ok"):
            raise typer.Exit(1)
        return
    if size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    results = asyncio.run(benchmark(size, seed, out))
    console.print(results.markdown())
    console.print(f"results in {out}/results.json, results.md, timeline.png")
    if not results.reconciliation.get("ok"):
        raise typer.Exit(1)


@app.command("e2e")
def end_to_end(
    size: Annotated[str, typer.Option(help=f"one of: {', '.join(SIZES)}")] = "small",
    seed: int = 2026,
    profile: Annotated[
        bool, typer.Option(help="sample every service with py-spy during the lessons")
    ] = False,
    out: Annotated[Path, typer.Option(help="folder for e2e.md (and profile.md)")] = Path(
        "bench-results"
    ),
) -> None:
    """The single stack's goals alone: end to end vs the bare endpoint, HTTP p99."""
    from .single_stack import run

    if size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    results = asyncio.run(run(size, seed, out, profile))
    console.print(results.markdown())
    if profile:
        console.print(f"profile in {out}/profile.md (py-spy's stacks: {out}/profile-*.txt)")


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


@app.command("durability")
def durability(
    messages: Annotated[int, typer.Option(help="publishes per round")] = 20_000,
    rounds: Annotated[int, typer.Option(help="fresh clusters per setting")] = 2,
    out: Annotated[Path, typer.Option(help="folder for durability.json and .md")] = Path(
        "bench-results"
    ),
) -> None:
    """JetStream publish throughput on a 3-node R3 cluster: sync_interval default vs always."""
    import json

    from . import durability as measured

    found = asyncio.run(measured.measure(messages, rounds))
    text = measured.markdown(found)
    console.print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "durability.md").write_text(text)
    (out / "durability.json").write_text(json.dumps(found, indent=2))
