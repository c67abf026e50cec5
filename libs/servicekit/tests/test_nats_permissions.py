"""NATS identities against a real nats-server started with the generated configuration."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from lms_contracts import (
    CloudEvent,
    CoursePublished,
    EventData,
    LessonCompleted,
    new_event,
    subject_of,
)
from lms_contracts.subscriber import Subscriber
from lms_contracts.subscriber.durables import consumer_configs
from servicekit.natsauth import ADMIN, all_users, generate_passwords, server_config
from servicekit.registry import SERVICES
from servicekit.servers import NatsServer
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM, TopologySettings, apply_topology

pytestmark = pytest.mark.integration
REGIONS = ["74", "74.01"]


def lesson(village_code: str) -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=now,
        recorded_at=now,
    )


class SecuredNats:
    def __init__(self, url: str, passwords: dict[str, str]) -> None:
        self.url, self.passwords = url, passwords
        self.errors: list[str] = []

    async def connect(self, user: str) -> nats.NATS:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        return await nats.connect(
            self.url,
            user=user,
            password=self.passwords[user],
            inbox_prefix=f"_INBOX_{user}",
            error_cb=on_error,
        )

    async def publish(self, user: str, data: EventData) -> None:
        nc = await self.connect(user)
        try:
            event = new_event(data)
            await nc.jetstream().publish(
                subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)}, timeout=2
            )
        finally:
            await nc.close()


@pytest.fixture
async def secured(run_dir: Path) -> AsyncIterator[SecuredNats]:
    passwords = generate_passwords(REGIONS)
    workdir = run_dir / f"secured-{uuid.uuid4().hex[:6]}"
    workdir.mkdir()
    config = workdir / "nats.conf"
    config.write_text(server_config(all_users(passwords, REGIONS)))
    server = NatsServer(workdir, config_file=config)
    server.start()
    try:
        secured = SecuredNats(server.url, passwords)
        admin = await secured.connect(ADMIN)
        await apply_topology(admin.jetstream(), TopologySettings(regions=("74.01",)))
        await admin.close()
        yield secured
    finally:
        server.stop()


async def test_a_service_publishes_its_own_events_and_reads_its_own_consumer(
    secured: SecuredNats,
) -> None:
    await secured.publish("content", lesson("74.01.01.2006"))
    nc = await secured.connect("reporting")
    sub = await nc.jetstream().pull_subscribe_bind(durable="reporting", stream=STREAM)
    messages = await sub.fetch(1, timeout=5)
    await messages[0].ack()
    await nc.close()
    assert messages[0].subject == "lms.content.lesson-completed.v1.74.01.01.2006"


async def test_every_registered_service_logs_in_and_publishes_only_if_it_produces(
    secured: SecuredNats,
) -> None:
    for spec in SERVICES:
        nc = await secured.connect(spec.name)
        js = nc.jetstream()
        try:
            if spec.produces:
                ack = await js.publish(f"lms.{spec.name}.probe.v1", b"{}", timeout=2)
                assert ack.stream == STREAM
            else:
                with pytest.raises(Exception):  # noqa: B017 - refused, then times out
                    await js.publish(f"lms.{spec.name}.probe.v1", b"{}", timeout=1)
        finally:
            await nc.close()


async def test_a_service_may_not_publish_on_another_services_subject(secured: SecuredNats) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the publish is refused, then times out
        await secured.publish("content", c_enrolled_like("74.01.01.2006"))
    assert any("permissions violation for publish" in e.lower() for e in secured.errors)


def c_enrolled_like(village_code: str) -> EventData:
    from lms_contracts import Enrolled

    return Enrolled(
        enrollment_id=uuid.uuid4(),
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        course_title="x",
        village_code=village_code,
        position="kepala_desa",
        enrolled_at=datetime.now(UTC),
    )


async def test_a_province_reads_its_own_events_and_the_catalog_with_replay(
    secured: SecuredNats,
) -> None:
    ours, theirs = lesson("74.01.01.2006"), lesson("32.01.01.1001")
    catalog = CoursePublished(
        course_id=uuid.uuid4(),
        course_version=1,
        code="K",
        title="Keuangan",
        lesson_ids=[],
        required_lesson_ids=[],
        published_at=datetime.now(UTC),
    )
    for data in (ours, theirs):
        await secured.publish("content", data)
    await secured.publish("content", catalog)

    async def received_by_the_kit(since: datetime | None = None) -> list[CloudEvent[EventData]]:
        kit = Subscriber("74", url=secured.url, password=secured.passwords["region-74"])
        received: list[CloudEvent[EventData]] = []

        @kit.on(LessonCompleted, CoursePublished)
        async def handle(event: CloudEvent[EventData]) -> None:
            received.append(event)

        await kit.start(since=since)
        try:
            await eventually(lambda: _length(received), lambda n: n >= 2)
        finally:
            await kit.close()
        return received

    received = await received_by_the_kit()
    assert {type(e.data) for e in received} == {LessonCompleted, CoursePublished}
    assert [e.data.lesson_id for e in received if isinstance(e.data, LessonCompleted)] == [
        ours.lesson_id
    ]
    # replay from a point in time re-creates the durable consumers and delivers again
    replayed = await received_by_the_kit(since=datetime.now(UTC) - timedelta(minutes=5))
    assert sorted(e.id for e in replayed) == sorted(e.id for e in received)


async def _length(items: list[CloudEvent[EventData]]) -> int:
    return len(items)


async def test_a_province_cannot_read_another_province_or_a_service_consumer(
    secured: SecuredNats,
) -> None:
    nc = await secured.connect("region-74")
    js = nc.jetstream()
    with pytest.raises(Exception):  # noqa: B017 - refused by the server, surfaces as a timeout
        await js.add_consumer(
            STREAM,
            ConsumerConfig(
                name="region-74",
                durable_name="region-74",
                filter_subject="lms.*.*.v1.32.>",
                ack_policy=AckPolicy.EXPLICIT,
            ),
            timeout=2,
        )
    with pytest.raises(Exception):  # noqa: B017
        sub = await js.pull_subscribe_bind(durable="reporting", stream=STREAM)
        await sub.fetch(1, timeout=2)
    await nc.close()
    violations = [e.lower() for e in secured.errors]
    assert any("consumer.create.lms.region-74.lms.*.*.v1.32" in e for e in violations)
    assert any("consumer.msg.next.lms.reporting" in e for e in violations)


async def test_a_regency_user_cannot_widen_its_filter_to_the_province(secured: SecuredNats) -> None:
    nc = await secured.connect("region-74-01")
    with pytest.raises(Exception):  # noqa: B017
        await nc.jetstream().add_consumer(
            STREAM,
            ConsumerConfig(
                name="region-74-01",
                durable_name="region-74-01",
                filter_subject="lms.*.*.v1.74.>",
                ack_policy=AckPolicy.EXPLICIT,
            ),
            timeout=2,
        )
    await nc.close()
    assert any("permissions violation" in e.lower() for e in secured.errors)


async def test_nobody_may_listen_on_another_users_inbox(secured: SecuredNats) -> None:
    nc = await secured.connect("region-74")
    await nc.subscribe("_INBOX_reporting.>")
    await nc.flush()

    async def errors() -> list[str]:
        return [e.lower() for e in secured.errors]

    await eventually(
        errors, lambda found: any("permissions violation for subscription" in e for e in found)
    )
    await nc.close()


async def test_a_region_gets_no_map_of_the_stream(secured: SecuredNats) -> None:
    nc = await secured.connect("region-74")
    js = nc.jetstream()
    for ask in (
        lambda: js.stream_info(STREAM, subjects_filter=">"),
        lambda: nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=1),
        lambda: nc.request("$JS.API.STREAM.LIST", b"{}", timeout=1),
        lambda: nc.request(f"$JS.API.DIRECT.GET.{STREAM}", b'{"seq": 1}', timeout=1),
    ):
        with pytest.raises(Exception):  # noqa: B017 - refused, then times out
            await ask()
    await nc.close()
    violations = " ".join(e.lower() for e in secured.errors)
    for api in ("stream.info.lms", "stream.names", "stream.list", "direct.get.lms"):
        assert api in violations


def regency_consumer(**changes: object) -> ConsumerConfig:
    config = consumer_configs("74.01")[0]
    for name, value in changes.items():
        setattr(config, name, value)
    return config


@pytest.mark.parametrize(
    "changes",
    [
        {"deliver_subject": "lmsdlq.reporting"},  # a push consumer feeding the dead letters
        {"deliver_subject": "_INBOX_reporting.x"},
        {"mem_storage": True},
        {"max_ack_pending": 1_000_000},
    ],
    ids=["push-into-dead-letters", "push-into-another-inbox", "memory", "unbounded-ack-pending"],
)
async def test_a_region_may_not_reshape_its_consumer(
    secured: SecuredNats, changes: dict[str, object]
) -> None:
    """The operator created it as a bounded pull consumer: the server refuses a push
    consumer, memory storage or more pending acknowledgements than the account allows."""
    nc = await secured.connect("region-74-01")
    js = nc.jetstream()
    with pytest.raises(Exception):  # noqa: B017 - refused by the server
        await js.add_consumer(STREAM, regency_consumer(**changes), timeout=2)
    info = await js.consumer_info(STREAM, "region-74-01")
    assert info.config.deliver_subject is None and not info.config.mem_storage
    assert info.config.max_ack_pending == regency_consumer().max_ack_pending
    await nc.close()


async def test_a_region_may_not_delete_its_consumer_to_recreate_it(secured: SecuredNats) -> None:
    nc = await secured.connect("region-74-01")
    with pytest.raises(Exception):  # noqa: B017 - refused, then times out
        await nc.jetstream().delete_consumer(STREAM, "region-74-01")
    assert (await nc.jetstream().consumer_info(STREAM, "region-74-01")).config.durable_name
    await nc.close()
    assert any("consumer.delete.lms.region-74-01" in e.lower() for e in secured.errors)
