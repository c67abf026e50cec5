"""The one list of services holds together: unique names and ports, every event published by
exactly one service (the one its type names), nothing consumed that nobody publishes."""

import re
from pathlib import Path

import pytest

from lms_contracts import (
    EVENT_TYPES,
    CertificateIssued,
    CoursePublished,
    LearnerContactChanged,
    LearnerContactsViewed,
)
from servicekit.registry import (
    NAMES,
    SERVICES,
    ServiceSpec,
    UnknownService,
    consumers,
    producers,
    publisher_of,
    service,
)


def test_names_and_ports_are_unique() -> None:
    assert len(set(NAMES)) == len(NAMES) == len(SERVICES)
    ports = [spec.port for spec in SERVICES]
    assert len(set(ports)) == len(ports)


def test_a_name_serves_as_package_database_and_kubernetes_name_alike() -> None:
    for spec in SERVICES:
        assert re.fullmatch(r"[a-z][a-z0-9]*", spec.name), spec.name
        assert spec.package == spec.database == spec.name
        assert spec.project == f"lms-{spec.name}"


def test_every_event_is_published_by_exactly_one_service_the_one_its_type_names() -> None:
    for event_type, event in EVENT_TYPES.items():
        publishers = [spec.name for spec in SERVICES if event in spec.publishes]
        assert publishers == [event.producer], event_type
        assert event_type.split(".")[1] == event.producer
        assert publisher_of(event).name == event.producer


def test_every_consumed_event_is_published_by_someone_and_consumed_once_per_service() -> None:
    for spec in SERVICES:
        assert len(set(spec.consumes)) == len(spec.consumes), spec.name
        for event in spec.consumes:
            assert event in EVENT_TYPES.values()
            assert publisher_of(event) is not spec, f"{spec.name} consumes its own {event}"


def test_producers_publish_only_in_their_own_namespace() -> None:
    assert {spec.name for spec in producers()} == {e.producer for e in EVENT_TYPES.values()}
    for spec in SERVICES:
        assert spec.produces == bool(spec.publishes)
        assert spec.publish_subjects == ((f"lms.{spec.name}.>",) if spec.produces else ())


def test_consumers_are_the_services_that_consume_something() -> None:
    assert consumers() == tuple(spec for spec in SERVICES if spec.consumes)


def test_the_private_contact_event_reaches_notification_and_reporting_only() -> None:
    """ADR 5, ADR 22: contact details are for messages and the region's supervisors (each
    read logged by reporting), never for regional systems."""
    assert [spec.name for spec in SERVICES if LearnerContactChanged in spec.consumes] == [
        "notification",
        "reporting",
    ]
    assert {CertificateIssued, CoursePublished} <= set(service("reporting").consumes)


def test_reads_of_contact_details_reach_the_access_log_only() -> None:
    """ADR 22: enrollment publishes who was shown whose contact; reporting alone logs it."""
    assert [spec.name for spec in SERVICES if LearnerContactsViewed in spec.consumes] == [
        "reporting"
    ]
    assert LearnerContactsViewed in service("enrollment").publishes


def test_an_unknown_service_is_refused_with_the_list_of_services() -> None:
    with pytest.raises(UnknownService) as refused:
        service("payroll")
    assert str(refused.value) == f"unknown service 'payroll'; one of {', '.join(NAMES)}"


def test_commands_of_a_service_are_optional_but_a_broken_module_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for package, files in {
        "withcli": {"cli.py": "app = 'commands'\n"},
        "nocli": {},
        "brokencli": {"cli.py": "import a_module_nobody_installed\n"},
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        for name, text in files.items():
            (tmp_path / package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    with_cli = ServiceSpec("withcli", 1, "t").cli()
    assert with_cli is not None and with_cli.app == "commands"
    assert ServiceSpec("nocli", 2, "t").cli() is None
    with pytest.raises(ModuleNotFoundError):
        ServiceSpec("brokencli", 3, "t").cli()
