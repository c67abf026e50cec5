"""Benchmark results: a JSON file, a Markdown table and a PNG chart of the run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Ratio:
    name: str
    measured: float
    baseline: float
    goal: float  # the ratio must be at least this (or at most, for "lower is better")
    lower_is_better: bool = False
    unit: str = "/s"

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else 0.0

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal if self.lower_is_better else self.ratio >= self.goal

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": self.measured,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "goal": self.goal,
            "lower_is_better": self.lower_is_better,
            "met": self.met,
        }


@dataclass
class Results:
    size: str
    seed: int
    ceilings: dict[str, float] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    peak_memory_mb: dict[str, float] = field(default_factory=dict)
    timeline: list[dict[str, float]] = field(default_factory=list)
    reconciliation: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "seed": self.seed,
            "ceilings": self.ceilings,
            "measurements": self.measurements,
            "ratios": [r.to_json() for r in self.ratios],
            "peak_memory_mb": self.peak_memory_mb,
            "timeline": self.timeline,
            "reconciliation": self.reconciliation,
        }

    def markdown(self) -> str:
        lines = [
            f"# Benchmark ({self.size}, seed {self.seed})",
            "",
            "| measure | value | baseline (same run) | ratio | goal | met |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.ratios:
            goal = f"<= {r.goal:g}" if r.lower_is_better else f">= {r.goal:g}"
            lines.append(
                f"| {r.name} | {r.measured:,.1f}{r.unit} | {r.baseline:,.1f}{r.unit} | "
                f"{r.ratio:.2f} | {goal} | {'yes' if r.met else 'NO'} |"
            )
        lines += ["", "| ceiling | value |", "|---|---|"]
        lines += [f"| {k} | {v:,.0f} |" for k, v in self.ceilings.items()]
        lines += ["", "| measurement | value |", "|---|---|"]
        lines += [
            f"| {k} | {v if not isinstance(v, float) else round(v, 3)} |"
            for k, v in self.measurements.items()
        ]
        if self.peak_memory_mb:
            lines += ["", "| service | peak RSS (MB) | under 200 MB |", "|---|---|---|"]
            lines += [
                f"| {k} | {v:.0f} | {'yes' if v < 200 else 'NO'} |"
                for k, v in self.peak_memory_mb.items()
            ]
        if not self.reconciliation:
            return "\n".join(lines) + "\n"
        lines += [
            "",
            f"Reconciliation: **{'exact' if self.reconciliation.get('ok') else 'MISMATCH'}**",
        ]
        for problem in self.reconciliation.get("problems", [])[:20]:
            lines.append(f"- {problem}")
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "results.json").write_text(json.dumps(self.to_json(), indent=2, default=str))
        (directory / "results.md").write_text(self.markdown())
        self.chart(directory / "timeline.png")

    def chart(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
        t = [point["t"] for point in self.timeline]
        top.plot(
            t,
            [p.get("events_per_s", 0) for p in self.timeline],
            label="events applied by reporting /s",
        )
        top.plot(t, [p.get("requests_per_s", 0) for p in self.timeline], label="HTTP requests /s")
        top.set_ylabel("throughput")
        top.legend(loc="upper right")
        bottom.plot(t, [p.get("p50_ms", 0) for p in self.timeline], label="p50")
        bottom.plot(t, [p.get("p95_ms", 0) for p in self.timeline], label="p95")
        bottom.set_ylabel("HTTP latency (ms)")
        bottom.set_xlabel("seconds into the run")
        bottom.legend(loc="upper right")
        figure.suptitle(f"LMS Pamong Desa benchmark: {self.size}")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
