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

from typing import Any

__all__ = ["READABLE", "RETRY_DELAYS", "Checkpoint", "Handler", "Subscriber"]


def __getattr__(name: str) -> Any:
    """The kit is imported when first used, so that ``durables`` (the consumers'
    configuration, which the platform's topology also reads) needs nats-py only."""
    if name not in __all__:
        raise AttributeError(name)
    try:
        from . import dispatch, durables, kit
    except ModuleNotFoundError as missing:  # pragma: no cover - depends on what is installed
        raise ModuleNotFoundError(
            f"{missing.name} is not installed: pip install 'lms-contracts[subscriber]'",
            name=missing.name,
        ) from missing
    found: dict[str, Any] = {
        "READABLE": dispatch.READABLE,
        "RETRY_DELAYS": dispatch.RETRY_DELAYS,
        "Handler": dispatch.Handler,
        "Checkpoint": durables.Checkpoint,
        "Subscriber": kit.Subscriber,
    }
    return found[name]
