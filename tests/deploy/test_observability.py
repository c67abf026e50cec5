"""The alert rules and the Grafana dashboard in deploy/ are sound offline: they render with
the manifests, every query parses as PromQL, every alert says how bad it is and names its
section of the runbook (docs/operations.md), and every metric a query reads is one the
services export, as scraped from a running service's /metrics."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from nats.js import JetStreamContext

from servicekit.testing.services import RunningService, running_service

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "k8s" / "components" / "monitoring"
RUNBOOK = ROOT / "docs" / "operations.md"
# Prometheus' own series about its targets
PROMETHEUS_SERIES = {"up"}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "dashboards" / "lms.json").read_text())


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def queries() -> list[str]:
    return [rule["expr"] for rule in rules()] + dashboard_queries()


def selectors(node: Any) -> Iterator[str]:
    """The metric names a parsed PromQL expression reads."""
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        return
    for attribute in ("expr", "lhs", "rhs", "args", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        children = child if isinstance(child, list | tuple) else [child]
        for found in children:
            if found is not None and type(found).__module__.startswith("promql_parser"):
                yield from selectors(found)


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section_that_exists() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    }
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        runbook = rule["annotations"]["runbook"]
        path, _, anchor = runbook.partition("#")
        assert path == "docs/operations.md" and anchor in anchors, runbook
        assert anchor == rule["alert"].lower(), "each alert has a section of its own name"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_the_alerts_cover_lag_outbox_dead_letters_5xx_and_readiness() -> None:
    used = {name for query in (r["expr"] for r in rules()) for name in read_by(query)}
    assert {
        "lms_consumer_pending_messages",
        "lms_outbox_oldest_unsent_age_seconds",
        "lms_dead_letters_total",
        "lms_http_request_seconds_count",
        "lms_check_ok",
        "lms_nats_connected",
        "lms_consumer_running",
    } <= used


def read_by(query: str) -> set[str]:
    return set(selectors(promql_parser.parse(query)))


@pytest.mark.parametrize("query", queries())
def test_every_query_parses_as_promql(query: str) -> None:
    assert read_by(query), f"reads no metric: {query}"


def test_the_dashboard_is_a_grafana_dashboard_with_one_id_per_panel() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["type"] in ("timeseries", "stat", "table")
        assert panel["datasource"]["type"] == "prometheus"
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
    variables = {v["name"] for v in board["templating"]["list"]}
    for query in dashboard_queries():
        assert set(re.findall(r"\$(\w+)", query)) <= variables


def exported(exposition: str) -> set[str]:
    """Every series name a /metrics page can hold, from its TYPE lines (a labelled metric
    nobody has counted yet has no sample, but is declared)."""
    names = set()
    for declared, kind in re.findall(r"^# TYPE (\w+) (\w+)$", exposition, flags=re.MULTILINE):
        # a counter is declared with its _total or without, depending on the format
        family = declared.removesuffix("_total") if kind == "counter" else declared
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"),
        }.get(kind, ("",))
        names.update(family + suffix for suffix in suffixes)
    return names


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


@pytest.mark.integration
async def test_every_metric_the_rules_and_dashboard_read_is_exported_by_the_services(
    enrollment: RunningService,
) -> None:
    scraped = await enrollment.client.get("/metrics")
    assert scraped.status_code == 200
    available = exported(scraped.text) | PROMETHEUS_SERIES
    used = {name for query in queries() for name in read_by(query)}
    assert used - available == set()
    # and the jobs' gauges are there with a value before any job ran (alerts need the series)
    assert 'lms_jobs_active{kind="bulk_enrollment"} 0.0' in scraped.text
    assert 'lms_check_ok{check="database"} 1.0' in scraped.text
