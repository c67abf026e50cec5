"""``lms dead-letters``: list, replay and discard the messages consumers gave up on.

Every command reads all of them (no cap), a few hundred per request. ``replay`` and
``discard`` take sequences, a filter or ``--all``; each dead letter is copied where it goes
(back to its consumer, or to the audit log with the reason) before it is removed, so running
the same command twice does the work once.
"""

from __future__ import annotations

import getpass
import os
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from nats.js import JetStreamContext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from servicekit.audit import list_discards
from servicekit.deadletters import (
    DeadLetter,
    DeadLetterFilter,
    count_dead_letters,
    dead_letter_page,
    discard_dead_letter,
    discard_dead_letters,
    replay_dead_letter,
    replay_dead_letters,
)

from .connections import on_jetstream

app = typer.Typer(help="Messages a consumer gave up on", no_args_is_help=True)
console = Console()

ConsumerOption = Annotated[
    str | None, typer.Option("--consumer", help="only those of this consumer (a service)")
]
TypeOption = Annotated[
    str | None,
    typer.Option("--type", help="only events of this type, e.g. lms.content.lesson-completed.v1"),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        help="dead-lettered at or after: an ISO 8601 time (UTC unless it says) or an age, "
        "e.g. 2h or 3d"
    ),
]
UntilOption = Annotated[
    str | None, typer.Option(help="dead-lettered before: an ISO 8601 time or an age")
]
Sequences = Annotated[
    list[int] | None,
    typer.Argument(help="sequences from `lms dead-letters list`", show_default=False),
]
AllOption = Annotated[bool, typer.Option("--all", help="every dead letter")]


