"""Per event id: does every registration a client was told succeeded have exactly one effect in
every consumer, and does every one it was told failed have none?

Read from the services' own databases and the stream, after the system has settled:

- enrollment: one learner per accepted request (the name is unique to the request, and the id
  is the one the client was given), none for a refused one; one ``learner-registered`` event
  in its outbox per accepted learner;
- the stream: exactly one message per outbox event (a relay that published a row twice would
  show here, were JetStream's de-duplication window not absorbing it);
- every consumer of the event: its inbox holds each event id (in the transaction of its
  effect), and reporting, which keeps no inbox (ADR 6), shows each learner once and counts,
  nationally, exactly the learners enrollment has.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx

from lms_contracts import LearnerRegistered
from servicekit.registry import consumers
from servicekit.servers import connect_asyncpg
from servicekit.topology import STREAM

from .registrations import Outcome

REGISTERED = LearnerRegistered.event_type
WITHOUT_INBOX = ("reporting",)


async def rows(database_url: str, query: str, *args: Any) -> list[Any]:
    conn = await connect_asyncpg(database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def reconcile(
    outcomes: list[Outcome],
    database_urls: dict[str, str],
    js: Any,
    reporting_url: str,
    admin: dict[str, str],
) -> dict[str, Any]:
    problems: list[str] = []
    accepted = [o for o in outcomes if o.accepted]
    learners = await rows(
        database_urls["enrollment"],
        "SELECT full_name, learner_id::text AS learner_id FROM learners WHERE full_name = ANY($1)",
        [o.full_name for o in outcomes],
    )
    found: dict[str, list[str]] = {}
    for row in learners:
        found.setdefault(row["full_name"], []).append(row["learner_id"])
    for o in outcomes:
        want = [o.learner_id] if o.accepted else []
        if found.get(o.full_name, []) != want:
            problems.append(
                f"{o.full_name} (told {o.status}): enrollment has {found.get(o.full_name)}"
            )
    event_ids = await registered_events(
        database_urls["enrollment"], {o.learner_id for o in accepted}
    )
    for o in accepted:
        if len(event_ids.get(o.learner_id or "", [])) != 1:
            problems.append(f"{o.full_name}: {event_ids.get(o.learner_id or '')} events")
    expected = {e for ids in event_ids.values() for e in ids}
    problems += await stream_holds_each_once(database_urls["enrollment"], js)
    for spec in consumers():
        if LearnerRegistered in spec.consumes and spec.name not in WITHOUT_INBOX:
            seen = await rows(
                database_urls[spec.name],
                "SELECT event_id::text AS event_id FROM inbox WHERE event_id = ANY($1::uuid[])",
                list(expected),
            )
            counted = Counter(r["event_id"] for r in seen)
            missing = expected - set(counted)
            doubled = [e for e, n in counted.items() if n != 1]
            if missing or doubled:
                problems.append(f"{spec.name}: {len(missing)} missing, {len(doubled)} doubled")
    problems += await reporting_counts_each_once(
        database_urls, {o.learner_id or "" for o in accepted}, reporting_url, admin
    )
    return {
        "ok": not problems,
        "problems": problems[:50],
        "accepted": len(accepted),
        "refused": len(outcomes) - len(accepted),
        "events": len(expected),
    }


async def registered_events(
    database_url: str, learner_ids: set[str | None]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in await rows(
        database_url,
        "SELECT event_id::text AS event_id, payload FROM outbox WHERE event_type = $1",
        REGISTERED,
    ):
        learner_id = json.loads(bytes(row["payload"]))["data"]["learner_id"]
        if learner_id in learner_ids:
            found.setdefault(learner_id, []).append(row["event_id"])
    return found


async def stream_holds_each_once(database_url: str, js: Any) -> list[str]:
    (row,) = await rows(
        database_url, "SELECT count(*) AS n FROM outbox WHERE event_type = $1", REGISTERED
    )
    info = await js.stream_info(STREAM, subjects_filter=f"{REGISTERED}.>")
    stored = sum((info.state.subjects or {}).values())
    return [] if stored == row["n"] else [f"stream holds {stored} registrations, outbox {row['n']}"]


async def reporting_counts_each_once(
    database_urls: dict[str, str], learner_ids: set[str], reporting_url: str, admin: dict[str, str]
) -> list[str]:
    problems = []
    shown = await rows(
        database_urls["reporting"],
        "SELECT learner_id::text AS learner_id FROM learners "
        "WHERE registered AND learner_id = ANY($1::uuid[])",
        list(learner_ids),
    )
    if missing := learner_ids - {r["learner_id"] for r in shown}:
        problems.append(f"reporting: {len(missing)} accepted learners missing")
    (total,) = await rows(database_urls["enrollment"], "SELECT count(*) AS n FROM learners")
    async with httpx.AsyncClient(timeout=30) as http:
        national = (await http.get(f"{reporting_url}/v1/reports/national", headers=admin)).json()
    counted = national["totals"]["registered"]
    if counted != total["n"]:
        problems.append(f"reporting counts {counted} registered, enrollment has {total['n']}")
    return problems


async def applied_everywhere(database_urls: dict[str, str], learner_id: str) -> bool:
    """Has every consumer of the event applied this learner's registration?"""
    events = (await registered_events(database_urls["enrollment"], {learner_id})).get(learner_id)
    if not events:
        return False
    for spec in consumers():
        if LearnerRegistered not in spec.consumes:
            continue
        if spec.name in WITHOUT_INBOX:
            query = "SELECT 1 FROM learners WHERE registered AND learner_id = $1::uuid"
            found = await rows(database_urls[spec.name], query, learner_id)
        else:
            query = "SELECT 1 FROM inbox WHERE event_id = $1::uuid"
            found = await rows(database_urls[spec.name], query, events[0])
        if not found:
            return False
    return True
