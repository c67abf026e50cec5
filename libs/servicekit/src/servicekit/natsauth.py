"""NATS identities: each service may publish only its own subjects and read only its own
durable consumer; a regional system may create and replay its own durable consumers, filtered
to its province or regency's learner events and the course catalog, and nothing else.

Every user has a private inbox prefix, so no one can subscribe to replies (including pulled
messages) meant for someone else.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lms_contracts import CoursePublished, catalog_consumer, regional_consumer, regional_filter

from .registry import SERVICES, service
from .topology import DLQ_SUBJECT_PREFIX, STREAM, TopologySettings

ADMIN = "admin"
CATALOG_SUBJECT = CoursePublished.event_type


@dataclass(frozen=True)
class NatsUser:
    name: str
    password: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.name)


def inbox_prefix(user: str) -> str:
    return f"_INBOX_{user}"


def regional_user_name(region_code: str) -> str:
    return regional_consumer(region_code)


def regional_consumers(region_code: str) -> tuple[str, str]:
    """Durable consumer names a regional system may use: its learner events, the catalog
    (named by the contracts, which the subscriber kit uses too)."""
    return regional_consumer(region_code), catalog_consumer(region_code)


def _consumer_api(consumer: str) -> list[str]:
    return [
        f"$JS.API.CONSUMER.INFO.{STREAM}.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{consumer}",
        f"$JS.ACK.{STREAM}.{consumer}.>",
    ]


def service_user(name: str, password: str) -> NatsUser:
    """What the registry says the service does: publish its own events, read its durable
    consumer, dead-letter to its own subject."""
    spec = service(name)
    publish = ["$JS.API.INFO", f"$JS.API.STREAM.INFO.{STREAM}", f"{DLQ_SUBJECT_PREFIX}.{name}"]
    publish += spec.publish_subjects
    if spec.consumes:
        publish += _consumer_api(name)
    return NatsUser(name, password, tuple(publish), (f"{inbox_prefix(name)}.>",))


def regional_user(region_code: str, password: str) -> NatsUser:
    """Its own two consumers only: create (the filter is part of the create subject, so the
    server enforces it), read, acknowledge, reset to replay. No stream information (it would
    list every village's subjects), and no delete: the operator's topology creates the
    consumers as bounded pull consumers, and the server refuses to turn an existing pull
    consumer into a push consumer or change its storage."""
    learner_events, catalog = regional_consumers(region_code)
    publish = [
        "$JS.API.INFO",
        f"$JS.API.CONSUMER.CREATE.{STREAM}.{learner_events}.{regional_filter(region_code)}",
        f"$JS.API.CONSUMER.CREATE.{STREAM}.{catalog}.{CATALOG_SUBJECT}",
    ]
    for consumer in (learner_events, catalog):
        publish += [*_consumer_api(consumer), f"$JS.API.CONSUMER.RESET.{STREAM}.{consumer}"]
    name = regional_user_name(region_code)
    return NatsUser(name, password, tuple(publish), (f"{inbox_prefix(name)}.>",))


def admin_user(password: str) -> NatsUser:
    return NatsUser(ADMIN, password, (">",), (">",))


def all_users(passwords: Mapping[str, str], regions: Sequence[str] = ()) -> list[NatsUser]:
    users = [admin_user(passwords[ADMIN])]
    users += [service_user(s.name, passwords[s.name]) for s in SERVICES]
    users += [regional_user(r, passwords[regional_user_name(r)]) for r in regions]
    return users


def generate_passwords(regions: Sequence[str] = ()) -> dict[str, str]:
    names = [ADMIN, *(s.name for s in SERVICES), *map(regional_user_name, regions)]
    return {name: secrets.token_urlsafe(24) for name in names}


def account_limits(max_ack_pending: int) -> dict[str, int]:
    """JetStream limits of the LMS account: no consumer may hold more unacknowledged messages
    than the services' own (TopologySettings.max_ack_pending)."""
    return {
        "max_mem": -1,
        "max_file": -1,
        "max_streams": -1,
        "max_consumers": -1,
        "max_ack_pending": max_ack_pending,
    }


def server_config(users: Sequence[NatsUser]) -> str:
    """An `accounts` block for nats-server with JetStream enabled for the LMS account."""
    entries = []
    for user in users:
        permissions = {
            "publish": {"allow": list(user.publish)},
            "subscribe": {"allow": list(user.subscribe)},
        }
        # nats-server's configuration format accepts JSON values
        entries.append(
            "      "
            + json.dumps({"user": user.name, "password": user.password, "permissions": permissions})
        )
    users_block = "\n".join(entries)
    limits = json.dumps(account_limits(TopologySettings().max_ack_pending))
    return f"accounts {{\n  LMS {{\n    jetstream: {limits}\n    users: [\n{users_block}\n    ]\n  }}\n}}\n"
