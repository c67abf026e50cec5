"""Each registered service's NATS user may do what the registry says the service does and
nothing more: publish in its own namespace if it publishes, read its own durable consumer if it
consumes, dead-letter to its own subject, listen on its own inbox."""

import pytest

from servicekit.natsauth import ADMIN, all_users, generate_passwords, service_user
from servicekit.registry import NAMES, SERVICES, service


def test_every_registered_service_has_a_user_and_a_password() -> None:
    passwords = generate_passwords(["74"])
    assert set(passwords) == {ADMIN, *NAMES, "region-74"}
    assert [u.name for u in all_users(passwords, ["74"])] == [ADMIN, *NAMES, "region-74"]


@pytest.mark.parametrize("name", NAMES)
def test_a_service_publishes_only_its_own_events_and_dead_letters(name: str) -> None:
    spec, user = service(name), service_user(name, "-")
    events = [s for s in user.publish if s.startswith("lms.")]
    assert events == ([f"lms.{name}.>"] if spec.produces else [])
    assert f"lmsdlq.{name}" in user.publish
    others = [other.name for other in SERVICES if other.name != name]
    assert not [s for s in user.publish for other in others if f".{other}" in s]


@pytest.mark.parametrize("name", NAMES)
def test_a_service_reads_its_own_consumer_only_if_it_consumes(name: str) -> None:
    spec, user = service(name), service_user(name, "-")
    reads = [s for s in user.publish if s.startswith(("$JS.API.CONSUMER.", "$JS.ACK."))]
    expected = (
        [
            f"$JS.API.CONSUMER.INFO.LMS.{name}",
            f"$JS.API.CONSUMER.MSG.NEXT.LMS.{name}",
            f"$JS.ACK.LMS.{name}.>",
        ]
        if spec.consumes
        else []
    )
    assert reads == expected
    assert user.subscribe == (f"_INBOX_{name}.>",)
