"""A batch of events applies whole or not at all, on real PostgreSQL: a replica that dies
between writing a learner's row and moving the rollups leaves nothing behind, and the batch
delivered again counts the learner once."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import lms_contracts as c
import reporting.main as reporting
from reporting.domain.rollups import Deltas
from reporting.store.projection import SqlProjectionStore
from reporting.usecases import project_batch
from servicekit.database import make_engine
from servicekit.migrations import upgrade

pytestmark = pytest.mark.integration
VILLAGE = "74.01.01.2006"  # Sulawesi Tenggara


class ReplicaKilled(Exception):
    pass


class DiesBeforeRollups(SqlProjectionStore):
    """The replica's process ends after the learner rows are written, before the rollups."""

    async def add_rollups(self, deltas: Deltas) -> None:
        raise ReplicaKilled()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, reporting.MIGRATIONS, database_url)
    engine = make_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


def registration() -> c.CloudEvent[c.LearnerRegistered]:
    data = c.LearnerRegistered(
        learner_id=uuid.uuid4(),
        full_name="Wa Ode Sitti",
        position="kaur_keuangan",
        village_code=VILLAGE,
        registered_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )
    return c.new_event(data)


async def national_registered(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = text("SELECT coalesce(sum(registered), 0) FROM rollups WHERE region_code = ''")
        return int((await conn.execute(query)).scalar_one())


async def registered_rows(engine: AsyncEngine, learner_id: uuid.UUID) -> list[bool]:
    async with engine.connect() as conn:
        query = text("SELECT registered FROM learners WHERE learner_id = :id")
        return list((await conn.execute(query, {"id": learner_id})).scalars())


async def test_a_batch_cut_short_leaves_nothing_and_its_redelivery_counts_once(
    engine: AsyncEngine,
) -> None:
    event = registration()
    with pytest.raises(ReplicaKilled):
        async with engine.begin() as conn:
            await project_batch(
                [event], DiesBeforeRollups((await SqlProjectionStore.open(conn)).driver)
            )
    assert await registered_rows(engine, event.data.learner_id) == []
    assert await national_registered(engine) == 0

    async with engine.begin() as conn:
        await project_batch([event], await SqlProjectionStore.open(conn))
    assert await registered_rows(engine, event.data.learner_id) == [True]
    assert await national_registered(engine) == 1


async def test_a_replica_waits_for_the_other_to_commit_a_learner_it_holds(
    engine: AsyncEngine,
) -> None:
    """Two replicas with the same learner in their batches: the second reads the learner only
    once the first has committed, so the two batches never count from the same row."""
    event = registration()
    learner = [event.data.learner_id]
    stuck = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        store = await SqlProjectionStore.open(first)
        await store.lock_learners([], learner)
        await second.begin()
        other = await SqlProjectionStore.open(second)
        waiting = asyncio.create_task(project_batch([event], other))
        # the second replica's batch waits on the first's lock (not on a clock)
        async with engine.connect() as watcher:
            while not (await watcher.execute(stuck)).scalar_one():
                assert not waiting.done(), "the second batch went ahead past a held learner"
                await watcher.rollback()
        await project_batch([event], store)
        await first.commit()
        await waiting
        await second.commit()
    assert await registered_rows(engine, event.data.learner_id) == [True]
    assert await national_registered(engine) == 1
