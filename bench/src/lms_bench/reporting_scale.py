"""Reporting at national scale: the projection consumer against raw JetStream consume, and
region report latency at 1% and at 100% of the lesson events, measured in one run.

Learners are spread over every village of the region list, registered and enrolled in one
course, then complete lessons in rounds; lesson times fall over the four weeks before the run,
so "active in the last 14 days" sees the same days at 1% as at 100%. Events go straight onto
the LMS stream (the services that would publish them are measured elsewhere). The consumer is
the reporting service's own, reading the real durable consumer.

The database at 1% is copied before the other 99% arrive, and the reports of both states are
timed at the end, in alternating rounds, so that a drift of the machine's speed in between
does not count as a change of the reports.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from rich.console import Console
from rich.progress import Progress

import lms_contracts as c
from servicekit.consumer import Consumer, ConsumerOptions
from servicekit.database import make_engine
from servicekit.inbox import Inbox
from servicekit.migrations import upgrade
from servicekit.pull import Puller
from servicekit.regions import all_villages
from servicekit.servers import (
    LocalPostgres,
    NatsServer,
    connect_asyncpg,
    ensure_database,
    new_run_dir,
    stop_leftovers,
)
from servicekit.service import tune_garbage_collector
from servicekit.topology import STREAM, apply_topology, interests

from .components import open_service
from .report import Ratio

console = Console()
DAYS_ACTIVE = 14
# The settings of deploy/k8s (base and the production overlay's shared_buffers) that shape
# this load; this PostgreSQL build compresses the write-ahead log with pglz, not lz4.
POSTGRES_SETTINGS = {
    "shared_buffers": "2GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "wal_compression": "on",
}
LATENCY_REPEATS = 7
# The 1% state is kept as a copy of the database, and the reports of both states are timed at
# the end in alternating rounds: this machine's speed drifts by up to twice over minutes, which
# timing the two states twenty minutes apart would put into the ratio. Of each state the
# fastest round counts.
LATENCY_ROUNDS = 5
EARLY_DATABASE = "reporting_at_1pct"


@dataclass
class Scale:
    learners: int
    lessons: int  # lesson-completed events per learner

    @property
    def lesson_events(self) -> int:
        return self.learners * self.lessons


@dataclass
class ScaleResults:
    scale: Scale
    ceilings: dict[str, float] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    reconciliation: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            f"Reporting at scale: {self.scale.learners:,} learners, "
            f"{self.scale.lesson_events:,} lesson-completed events",
            "",
            "| measure | measured | baseline (same run) | ratio | goal | met |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.ratios:
            goal = f"{'<=' if r.lower_is_better else '>='} {r.goal}"
            lines.append(
                f"| {r.name} | {r.measured:,.1f} | {r.baseline:,.1f} | {r.ratio:.2f} | {goal} | "
                f"{'yes' if r.met else 'no'} |"
            )
        first = self.measurements.get("reporting_consumer_per_s_first_tenth", 0.0)
        last = self.measurements.get("reporting_consumer_per_s_last_tenth", 0.0)
        setup = self.measurements.get("reporting_consumer_setup_per_s", 0.0)
        consumer = self.measurements.get("reporting_consumer_per_s", 0.0)
        pulled = self.ceilings.get("jetstream_consume_pull_loop_per_s", 0.0)
        lines += [
            "",
            f"Raw consume through the consumer's own pull loop instead of nats-py's fetch: "
            f"{pulled:,.0f}/s; the consumer is {consumer / pulled if pulled else 0:.2f} of it.",
            "",
            f"Consumer over the catch-up: {first:,.0f}/s in its first tenth, {last:,.0f}/s in "
            "its last (a batch costs the same however many events came before it). Over the "
            f"registrations, enrollments and first 1% of lessons: {setup:,.0f}/s.",
        ]
        lines += [
            "",
            "| region report | at 1% (ms) | at 100%, as caught up (ms) | at 100%, vacuumed (ms) |",
            "|---|---|---|---|",
        ]
        for level, times in self.latency_ms.items():
            lines.append(
                f"| {level} | {times['early']:.1f} | {times['unvacuumed']:.1f} | "
                f"{times['late']:.1f} |"
            )
        lines += [
            "",
            "| learners to coach, first page | at 1% (ms) | at 100% (ms) |",
            "|---|---|---|",
        ]
        for level, times in self.measurements.get("inactive_list_ms", {}).items():
            lines.append(f"| {level} | {times['early']:.1f} | {times['late']:.1f} |")
        lines += ["", f"reconciliation: {self.reconciliation}"]
        return "\n".join(lines)


class EventWriter:
    """Events as bytes from templates cut out of real contract events (checked to parse back
    into the same event), a hundred times faster than building each model."""

    def __init__(self) -> None:
        at = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
        ids = [uuid.uuid4() for _ in range(6)]
        self.lesson = self._template(
            c.LessonCompleted(
                learner_id=ids[1],
                course_id=ids[2],
                course_version=1,
                lesson_id=ids[3],
                village_code="74.01.01.2006",
                completed_at=at,
                recorded_at=at,
            ),
            ids,
            at,
        )
        self.registered = self._template(
            c.LearnerRegistered(
                learner_id=ids[1],
                full_name="Wa Ode Sitti",
                position="kepala_desa",
                village_code="74.01.01.2006",
                registered_at=at,
            ),
            ids,
            at,
        )
        self.enrolled = self._template(
            c.Enrolled(
                enrollment_id=ids[4],
                learner_id=ids[1],
                course_id=ids[2],
                course_version=1,
                course_title="Tata Kelola Keuangan Desa",
                village_code="74.01.01.2006",
                position="kepala_desa",
                cohort="Angkatan 1",
                enrolled_at=at,
            ),
            ids,
            at,
        )

    @staticmethod
    def _template(data: c.EventData, ids: list[uuid.UUID], at: datetime) -> str:
        event = c.new_event(data, time=at)
        text = event.to_json().decode().replace("{", "{{").replace("}", "}}")
        text = text.replace(str(event.id), "{id}")
        for name, value in (("learner", ids[1]), ("course", ids[2]), ("lesson", ids[3])):
            text = text.replace(str(value), "{" + name + "}")
        text = text.replace(str(ids[4]), "{enrollment}")
        text = text.replace("74.01.01.2006", "{village}").replace("kepala_desa", "{position}")
        return text.replace(_iso(at), "{at}")

    def write(self, template: str, **values: Any) -> bytes:
        return template.format(id=uuid.uuid4(), **values).encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Population:
    learners: list[uuid.UUID]
    villages: list[str]
    positions: list[str]
    course: uuid.UUID
    lessons: list[uuid.UUID]
    now: datetime

    @classmethod
    def make(cls, scale: Scale, seed: int) -> Population:
        rng = random.Random(seed)
        villages = sorted(all_villages())
        rng.shuffle(villages)
        positions = [p.value for p in c.Position]
        return cls(
            learners=[
                uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(scale.learners)
            ],
            villages=[villages[i % len(villages)] for i in range(scale.learners)],
            positions=[positions[i % len(positions)] for i in range(scale.learners)],
            course=uuid.uuid4(),
            lessons=[uuid.uuid4() for _ in range(scale.lessons)],
            now=datetime.now(UTC).replace(microsecond=0),
        )


def setup_events(pop: Population, writer: EventWriter) -> Iterator[tuple[str, bytes]]:
    published = pop.now - timedelta(days=40)
    course = c.CoursePublished(
        course_id=pop.course,
        course_version=1,
        code="KEU-101",
        title="Tata Kelola Keuangan Desa",
        lesson_ids=pop.lessons,
        required_lesson_ids=pop.lessons,
        published_at=published,
    )
    yield c.subject_of(course), c.new_event(course).to_json()
    at = _iso(pop.now - timedelta(days=35))
    for learner, village, position in zip(pop.learners, pop.villages, pop.positions, strict=True):
        yield (
            c.subject_for(c.LearnerRegistered.event_type, village),
            writer.write(
                writer.registered, learner=learner, village=village, position=position, at=at
            ),
        )
    for learner, village, position in zip(pop.learners, pop.villages, pop.positions, strict=True):
        yield (
            c.subject_for(c.Enrolled.event_type, village),
            writer.write(
                writer.enrolled,
                learner=learner,
                course=pop.course,
                enrollment=uuid.uuid5(learner, "enrollment"),
                village=village,
                position=position,
                at=at,
            ),
        )


def lesson_events(
    pop: Population, writer: EventWriter, start: int, stop: int
) -> Iterator[tuple[str, bytes]]:
    """Lesson events ``start`` to ``stop`` of the run: round ``k`` is every learner's lesson
    ``k``, learners in a stride order, times spread over the last 28 days."""
    n = len(pop.learners)
    stride = _coprime_stride(n)
    window = 28 * 24 * 3600
    for index in range(start, stop):
        round_, position = divmod(index, n)
        learner_index = (position * stride) % n
        village = pop.villages[learner_index]
        at = pop.now - timedelta(seconds=(index * 7919) % window)
        yield (
            c.subject_for(c.LessonCompleted.event_type, village),
            writer.write(
                writer.lesson,
                learner=pop.learners[learner_index],
                course=pop.course,
                lesson=pop.lessons[round_],
                village=village,
                at=_iso(at),
            ),
        )


def _coprime_stride(n: int) -> int:
    from math import gcd

    stride = max(1, int(n * 0.618))
    while gcd(stride, n) != 1:
        stride += 1
    return stride


async def publish(nc: Any, js: Any, events: Iterator[tuple[str, bytes]], label: str) -> int:
    """Core publishes flushed every few thousand; the stream's count confirms none was lost."""
    before = (await js.stream_info(STREAM)).state.messages
    sent = 0
    for subject, payload in events:
        await nc.publish(subject, payload)
        sent += 1
        if sent % 5000 == 0:
            await nc.flush()
    await nc.flush()
    for _ in range(200):
        stored = (await js.stream_info(STREAM)).state.messages - before
        if stored >= sent:
            break
        await asyncio.sleep(0.05)
    if stored != sent:
        raise RuntimeError(f"{label}: published {sent}, the stream stored {stored}")
    return sent


