"""``lms-subscriber`` (or ``python -m lms_contracts.subscriber``): follow a region's events.

    lms-subscriber --region 74 --url nats://nats.lms.example:4222        # print them
    lms-subscriber status --region 74                                     # the checkpoint
    lms-subscriber postgres --region 74 --database-url postgresql://...  # worked example
    lms-subscriber --region 74 --since 2026-11-01T00:00:00Z               # replay (or 15m, 2h, 7d)

The password comes from ``--password`` or ``NATS_PASSWORD``; the user defaults to the
region's own (``region-74``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ..envelope import CloudEvent, EventData
from ..subjects import InvalidRegionCode
from .dispatch import READABLE
from .kit import Subscriber

COMMANDS = ("follow", "status", "postgres")
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC if it names no offset), or a span back from now: 15m, 2h, 7d."""
    ago = _AGO.match(value)
    if ago:
        span = timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
        return (now or datetime.now(UTC)) - span
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time or a span like 15m: {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", required=True, help="province (74) or regency (74.01)")
    common.add_argument("--url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    common.add_argument("--user", help="NATS user (default: the region's, e.g. region-74)")
    common.add_argument("--password", default=os.environ.get("NATS_PASSWORD", ""))
    common.add_argument("--since", type=parse_since, help="replay from this time, or 15m/2h/7d")
    common.add_argument("--batch-size", type=int, default=100)
    common.add_argument("--max-wait", type=float, default=1.0, help="seconds to fill a batch")
    top = argparse.ArgumentParser(prog="lms-subscriber", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("follow", parents=[common], help="print each event as a JSON line")
    commands.add_parser("status", parents=[common], help="where each durable consumer stands")
    example = commands.add_parser(
        "postgres", parents=[common], help="write the region's events into PostgreSQL"
    )
    example.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    return top


def kit_for(args: argparse.Namespace) -> Subscriber:
    return Subscriber(
        args.region,
        url=args.url,
        user=args.user,
        password=args.password,
        batch_size=args.batch_size,
        max_wait=args.max_wait,
    )


async def print_event(event: CloudEvent[EventData]) -> None:
    print(json.dumps(json.loads(event.to_json()), ensure_ascii=False), flush=True)


async def follow(args: argparse.Namespace) -> None:
    kit = kit_for(args)
    kit.on(*READABLE)(print_event)
    await kit.run(since=args.since, stop=stop_on_signals())


async def status(args: argparse.Namespace) -> None:
    kit = kit_for(args)
    kit.on(*READABLE)(print_event)
    for checkpoint in await kit.checkpoints():
        print(checkpoint.describe())


async def postgres(args: argparse.Namespace) -> None:
    from .postgres import follow_into_postgres

    if not args.database_url:
        raise SystemExit("--database-url (or DATABASE_URL) is required")
    await follow_into_postgres(
        kit_for(args), args.database_url, since=args.since, stop=stop_on_signals()
    )


def stop_on_signals() -> asyncio.Event:
    """Set on SIGINT or SIGTERM, so that the subscriber stops between batches."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*COMMANDS, "-h", "--help"):
        arguments.insert(0, "follow")  # `lms-subscriber --region 74` follows
    args = parser().parse_args(arguments)
    configure_logging()
    command = {"follow": follow, "status": status, "postgres": postgres}[args.command]
    try:
        asyncio.run(command(args))
    except InvalidRegionCode as exc:
        raise SystemExit(str(exc)) from exc
    except (TimeoutError, OSError) as exc:
        raise SystemExit(
            f"NATS at {args.url} refused or did not answer ({exc!r}): check the URL, the "
            f"user and password, and that --region is the user's own region"
        ) from exc
