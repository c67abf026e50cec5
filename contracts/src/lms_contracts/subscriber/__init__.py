"""The subscriber kit for provincial and regency systems (``pip install
'lms-contracts[subscriber]'``): a region's events with a typed handler per event type, on
FastStream's NATS JetStream pull subscriber and the region's own durable consumers.

    from lms_contracts import CloudEvent, LessonCompleted
    from lms_contracts.subscriber import Subscriber

    kit = Subscriber("74", url="nats://nats.lms.example:4222", password=PASSWORD)

    @kit.on(LessonCompleted)
    async def lesson_done(event: CloudEvent[LessonCompleted]) -> None:
        ...

    asyncio.run(kit.run())

From a shell: ``lms-subscriber --region 74`` (or ``python -m lms_contracts.subscriber``)
prints the events, ``status`` prints the checkpoint, ``postgres`` runs the worked example
(:mod:`lms_contracts.subscriber.postgres`); ``--since`` replays from a point in time.
"""

try:
    from .dispatch import READABLE, RETRY_DELAYS, Handler
    from .durables import Checkpoint
    from .kit import Subscriber
except ModuleNotFoundError as missing:  # pragma: no cover - depends on what is installed
    raise ModuleNotFoundError(
        f"{missing.name} is not installed: pip install 'lms-contracts[subscriber]'",
        name=missing.name,
    ) from missing

__all__ = ["READABLE", "RETRY_DELAYS", "Checkpoint", "Handler", "Subscriber"]
