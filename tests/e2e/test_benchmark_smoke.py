"""The smoke-sized national rollout: after the run, reconciliation proves no event was lost or
applied twice (speed is measured and reported, not asserted here)."""

import json
from pathlib import Path

import pytest

from lms_bench.run import benchmark
from servicekit.registry import NAMES

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def test_a_smoke_rollout_reconciles_exactly_and_writes_its_results(tmp_path: Path) -> None:
    results = await benchmark("smoke", 2026, tmp_path)
    assert results.reconciliation["problems"] == []
    assert results.reconciliation["ok"] is True
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["reconciliation"]["expected"] == written["reconciliation"]["shown"]
    assert {r["name"] for r in written["ratios"]} >= {"POST /v1/progress vs bare FastAPI endpoint"}
    kit = [r for r in written["ratios"] if r["name"].startswith("subscriber kit")]
    assert len(kit) == 2 and all(r["measured"] > 0 and r["baseline"] > 0 for r in kit)
    assert written["measurements"]["subscriber_kit_events"] > 0
    bridge = next(r for r in written["ratios"] if r["name"].startswith("webhook bridge"))
    assert bridge["measured"] > 0 and bridge["baseline"] > 0
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark (smoke")
    assert (tmp_path / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert set(written["peak_memory_mb"]) == set(NAMES)


async def test_reporting_at_scale_projects_exactly_what_was_published(tmp_path: Path) -> None:
    from lms_bench.reporting_scale import Scale, run

    results = await run(Scale(learners=400, lessons=3))
    assert results.reconciliation["ok"] is True, results.reconciliation
    assert results.measurements["events_published"] == 1 + 2 * 400 + 400 * 3
    assert set(results.latency_ms) == {"national", "province", "regency", "district", "village"}
    assert [r.name.split(" (")[0] for r in results.ratios] == [
        "reporting consumer vs raw JetStream consume",
        "region report latency at 100% vs 1% of lessons, vacuumed",
    ]
    assert all(r.measured > 0 and r.baseline > 0 for r in results.ratios)
    assert results.measurements["reporting_consumer_setup_per_s"] > 0
    assert "Over the registrations, enrollments and first 1% of lessons" in results.markdown()
