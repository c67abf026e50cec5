"""A bounded load of learner registrations in Sulawesi Tenggara (province 74) through the public
API, spread over a service's replicas, keeping what each client was finally told.

A client behaves as a well-made gateway would: a request that never got an answer (connection
refused or reset) is sent again, with the same ``Idempotency-Key``, to the next replica; a 503
is retried after its ``Retry-After`` (kept short here), with the same key. A 503 is not an
answer but "try again": the database may have committed the request just as its connection
was cut (``kill -9`` during COMMIT), and only the retry, with its key, learns that it did
(the first answer, stored with the commit). So a client keeps trying for ``patience`` seconds;
the last thing it got is what it was told. One request in ten is an invalid one (a village that
does not exist), which must be refused and leave no trace.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from servicekit import regions

POSITIONS = ("kepala_desa", "sekretaris_desa", "kaur_keuangan", "kasi_pelayanan")
NOT_A_VILLAGE = "74.99.99.9999"
TRANSPORT_ERRORS = (httpx.TransportError,)


@dataclass
class Outcome:
    """One registration as its client saw it."""

    key: str
    full_name: str
    village_code: str
    sent_at: float
    answered_at: float = 0.0
    status: int | None = None  # the final answer; None when no replica ever answered
    learner_id: str | None = None
    answers: list[int] = field(default_factory=list)  # every status on the way
    resets: int = 0  # attempts that got no answer (refused, reset, timed out)
    reset_kinds: list[str] = field(default_factory=list)  # httpx's name for each
    malformed: list[str] = field(default_factory=list)  # answers that were not a proper problem

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class RegistrationLoad:
    """``count`` registrations, ``concurrency`` at a time, over the replicas at ``urls``."""

    def __init__(
        self,
        urls: list[str],
        headers: dict[str, str],
        *,
        seed: int = 74,
        concurrency: int = 8,
        patience: float = 120.0,
        longest_wait: float = 1.0,
        invalid_every: int | None = 10,
    ) -> None:
        self.urls = urls
        self.headers = headers
        self.random = random.Random(seed)
        self.villages = sorted(regions.villages_of_province("74"))
        self.concurrency = concurrency
        self.patience = patience
        self.longest_wait = longest_wait
        self.invalid_every = invalid_every
        self.outcomes: list[Outcome] = []
        self.run_id = uuid.uuid4().hex[:8]
        self._next_url = itertools.cycle(range(len(urls)))
        self._counter = itertools.count()
        self.http = httpx.AsyncClient(
            timeout=20, limits=httpx.Limits(keepalive_expiry=2.0, max_connections=concurrency * 2)
        )

    async def close(self) -> None:
        await self.http.aclose()

    def accepted(self, since: float = 0.0) -> list[Outcome]:
        """Registrations accepted, of those sent after ``since`` (a ``time.time()``)."""
        return [o for o in self.outcomes if o.accepted and o.sent_at > since]

    async def run_until(self, stop: asyncio.Event) -> list[Outcome]:
        """Send registrations until ``stop`` is set."""

        async def worker() -> None:
            while not stop.is_set():
                self.outcomes.append(await self.register())

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return self.outcomes

    async def accepted_since(self, since: float, count: int, timeout: float = 300) -> Outcome:
        """Wait until ``count`` registrations sent after ``since`` were accepted; the first."""
        deadline = time.monotonic() + timeout
        while len(found := self.accepted(since)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} registrations accepted")
            await asyncio.sleep(0.05)
        return min(found, key=lambda o: o.sent_at)

    async def run(
        self, count: int, halfway: asyncio.Event | None = None, fraction: float = 0.5
    ) -> list[Outcome]:
        """Send ``count`` registrations; ``halfway`` is set once ``fraction`` of them are
        answered (where a fault is due)."""
        done = 0
        queue = list(range(count))

        async def worker() -> None:
            nonlocal done
            while queue:
                queue.pop()
                self.outcomes.append(await self.register())
                done += 1
                if halfway is not None and done >= count * fraction:
                    halfway.set()

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return self.outcomes

    def body(self, index: int) -> dict[str, Any]:
        invalid = (
            self.invalid_every is not None and index % self.invalid_every == self.invalid_every - 1
        )
        return {
            "full_name": f"Peserta Uji {self.run_id} {index}",
            "position": self.random.choice(POSITIONS),
            "village_code": NOT_A_VILLAGE if invalid else self.random.choice(self.villages),
        }

    async def register(self) -> Outcome:
        body = self.body(next(self._counter))
        outcome = Outcome(uuid.uuid4().hex, body["full_name"], body["village_code"], time.time())
        headers = self.headers | {"Idempotency-Key": outcome.key}
        first = next(self._next_url)
        give_up = time.monotonic() + self.patience
        for attempt in itertools.count():
            if attempt and time.monotonic() > give_up:
                break
            url = self.urls[(first + attempt) % len(self.urls)]
            try:
                response = await self.http.post(f"{url}/v1/learners", json=body, headers=headers)
            except TRANSPORT_ERRORS as exc:
                outcome.resets += 1
                outcome.reset_kinds.append(type(exc).__name__)
                outcome.status = None
                await asyncio.sleep(0.1)
                continue
            outcome.status = response.status_code
            outcome.answers.append(response.status_code)
            if response.is_success:
                outcome.learner_id = response.json()["learner_id"]
                break
            outcome.malformed += improper(response)
            if response.status_code != 503:
                break
            await asyncio.sleep(min(float(response.headers["Retry-After"]), self.longest_wait))
        outcome.answered_at = time.time()
        return outcome


def improper(response: httpx.Response) -> list[str]:
    """What is wrong with a refusal: not an RFC 9457 problem, a stack trace, a 503 without
    ``Retry-After``."""
    found = []
    if response.headers.get("content-type", "").split(";")[0] != "application/problem+json":
        found.append(f"{response.status_code} without a problem body")
    if "Traceback" in response.text or 'File "' in response.text:
        found.append(f"{response.status_code} with a stack trace")
    if response.status_code == 503 and not response.headers.get("Retry-After"):
        found.append("503 without Retry-After")
    return found


def answers_seen(outcomes: list[Outcome]) -> dict[str, int]:
    """Every answer the clients got on the way, by status, and the attempts that got none, by
    kind (``no answer: ConnectError``: refused; ``ReadError``, ``RemoteProtocolError``: cut)."""
    seen: dict[str, int] = {}
    for outcome in outcomes:
        for status in outcome.answers:
            seen[str(status)] = seen.get(str(status), 0) + 1
        for kind in outcome.reset_kinds:
            seen[f"no answer: {kind}"] = seen.get(f"no answer: {kind}", 0) + 1
    return dict(sorted(seen.items()))
