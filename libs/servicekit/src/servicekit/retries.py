"""How a message that a handler failed on is retried: one policy, applied by the consumer.

The consumer naks a failed message with the delay for that delivery, and at its
``max_deliver``-th delivery moves it to the dead-letter stream. The durable consumer on the
server keeps no schedule of its own (no ``backoff`` list, which would be added to these
delays) and no limit (it delivers until the message is settled): its ``ack_wait`` only
redelivers a message whose consumer went silent while holding it (its process died, its
connection was lost). Only a message's own errors count: while the infrastructure is away
the consumer pauses instead (ADR 12). Service settings take their defaults from
:data:`RETRIES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    max_deliver: int = 5

    def delay_after(self, delivery: int) -> float:
        """The nak delay after the ``delivery``-th delivery (from 1) failed."""
        return retry_delay(self.delays, delivery)

    def timeline(self) -> list[float]:
        """Seconds from the first delivery to each delivery, handling time not counted; a
        failure at the last one dead-letters the message."""
        at = [0.0]
        for delivery in range(1, self.max_deliver):
            at.append(at[-1] + self.delay_after(delivery))
        return at


def retry_delay(delays: Sequence[float], delivery: int) -> float:
    """The delay after the ``delivery``-th delivery failed: the last one repeats."""
    return delays[max(0, min(delivery - 1, len(delays) - 1))]


RETRIES = RetryPolicy()