async def raw_consume_rate(
    js: Any, start_sequence: int, count: int, *, pull_loop: bool = False
) -> float:
    """An unfiltered pull consumer that fetches and acks each message, nothing else: with
    nats-py's ``fetch`` (the baseline of the goal), or with ``pull_loop`` the reporting
    consumer's own :class:`~servicekit.pull.Puller`."""
    name = f"raw-{uuid.uuid4().hex[:6]}"
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start_sequence,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=50_000,
        ),
    )
    if pull_loop:
        puller = Puller.of(js, STREAM, name)
        await puller.start()
        fetch, stop = puller.fetch, puller.stop
    else:
        sub = await js.pull_subscribe_bind(durable=name, stream=STREAM)
        fetch, stop = sub.fetch, sub.unsubscribe
    received = 0
    started = time.perf_counter()
    while received < count:
        for message in await fetch(min(2000, count - received), timeout=5):
            await message.ack()
            received += 1
    rate = received / (time.perf_counter() - started)
    await stop()
    await js.delete_consumer(STREAM, name)
    return rate


@dataclass
class CatchUp:
    backlog: int
    seconds: float
    samples: list[tuple[float, int]]  # (seconds since start, messages done)

    def rate_between(self, start: float, stop: float) -> float:
        """Messages per second while the catch-up went from ``start`` to ``stop`` of the
        backlog (fractions): equal early and late rates mean a batch costs the same however
        many events came before it."""
        first = next(s for s in self.samples if s[1] >= start * self.backlog)
        last = next(s for s in self.samples if s[1] >= stop * self.backlog)
        return (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0


async def catch_up(js: Any, consumer: Consumer, total_label: str) -> CatchUp:
    """Run the reporting consumer until nothing is pending."""
    info = await js.consumer_info(STREAM, "reporting")
    backlog = int(info.num_pending or 0)
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    logged = started
    samples = [(0.0, 0)]
    with Progress(console=console, transient=True) as bar:
        progress = bar.add_task(total_label, total=backlog)
        while True:
            info = await js.consumer_info(STREAM, "reporting")
            left = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
            bar.update(progress, completed=backlog - left)
            samples.append((time.perf_counter() - started, backlog - left))
            if left == 0:
                break
            if not console.is_terminal and time.perf_counter() - logged > 60:
                logged = time.perf_counter()
                done = backlog - left
                console.print(
                    f"{total_label}: {done:,} of {backlog:,}, {done / (logged - started):,.0f}/s"
                )
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    consumer.stop()
    await task
    return CatchUp(backlog, seconds, samples)


async def report_latencies(conn: Any, codes: dict[str, str], course: uuid.UUID) -> dict[str, float]:
    """Per level, the milliseconds of the region report query without filters plus those with
    a course filter (the query behind ``GET /v1/reports/regions/{code}``), each the median of
    ``LATENCY_REPEATS``."""
    from reporting.store.queries import Filters, region_report

    times: dict[str, float] = {}
    for level, code in codes.items():
        total = 0.0
        for filters in (Filters(), Filters(course_id=course)):

            async def query(code: str = code, filters: Filters = filters) -> None:
                report = await region_report(conn, code, filters, DAYS_ACTIVE, datetime.now(UTC))
                assert report is not None, code

            total += await _median(query)
        times[level] = total * 1000
    return times


async def inactive_latencies(conn: Any, codes: dict[str, str]) -> dict[str, float]:
    """Per level below the nation, milliseconds of the first page (50) of learners to coach
    (the query behind ``GET /v1/reports/inactive``), the median of ``LATENCY_REPEATS``."""
    from reporting.store.queries import inactive_learners

    times: dict[str, float] = {}
    for level, code in codes.items():
        if not code:
            continue

        async def query(code: str = code) -> None:
            await inactive_learners(conn, code, DAYS_ACTIVE, 51, datetime.now(UTC))

        times[level] = await _median(query) * 1000
    return times


async def _median(query: Callable[[], Awaitable[None]]) -> float:
    samples = []
    for _ in range(LATENCY_REPEATS):
        started = time.perf_counter()
        await query()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def compare_latencies(
    engines: dict[str, Any], codes: dict[str, str], course: uuid.UUID, rounds: int
) -> dict[str, dict[str, dict[str, float]]]:
    """``{database: {"reports" | "inactive": {level: ms}}}``: the states are timed in
    alternating rounds (each round in the other order), and of each the fastest round kept."""
    best: dict[str, dict[str, dict[str, float]]] = {
        name: {"reports": {}, "inactive": {}} for name in engines
    }
    names = list(engines)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            async with engines[name].connect() as conn:
                measured = {
                    "reports": await report_latencies(conn, codes, course),
                    "inactive": await inactive_latencies(conn, codes),
                }
            for kind, times in measured.items():
                for level, ms in times.items():
                    best[name][kind][level] = min(ms, best[name][kind].get(level, ms))
    return best


async def snapshot(server_url: str, url: str, engine: Any) -> str:
    """A copy of the reporting database as it is now (its consumer stopped); returns its
    URL."""
    from sqlalchemy.engine import make_url

    await engine.dispose()  # a template database must have no other connection
    conn = await connect_asyncpg(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {EARLY_DATABASE}")
        await conn.execute(
            f"CREATE DATABASE {EARLY_DATABASE} TEMPLATE {make_url(url).database} STRATEGY FILE_COPY"
        )
    finally:
        await conn.close()
    return make_url(url).set(database=EARLY_DATABASE).render_as_string(hide_password=False)


def level_codes(pop: Population) -> dict[str, str]:
    """A region per level, on the path to the village with the most learners' province."""
    by_province: dict[str, int] = {}
    for village in pop.villages:
        by_province[village[:2]] = by_province.get(village[:2], 0) + 1
    province = max(by_province, key=lambda p: by_province[p])
    village = min(v for v in pop.villages if v.startswith(province))
    return {
        "national": "",
        "province": province,
        "regency": village[:5],
        "district": village[:8],
        "village": village,
    }


async def run(scale: Scale, seed: int = 2026, *, keep_database: bool = False) -> ScaleResults:
    import reporting.main as reporting

    results = ScaleResults(scale)
    stop_leftovers()
    work = new_run_dir("bench-reporting")  # a killed run's servers are stopped by the next
    broker, postgres = NatsServer(work / "nats"), LocalPostgres(work / "postgres")
    nats_url, server_url = broker.start(), postgres.start(POSTGRES_SETTINGS)
    tune_garbage_collector()
    try:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await apply_topology(js)
        url = await ensure_database(server_url, "reporting")
        await asyncio.to_thread(upgrade, reporting.MIGRATIONS, url)
        settings = reporting.Settings(database_url=url)
        definition = reporting.definition(settings, reporting.dependencies(settings))
        engine = make_engine(url, pool_size=2)
        database, subscription = open_service(definition, engine)
        assert subscription is not None

        def consumer() -> Consumer:
            assert subscription is not None
            return Consumer(
                "reporting",
                js,
                database,
                Inbox(definition.metadata.tables["inbox"], "reporting"),
                subscription,
                ConsumerOptions(batch_size=settings.consumer_batch_size),
                wanted=interests("reporting"),
            )

        pop = Population.make(scale, seed)
        writer = EventWriter()
        early = max(1, scale.lesson_events // 100)
        console.print(
            f"[bold]publishing registrations, enrollments and 1% of {scale.lesson_events:,} lessons"
        )
        sent = await publish(nc, js, setup_events(pop, writer), "setup")
        sent += await publish(nc, js, lesson_events(pop, writer, 0, early), "1% of lessons")
        setup = await catch_up(js, consumer(), "projecting the first 1%")
        codes = level_codes(pop)
        await vacuum(engine)
        early_url = await snapshot(server_url, url, engine)

        console.print("[bold]publishing the other 99%")
        first_late = (await js.stream_info(STREAM)).state.last_seq + 1
        published = time.perf_counter()
        late = await publish(
            nc, js, lesson_events(pop, writer, early, scale.lesson_events), "the other 99%"
        )
        publish_rate = late / (time.perf_counter() - published)
        console.print("[bold]raw consume over the same messages")
        raw_rate = await raw_consume_rate(js, first_late, min(late, 300_000))
        pulled_rate = await raw_consume_rate(js, first_late, min(late, 300_000), pull_loop=True)
        caught_up = await catch_up(js, consumer(), "projecting the other 99%")
        consumed, seconds = caught_up.backlog, caught_up.seconds
        unvacuumed = await compare_latencies({"late": engine}, codes, pop.course, 1)
        await vacuum(engine)
        console.print("[bold]timing the reports at 1% and at 100%, alternately")
        early_engine = make_engine(early_url, pool_size=1)
        timed = await compare_latencies(
            {"early": early_engine, "late": engine}, codes, pop.course, LATENCY_ROUNDS
        )
        await early_engine.dispose()
        early_ms, late_ms = timed["early"]["reports"], timed["late"]["reports"]
        unvacuumed_ms = unvacuumed["late"]["reports"]
        early_inactive, late_inactive = timed["early"]["inactive"], timed["late"]["inactive"]
        results.reconciliation = await reconcile(engine, pop, scale)
        await engine.dispose()
        await nc.close()
    finally:
        broker.stop()
        shutil.rmtree(work / "nats", ignore_errors=True)  # gigabytes at full size
        if keep_database:
            postgres.detach()
            console.print(f"PostgreSQL left running: {server_url} (the next run stops it)")
        else:
            postgres.stop()
            shutil.rmtree(work, ignore_errors=True)
    consumer_rate = consumed / seconds if seconds else 0.0
    results.ceilings = {
        "jetstream_publish_core_per_s": publish_rate,
        "jetstream_consume_per_s": raw_rate,
        "jetstream_consume_pull_loop_per_s": pulled_rate,
    }
    results.measurements = {
        "events_published": sent + late,
        "events_projected_in_catch_up": consumed,
        "reporting_consumer_setup_per_s": setup.backlog / setup.seconds if setup.seconds else 0.0,
        "catch_up_s": seconds,
        "reporting_consumer_per_s": consumer_rate,
        "reporting_consumer_per_s_first_tenth": caught_up.rate_between(0.0, 0.1),
        "reporting_consumer_per_s_last_tenth": caught_up.rate_between(0.9, 1.0),
        "region_codes": codes,
        "inactive_list_ms": {
            level: {"early": early_inactive[level], "late": late_inactive[level]}
            for level in early_inactive
        },
    }
    results.latency_ms = {
        level: {
            "early": early_ms[level],
            "unvacuumed": unvacuumed_ms[level],
            "late": late_ms[level],
        }
        for level in codes
    }
    worst = max(codes, key=lambda level: late_ms[level] / early_ms[level])
    results.ratios = [
        Ratio(
            "reporting consumer vs raw JetStream consume (same messages)",
            consumer_rate,
            raw_rate,
            0.5,
        ),
        Ratio(
            f"region report latency at 100% vs 1% of lessons, vacuumed (worst level: {worst})",
            late_ms[worst],
            early_ms[worst],
            1.5,
            lower_is_better=True,
            unit=" ms",
        ),
    ]
    return results


async def vacuum(engine: Any) -> None:
    """What autovacuum does between bursts, done now: dead row versions of the updated rows
    removed and statistics refreshed, so the latencies compare the data, not its leftovers.
    Then a checkpoint writes out what vacuum dirtied, and any autovacuum worker still busy is
    waited for, so that neither runs while the reports are timed."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) learners, enrollments, rollups, activity"))
        await conn.execute(text("CHECKPOINT"))
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            busy = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'autovacuum worker'"
                    )
                )
            ).scalar_one()
            if not busy:
                break
            await asyncio.sleep(1.0)  # polled: PostgreSQL offers no notice of a worker's end


async def reconcile(engine: Any, pop: Population, scale: Scale) -> dict[str, Any]:
    """The projections hold exactly what was published."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        national = (
            await conn.execute(
                text(
                    "SELECT sum(registered) AS registered, sum(enrolled) AS enrolled "
                    "FROM rollups WHERE region_code = ''"
                )
            )
        ).one()
        provinces = (
            await conn.execute(
                text("SELECT sum(registered) FROM rollups WHERE length(region_code) = 2")
            )
        ).scalar_one()
        lessons = (
            await conn.execute(text("SELECT sum(lessons_done) FROM enrollments"))
        ).scalar_one()
    found = {
        "registered": int(national.registered or 0),
        "enrolled": int(national.enrolled or 0),
        "provinces_registered": int(provinces or 0),
        "lessons_done": int(lessons or 0),
    }
    expected = {
        "registered": scale.learners,
        "enrolled": scale.learners,
        "provinces_registered": scale.learners,
        "lessons_done": scale.lesson_events,
    }
    return {"ok": found == expected, "found": found, "expected": expected}
