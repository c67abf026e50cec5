"""An operator's round trip through `lms dead-letters` on a real nats-server: more than a
thousand dead letters listed page by page, a few discarded with a reason, the rest replayed in
one command (twice: the second finds nothing), and every replayed event applied once."""

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, MetaData, Table, func, select
from sqlalchemy.dialects.postgresql import UUID
from typer.testing import CliRunner

from lms_cli.main import app
from lms_contracts import CloudEvent, LessonCompleted, new_event, parse_event, subject_of
from servicekit.audit import list_discards
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import DeadLetterFilter, count_dead_letters
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import dlq_subject

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)
applied = Table("applied", metadata, Column("event_id", UUID(as_uuid=True), primary_key=True))
VILLAGES = ["74.01.01.2006", "74.01.01.2007", "74.02.01.2006"]  # Sulawesi Tenggara
COUNT = 1_050
ROW = re.compile(r"^│ +(\d+) +│", re.MULTILINE)
runner = CliRunner()


@dataclass
class Cli:
    nats_url: str

    async def run(self, *args: str) -> str:
        """`lms dead-letters ...` as a separate process, as an operator runs it."""
        env = os.environ | {"NATS_URL": self.nats_url, "COLUMNS": "250", "LMS_OPERATOR": "wati"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lms_cli.main",
            "dead-letters",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        text = out.decode()
        assert process.returncode == 0, text
        return text


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield Database(engine, Outbox(outbox_table))
    await engine.dispose()


async def applied_count(database: Database) -> int:
    async with database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(applied))).scalar_one())


def lesson_completed(index: int) -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=VILLAGES[index % len(VILLAGES)],
        completed_at=now,
        recorded_at=now,
    )


async def test_more_than_a_thousand_dead_letters_round_trip_through_the_cli(
    database: Database, jetstream: JetStreamContext, nats_url: str
) -> None:
    cli = Cli(nats_url)
    broken = True

    async def project(tx: Transaction, event: CloudEvent[Any]) -> None:
        if broken:
            raise RuntimeError("projection bug in this release")
        await tx.execute(applied.insert().values(event_id=event.id))

    consumer = Consumer(
        "reporting",
        jetstream,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: project}),
        ConsumerOptions(max_deliver=1, fetch_timeout=0.2),  # dead-letter at the first failure
    )
    task = asyncio.create_task(consumer.run())
    try:
        events = [new_event(lesson_completed(i)) for i in range(COUNT)]
        await asyncio.gather(*(jetstream.publish(subject_of(e.data), e.to_json()) for e in events))
        for garbage in (b"{not json", b"\xff\xfe", b'{"type": "x"}'):  # someone else's junk
            await jetstream.publish(dlq_subject("notification"), garbage)
        reporting = DeadLetterFilter(consumer="reporting")
        await eventually(lambda: count_dead_letters(jetstream, reporting), lambda n: n == COUNT)

        # Listed page by page: every one of them, the total on each page.
        sequences, after, pages = [], 0, 0
        while True:
            page = await cli.run(
                "list", "--consumer", "reporting", "--limit", "1000", "--after", str(after)
            )
            assert f"of {COUNT:,} in all" in page
            sequences += [int(s) for s in ROW.findall(page)]
            pages += 1
            following = re.search(r"Next page: add --after (\d+)", page)
            if following is None:
                break
            after = int(following.group(1))
        assert pages == 2 and len(sequences) == len(set(sequences)) == COUNT

        # One is test data that must never be applied; the junk goes too. A reason is required,
        # and a replay or discard says which (refused before connecting to anything).
        refused = runner.invoke(app, ["dead-letters", "discard", str(sequences[0])])
        assert refused.exit_code == 2 and "--reason" in refused.output
        unsure = runner.invoke(app, ["dead-letters", "replay"])
        assert unsure.exit_code == 2 and "--all" in unsure.output
        both = runner.invoke(app, ["dead-letters", "replay", "7", "--consumer", "reporting"])
        assert both.exit_code == 2
        one = await cli.run("discard", str(sequences[0]), "--reason", "training data")
        assert f"discarded {sequences[0]}" in one
        junk = await cli.run("discard", "--consumer", "notification", "--reason", "not ours")
        assert "Discarded 3 dead letters (3 of notification)." in junk

        # The fix is deployed: one command replays the rest; running it again does nothing.
        broken = False
        replayed = await cli.run("replay", "--consumer", "reporting")
        assert f"Replayed {COUNT - 1:,} dead letters ({COUNT - 1:,} of reporting)." in replayed
        again = await cli.run("replay", "--all")
        assert "No dead letters to replay." in again
        gone = await cli.run("replay", str(sequences[1]))
        assert f"no dead letter {sequences[1]} (replayed or discarded already)" in gone
        await eventually(lambda: applied_count(database), lambda n: n == COUNT - 1, timeout=60)
    finally:
        consumer.stop()
        await task

    assert await count_dead_letters(jetstream) == 0
    assert await applied_count(database) == COUNT - 1  # the discarded one never applied
    audit = await cli.run("discarded")
    assert "4 discarded." in audit and audit.count("wati") == 4
    entries = await list_discards(jetstream, "reporting")
    assert [e.reason for e in entries] == ["training data"]
    assert entries[0].dead_letter_sequence == sequences[0]
    assert parse_event(entries[0].message.encode()).id in {e.id for e in events}
