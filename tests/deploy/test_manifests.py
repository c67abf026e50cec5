"""The Kubernetes manifests render with kustomize, pass the Kubernetes schemas, and keep what
operators rely on for every service in every overlay: probes, requests and limits, a restricted
security context, graceful shutdown, a PodDisruptionBudget, an autoscaler and a NetworkPolicy,
no committed secret, no floating image tag.

Offline: `kubectl kustomize` renders, `kubernetes-validate` checks core kinds against the
bundled OpenAPI schemas; custom resources (CloudNativePG, Barman Cloud, Prometheus Operator)
have no schema there, so their required fields are checked here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from lms_cli.generated import BLOCKS, stale
from servicekit.registry import NAMES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
COMPONENTS = sorted(p.name for p in (K8S / "components").iterdir() if p.is_dir())

# The oldest Kubernetes we support and the newest schemas kubernetes-validate ships.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CUSTOM_API_GROUPS = {"postgresql.cnpg.io", "barmancloud.cnpg.io", "monitoring.coreos.com"}
HTTP_PORT = 8080
Obj = dict[str, Any]


def kubectl() -> str:
    found = shutil.which("kubectl") or (
        "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
    )
    if found is None:
        pytest.fail(
            "kubectl is not installed: the deploy tests need `kubectl kustomize` to render the "
            "manifests (install kubectl >= 1.27, e.g. the distribution's kubectl package)"
        )
    return found


def kustomize(path: Path) -> list[Obj]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize {path} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@cache
def render(overlay: str) -> tuple[Obj, ...]:
    return tuple(kustomize(K8S / "overlays" / overlay))


def objects(overlay: str, kind: str) -> list[Obj]:
    return [o for o in render(overlay) if o["kind"] == kind]


def one(overlay: str, kind: str, name: str) -> Obj:
    found = [o for o in objects(overlay, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name}, found {len(found)}"
    return found[0]


def api_group(obj: Obj) -> str:
    return obj["apiVersion"].rpartition("/")[0]


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def pod_spec(workload: Obj) -> Obj:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Obj) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


# ---------------------------------------------------------------- rendering and schemas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_service(overlay: str) -> None:
    names = {o["metadata"]["name"] for o in objects(overlay, "Deployment")}
    assert names == set(NAMES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_are_valid_against_the_kubernetes_schema_strictly(overlay: str) -> None:
    errors = []
    for obj in render(overlay):
        if api_group(obj) in CUSTOM_API_GROUPS:
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = "/".join(map(str, e.absolute_path))
                errors.append(
                    f"{obj['kind']}/{obj['metadata']['name']} ({version}) {path}: {e.message}"
                )
            except kubernetes_validate.SchemaNotFoundError as e:
                errors.append(e.message)
    assert errors == []


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_optional_component_renders_with_the_base(component: str, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # kustomize takes relative paths only
                "resources": [os.path.relpath(K8S / "base", tmp_path)],
                "components": [os.path.relpath(K8S / "components" / component, tmp_path)],
            }
        )
    )
    rendered = kustomize(tmp_path)
    for obj in rendered:
        if api_group(obj) not in CUSTOM_API_GROUPS:
            kubernetes_validate.validate(obj, K8S_VERSIONS[-1], strict=True)
    check_custom_resources(rendered)


# ---------------------------------------------------------------- every registered service


def test_the_base_holds_a_folder_for_every_registered_service_and_no_other() -> None:
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    folders = [r for r in base["resources"] if (K8S / "base" / r).is_dir() and r != "service"]
    assert folders == list(NAMES)
    accounts = {
        path.parent.name: yaml.safe_load(path.read_text())
        for path in (K8S / "base").glob("*/serviceaccount.yaml")
    }
    assert set(accounts) == set(NAMES)
    for name, account in accounts.items():
        assert account["metadata"]["name"] == name, "the ServiceAccount names its folder"


def test_the_lists_of_services_in_the_deploy_files_are_generated_from_the_registry() -> None:
    assert {block.path for block in BLOCKS} >= {
        "deploy/k8s/base/kustomization.yaml",
        "deploy/k8s/base/postgres.yaml",
        "deploy/nats/values.yaml",
    }
    assert stale() == [], "a list of services is stale: run python -m lms_cli.generated"


# ---------------------------------------------------------------- custom resources


def check_custom_resources(rendered: list[Obj] | tuple[Obj, ...]) -> None:
    by_kind: dict[str, list[Obj]] = {}
    for obj in rendered:
        by_kind.setdefault(obj["kind"], []).append(obj)
    clusters = {c["metadata"]["name"]: c for c in by_kind.get("Cluster", [])}
    assert set(clusters) == {"lms-pg"}
    cluster = clusters["lms-pg"]["spec"]
    assert isinstance(cluster["instances"], int) and cluster["instances"] >= 1
    assert cluster["storage"]["size"]
    roles = {r["name"]: r for r in cluster["managed"]["roles"]}
    assert set(roles) == set(NAMES)
    for name, role in roles.items():
        assert role["login"] is True and role["ensure"] == "present"
        assert role["passwordSecret"]["name"] == f"lms-db-{name}"
    databases = {d["spec"]["name"]: d["spec"] for d in by_kind.get("Database", [])}
    assert set(databases) == set(NAMES), "one database per service"
    for name, spec in databases.items():
        assert spec["owner"] == name and spec["cluster"]["name"] in clusters
    for backup in by_kind.get("ScheduledBackup", []):
        spec = backup["spec"]
        assert spec["schedule"] and spec["cluster"]["name"] in clusters
        assert spec["method"] != "plugin" or spec["pluginConfiguration"]["name"]
    stores = {s["metadata"]["name"]: s for s in by_kind.get("ObjectStore", [])}
    for store in stores.values():
        assert store["spec"]["configuration"]["destinationPath"]
    for plugin in cluster.get("plugins", []):
        assert plugin["name"] and plugin["parameters"]["barmanObjectName"] in stores
    for monitor in by_kind.get("PodMonitor", []):
        assert monitor["spec"]["selector"] and monitor["spec"]["podMetricsEndpoints"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_have_their_required_fields(overlay: str) -> None:
    check_custom_resources(render(overlay))


# ---------------------------------------------------------------- every service, every overlay

CASES = [(overlay, service) for overlay in OVERLAYS for service in NAMES]


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_service_has_health_probes_resources_and_graceful_shutdown(
    overlay: str, service: str
) -> None:
    deployment = one(overlay, "Deployment", service)
    spec = pod_spec(deployment)
    [container] = spec["containers"]
    assert container["name"] == service
    assert container["args"][:2] == ["serve", service]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": HTTP_PORT}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("http", HTTP_PORT)
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound]), bound
    assert spec["terminationGracePeriodSeconds"] >= 30
    assert container["lifecycle"]["preStop"], "a preStop delay lets the endpoints drain"


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_service_runs_restricted_and_non_root(overlay: str, service: str) -> None:
    spec = pod_spec(one(overlay, "Deployment", service))
    [container] = spec["containers"]
    pod_sc, sc = spec["securityContext"], container["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and pod_sc.get("runAsUser", 1) != 0
    seccomp = sc.get("seccompProfile") or pod_sc.get("seccompProfile")
    assert seccomp == {"type": "RuntimeDefault"}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    assert sc["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in spec["volumes"]}
    tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp and "emptyDir" in volumes[tmp[0]["name"]]
    assert spec["automountServiceAccountToken"] is False
    assert one(overlay, "ServiceAccount", spec["serviceAccountName"])


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_service_has_a_service_a_pdb_and_an_autoscaler_targeting_it(
    overlay: str, service: str
) -> None:
    deployment = one(overlay, "Deployment", service)
    labels = pod_labels(deployment)
    assert labels["app.kubernetes.io/name"] == service
    assert selects(deployment["spec"]["selector"], labels)
    svc = one(overlay, "Service", service)
    assert selects({"matchLabels": svc["spec"]["selector"]}, labels)
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http"]
    pdbs = [
        p for p in objects(overlay, "PodDisruptionBudget") if selects(p["spec"]["selector"], labels)
    ]
    assert len(pdbs) == 1
    hpas = [
        h
        for h in objects(overlay, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]
        == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    ]
    assert len(hpas) == 1 and hpas[0]["apiVersion"] == "autoscaling/v2"
    assert 1 <= hpas[0]["spec"]["minReplicas"] <= hpas[0]["spec"]["maxReplicas"]


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_service_network_policy_allows_its_http_port_in_and_only_postgres_nats_dns_out(
    overlay: str, service: str
) -> None:
    labels = pod_labels(one(overlay, "Deployment", service))
    policies = [
        p for p in objects(overlay, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)
    ]
    own = one(overlay, "NetworkPolicy", service)
    assert own in policies and set(own["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert [p["port"] for p in rule["ports"]] == [HTTP_PORT], policy["metadata"]["name"]
    exits = {
        (p["port"], p.get("protocol", "TCP"))
        for rule in own["spec"]["egress"]
        for p in rule["ports"]
    }
    assert exits == {(5432, "TCP"), (4222, "TCP"), (53, "UDP"), (53, "TCP")}
    assert all(rule.get("to") for rule in own["spec"]["egress"]), "every exit names its peer"


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_service_reads_credentials_from_secrets_and_has_a_migration_job(
    overlay: str, service: str
) -> None:
    [container] = pod_spec(one(overlay, "Deployment", service))["containers"]
    job = one(overlay, "Job", f"migrate-{service}")
    [migrate] = pod_spec(job)["containers"]
    assert migrate["args"] == ["migrate", service]
    for c in (container, migrate):
        env = env_of(c)
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"lms-db-{service}"
        url = env["DATABASE_URL"]["value"]
        assert url.startswith("postgresql+asyncpg://$(DB_USER):$(DB_PASSWORD)@") and url.endswith(
            f"/{service}"
        )
    env = env_of(container)
    assert env["NATS_USER"]["value"] == service
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"lms-nats-{service}"


# ---------------------------------------------------------------- whole overlays


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_committed(overlay: str) -> None:
    secrets = objects(overlay, "Secret")
    assert [s["metadata"]["name"] for s in secrets if s.get("data") or s.get("stringData")] == []
    config = objects(overlay, "ConfigMap")
    for cm in config:
        for key in cm.get("data", {}):
            assert not any(word in key.upper() for word in ("PASSWORD", "SECRET", "TOKEN")), key


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_pinned(overlay: str) -> None:
    for workload in objects(overlay, "Deployment") + objects(overlay, "Job"):
        for container in pod_spec(workload)["containers"]:
            image = container["image"]
            repository_and_tag = image.rsplit("/", 1)[-1]
            tag = repository_and_tag.partition(":")[2]
            assert "@sha256:" in image or (tag and tag != "latest"), image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topology_job_applies_jetstream_as_admin(overlay: str) -> None:
    [container] = pod_spec(one(overlay, "Job", "jetstream-topology"))["containers"]
    assert container["args"] == ["topology", "apply"]
    env = env_of(container)
    assert env["NATS_USER"]["value"] == "admin"
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "lms-nats-admin"
    assert [e["configMapRef"]["name"] for e in container["envFrom"]] == [
        config(overlay)["metadata"]["name"]
    ]


PLATFORM = ("database", "config", "operations")  # applied first (docs/operations.md#install)
JOBS = ("migration", "topology")  # then these, before the rollout


def component(obj: Obj) -> str:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_install_phases_apply_what_the_jobs_need_before_the_jobs(overlay: str) -> None:
    assert all(component(o) for o in render(overlay)), "the install steps select by component"
    platform = {
        (o["kind"], o["metadata"]["name"]) for o in render(overlay) if component(o) in PLATFORM
    }
    jobs = [o for o in objects(overlay, "Job") if component(o) in JOBS]
    assert len(jobs) == len(NAMES) + 1
    for job in jobs:
        spec = pod_spec(job)
        assert ("ServiceAccount", spec["serviceAccountName"]) in platform
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in platform


def config(overlay: str) -> Obj:
    [cm] = [
        c for c in objects(overlay, "ConfigMap") if c["metadata"]["name"].startswith("lms-config")
    ]
    return cm


def test_dev_runs_one_replica_of_each_service() -> None:
    for hpa in objects("dev", "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1
    assert config("dev")["data"]["ENVIRONMENT"] == "dev"


def test_prod_keeps_two_replicas_one_available_and_r3_streams() -> None:
    for hpa in objects("prod", "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2
    for pdb in objects("prod", "PodDisruptionBudget"):
        assert pdb["spec"].get("minAvailable", 0) >= 1
    data = config("prod")["data"]
    assert data["ENVIRONMENT"] == "prod" and data["JETSTREAM_REPLICAS"] == "3"
    assert data["AUTH_JWKS_URL"].startswith("https://") and data["AUTH_ISSUER"]
    assert one("prod", "Cluster", "lms-pg")["spec"]["instances"] >= 3
