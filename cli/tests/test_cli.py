"""The lms command against a real nats-server."""

import asyncio

import nats
import pytest
from typer.testing import CliRunner

from lms_cli.import_rules import config, contracts
from lms_cli.main import app, outbox_table
from servicekit.auth import TokenVerifier
from servicekit.registry import NAMES, producers, service
from servicekit.registry import consumers as registered_consumers
from servicekit.settings import ServiceSettings
from servicekit.topology import DLQ_STREAM, STREAM

runner = CliRunner()


@pytest.mark.integration
def test_topology_apply_creates_then_updates_and_is_safe_to_repeat(nats_url: str) -> None:
    first = runner.invoke(app, ["topology", "apply"], env={"NATS_URL": nats_url})
    second = runner.invoke(
        app, ["topology", "apply", "--replicas", "1"], env={"NATS_URL": nats_url}
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"created {STREAM}" in " ".join(first.output.split())
    assert f"updated {STREAM}/reporting" in " ".join(second.output.split())

    async def inspect() -> tuple[set[str], int]:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        consumers = {c.name for c in await js.consumers_info(STREAM)}
        dlq = (await js.stream_info(DLQ_STREAM)).config.max_age
        await nc.close()
        return consumers, int(dlq or 0)

    consumers, dlq_age = asyncio.run(inspect())
    assert consumers == {spec.name for spec in registered_consumers()}
    assert dlq_age > 0


@pytest.mark.integration
def test_dead_letters_list_shows_an_empty_store(nats_url: str) -> None:
    runner.invoke(app, ["topology", "apply"], env={"NATS_URL": nats_url})
    result = runner.invoke(app, ["dead-letters", "list"], env={"NATS_URL": nats_url})
    assert result.exit_code == 0, result.output
    assert "sequence" in result.output


async def test_minted_development_token_carries_role_region_and_learner() -> None:
    result = runner.invoke(app, ["token", "--role", "supervisor", "--region", "74.01"])
    assert result.exit_code == 0, result.output
    principal = await TokenVerifier(ServiceSettings()).verify(result.output.strip())
    assert {r.value for r in principal.roles} == {"supervisor"}
    assert principal.region_code == "74.01"
    assert principal.covers_region("74.01.01.2006")
    assert not principal.covers_region("32.01.01.2001")


def test_production_settings_refuse_the_development_signing_key() -> None:
    with pytest.raises(ValueError, match="AUTH_JWKS_URL"):
        ServiceSettings(environment="prod")
    with pytest.raises(ValueError, match="CURSOR_SIGNING_KEY"):
        ServiceSettings(environment="prod", auth_jwks_url="https://id.example/jwks")
    settings = ServiceSettings(
        environment="prod",
        auth_jwks_url="https://id.example/jwks",
        cursor_signing_key="a-production-cursor-key-of-some-length-0000",
    )
    assert settings.auth_dev_signing_key is None


def test_an_unknown_service_is_refused_with_the_list_of_services() -> None:
    result = runner.invoke(
        app, ["migrate", "payroll"], env={"DATABASE_URL": "postgresql+asyncpg://x@/y"}
    )
    assert result.exit_code != 0
    assert "enrollment" in result.output


def test_services_lists_every_registered_service_and_the_producers_among_them() -> None:
    listed = runner.invoke(app, ["services"])
    producing = runner.invoke(app, ["services", "--producing"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.split() == list(NAMES)
    assert producing.output.split() == [spec.name for spec in producers()]


def test_import_rules_cover_every_registered_service_and_its_domain() -> None:
    rules = {contract.key: contract.options for contract in contracts()}
    assert rules["services-independent"]["modules"] == NAMES
    assert rules["plumbing-knows-no-service"]["forbidden_modules"] == NAMES
    assert rules["domain-is-plain-python"]["source_modules"] == tuple(
        f"{name}.domain" for name in NAMES
    )
    assert all(f"\n    {name}\n" in config() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_outbox_republish_finds_each_services_outbox_without_building_the_service(
    name: str,
) -> None:
    assert outbox_table(service(name)).name == "outbox"


def test_a_local_stack_links_certificates_to_its_own_enrollment_port(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from lms_cli.stack import LocalStack

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    ports = {name: 9100 + n for n, name in enumerate(NAMES)}
    stack = LocalStack(ports=ports, host="0.0.0.0")
    shutil.rmtree(stack.run_dir)
    assert stack.service_env["PUBLIC_BASE_URL"] == f"http://127.0.0.1:{ports['enrollment']}"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://lms.example.go.id")
    behind_a_gateway = LocalStack(ports=ports)
    shutil.rmtree(behind_a_gateway.run_dir)
    assert behind_a_gateway.service_env["PUBLIC_BASE_URL"] == "https://lms.example.go.id"
