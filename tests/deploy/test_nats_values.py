"""deploy/nats/values.yaml (official NATS Helm chart) keeps JetStream durable and its users in
step with the ones the code generates (servicekit.natsauth)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from servicekit.natsauth import ADMIN, admin_user, service_user
from servicekit.registry import NAMES

ROOT = Path(__file__).resolve().parents[2]


def values() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "nats" / "values.yaml").read_text())


def test_jetstream_is_clustered_fsynced_and_on_persistent_volumes() -> None:
    config = values()["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert (
        jetstream["fileStore"]["enabled"] is True
        and jetstream["fileStore"]["pvc"]["enabled"] is True
    )
    assert jetstream["merge"]["sync_interval"] == "always"


def test_server_version_is_pinned_to_2_11_or_later() -> None:
    tag = values()["container"]["image"]["tag"]
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(-[a-z0-9]+)?", tag)
    assert match, f"pin an exact version, not {tag!r}"
    assert (int(match[1]), int(match[2])) >= (2, 11)


def test_prod_streams_are_replicated_on_every_server() -> None:
    env = (ROOT / "deploy" / "k8s" / "overlays" / "prod" / "config.env").read_text()
    assert re.search(r"^JETSTREAM_REPLICAS=3$", env, re.M)
    assert values()["config"]["cluster"]["replicas"] == 3


def test_users_match_the_generated_permissions() -> None:
    users = {u["user"]: u for u in values()["config"]["merge"]["accounts"]["LMS"]["users"]}
    expected = [admin_user("-")] + [service_user(name, "-") for name in NAMES]
    assert set(users) == {u.name for u in expected}
    for user in expected:
        permissions = users[user.name]["permissions"]
        assert permissions["publish"]["allow"] == list(user.publish), user.name
        assert permissions["subscribe"]["allow"] == list(user.subscribe), user.name
    assert ADMIN in users


def test_every_password_comes_from_its_secret() -> None:
    data = values()
    env = data["container"]["env"]
    accounts = data["config"]["merge"]["accounts"]
    for account in accounts.values():
        for user in account["users"]:
            variable = re.fullmatch(r"<< \$(\w+) >>", user["password"])
            assert variable, f"{user['user']}: password must be an environment reference"
            ref = env[variable[1]]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"lms-nats-{user['user']}", "key": "password"}


def test_the_lms_account_bounds_every_consumer_as_the_code_does() -> None:
    from servicekit.natsauth import account_limits
    from servicekit.topology import TopologySettings

    lms = values()["config"]["merge"]["accounts"]["LMS"]
    assert lms["jetstream"] == account_limits(TopologySettings().max_ack_pending)


def test_server_version_resets_consumers() -> None:
    """Regional subscribers replay by resetting their consumer (nats-server 2.14+)."""
    tag = values()["container"]["image"]["tag"]
    major, minor = (int(part) for part in tag.split(".")[:2])
    assert (major, minor) >= (2, 14)
