"""`lms up --cluster`'s addresses: two processes of every service, each on a port of its own."""

from lms_cli.stack import LocalStack, instance_names, stack_ports
from servicekit.registry import NAMES, SERVICES


def test_the_light_stack_keeps_the_registered_ports() -> None:
    assert stack_ports(8001, 1) == {spec.name: spec.port for spec in SERVICES}


def test_a_second_replica_listens_ten_ports_above_the_first() -> None:
    ports = stack_ports(8001, 2)

    assert ports["enrollment-1"] == 8001 and ports["enrollment-2"] == 8011
    assert ports["webhooks-1"] == 8006 and ports["webhooks-2"] == 8016
    assert len(set(ports.values())) == len(ports) == 2 * len(NAMES)


def test_every_service_is_printed_once_with_both_replicas() -> None:
    stack = LocalStack(ports=stack_ports(9001, 2), cluster=True)
    try:
        urls = stack.replica_urls
        assert list(urls) == list(NAMES)
        assert urls["reporting"] == ["http://127.0.0.1:9005", "http://127.0.0.1:9015"]
        assert stack.urls["reporting"] == "http://127.0.0.1:9005"
        assert stack.instances("reporting") == instance_names("reporting", 2)
        assert stack.instances("reporting-2") == ["reporting-2"]
        assert stack.service_of("reporting-2") == "reporting"
    finally:
        stack.run_dir.rmdir()