def when(text: str) -> datetime:
    """An ISO 8601 time (UTC if it names no offset) or an age (``90s``, ``15m``, ``2h``,
    ``3d``) counted back from now."""
    age = re.fullmatch(r"(\d+)([smhd])", text)
    if age is not None:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(age.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use an ISO 8601 time (2026-11-29T03:00) or an age (2h, 3d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dead_letter_filter(
    consumer: str | None, event_type: str | None, since: str | None, until: str | None
) -> DeadLetterFilter:
    return DeadLetterFilter(
        consumer=consumer,
        event_type=event_type,
        since=when(since) if since else None,
        until=when(until) if until else None,
    )


@app.command("list")
def list_dead_letters(
    consumer: ConsumerOption = None,
    event_type: TypeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    after: Annotated[int, typer.Option(help="start after this sequence (the next page)")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="dead letters a page")] = 50,
) -> None:
    """List dead letters, oldest first, a page at a time, with how many match in all."""
    where = dead_letter_filter(consumer, event_type, since, until)
    page = on_jetstream(lambda js: dead_letter_page(js, where, after=after, limit=limit))
    table = Table(
        "sequence", "dead-lettered", "consumer", "event type", "event id", "tries", "error"
    )
    for letter in page.letters:
        stored = letter.stored_at.strftime("%Y-%m-%d %H:%M:%S") if letter.stored_at else ""
        table.add_row(
            str(letter.sequence),
            stored,
            letter.consumer,
            letter.event_type or "(unreadable)",
            letter.event_id,
            str(letter.deliveries),
            letter.error[:80],
        )
    console.print(table)
    shown = len(page.letters)
    if not shown:
        console.print(f"No dead letters{' match' if where != DeadLetterFilter() else ''}.")
        return
    first, last = page.letters[0].sequence, page.letters[-1].sequence
    console.print(f"{shown} shown (sequences {first}-{last}) of {page.total:,} in all.")
    if page.next_after is not None:
        console.print(f"Next page: add --after {page.next_after}")


@app.command("replay")
def replay(
    sequences: Sequences = None,
    consumer: ConsumerOption = None,
    event_type: TypeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: AllOption = False,
) -> None:
    """Send dead letters back to their consumer and remove them (sequences, a filter or --all)."""
    where = selection(sequences, consumer, event_type, since, until, every)
    if sequences:
        settle_each(sequences, replay_dead_letter, "replayed")
        return
    done = settle_with_progress(where, replay_dead_letters, "Replaying")
    report(done, "replayed", "to replay")


@app.command("discard")
def discard(
    reason: Annotated[str, typer.Option(help="why: kept in the audit log with each one")],
    sequences: Sequences = None,
    consumer: ConsumerOption = None,
    event_type: TypeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: AllOption = False,
    by: Annotated[
        str | None, typer.Option(envvar="LMS_OPERATOR", help="who (default: your user name)")
    ] = None,
) -> None:
    """Remove dead letters for good, each kept in the audit log with the reason and who."""
    if not reason.strip():
        raise typer.BadParameter("say why", param_hint="--reason")
    where = selection(sequences, consumer, event_type, since, until, every)
    operator = by or operator_name()
    if sequences:
        settle_each(
            sequences,
            lambda js, seq: discard_dead_letter(js, seq, reason=reason, by=operator),
            "discarded",
        )
        return
    done = settle_with_progress(
        where,
        lambda js, w: discard_dead_letters(js, w, reason=reason, by=operator),
        "Discarding",
    )
    report(done, "discarded", "to discard")


@app.command("discarded")
def discarded(consumer: ConsumerOption = None) -> None:
    """The audit log: every dead letter discarded, why, by whom and when."""
    entries = on_jetstream(lambda js: list_discards(js, consumer))
    table = Table(
        "discarded",
        "by",
        "consumer",
        "event type",
        Column("event id", no_wrap=True, min_width=36),
        "reason",
    )
    for entry in entries:
        table.add_row(
            entry.discarded_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.by,
            entry.consumer,
            entry.event_type or "(unreadable)",
            entry.event_id,
            entry.reason,
        )
    console.print(table)
    console.print(f"{len(entries):,} discarded.")


def selection(
    sequences: list[int] | None,
    consumer: str | None,
    event_type: str | None,
    since: str | None,
    until: str | None,
    every: bool,
) -> DeadLetterFilter:
    """Exactly one of: sequences, a filter, ``--all``."""
    where = dead_letter_filter(consumer, event_type, since, until)
    chosen = [bool(sequences), where != DeadLetterFilter(), every]
    if sum(chosen) != 1:
        raise typer.BadParameter(
            "name sequences, or a filter (--consumer, --type, --since, --until), or --all: "
            "one of the three"
        )
    return where


def settle_each(
    sequences: list[int],
    settle: Callable[[JetStreamContext, int], Awaitable[DeadLetter | None]],
    done: str,
) -> None:
    async def run(js: JetStreamContext) -> list[tuple[int, DeadLetter | None]]:
        return [(seq, await settle(js, seq)) for seq in sequences]

    for sequence, letter in on_jetstream(run):
        if letter is None:
            console.print(f"no dead letter {sequence} (replayed or discarded already)")
        else:
            console.print(
                f"{done} {sequence} ({letter.event_type or 'unreadable'}) of {letter.consumer}"
            )


def settle_with_progress(
    where: DeadLetterFilter,
    settle: Callable[[JetStreamContext, DeadLetterFilter], AsyncIterator[DeadLetter]],
    doing: str,
) -> Counter[str]:
    """Run ``settle`` over every dead letter ``where`` matches, with a progress bar; how many
    of each consumer's it settled."""

    async def run(js: JetStreamContext) -> Counter[str]:
        total = await count_dead_letters(js, where)
        done: Counter[str] = Counter()
        if not total:
            return done
        columns = (
            TextColumn(doing),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(doing, total=total)
            async for letter in settle(js, where):
                done[letter.consumer] += 1
                progress.advance(task)
        return done

    return on_jetstream(run)


def report(done: Counter[str], verb: str, nothing: str) -> None:
    if not done:
        console.print(f"No dead letters {nothing}.")
        return
    each = ", ".join(f"{count:,} of {consumer}" for consumer, count in sorted(done.items()))
    console.print(f"{verb.capitalize()} {sum(done.values()):,} dead letters ({each}).")


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user with no name
        return f"uid {os.getuid()}"
