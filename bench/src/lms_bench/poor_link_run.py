"""``lms bench poor-link``: the 2G learner's journey (``poor_link.py``) on its own stack, and
the bytes and round trips per learner against the course's content size."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lms_cli.stack import LocalStack
from servicekit.registry import NAMES

from .poor_link import Journey, ride
from .run import free_port
from .village_course import Course

GOAL = 1.2


@dataclass
class PoorLinkResults:
    course: Course
    journeys: list[Journey]

    @property
    def worst_ratio(self) -> float:
        return max(j.ratio for j in self.journeys)

    @property
    def ok(self) -> bool:
        return self.worst_ratio <= GOAL and all(
            j.bytes_received_twice == 0 and j.package_digest_ok for j in self.journeys
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "goal_ratio": GOAL,
            "learners": [
                {
                    "content_bytes": j.content_bytes,
                    "package_bytes": j.package_bytes,
                    "bytes_up": j.traffic.up,
                    "bytes_down": j.traffic.down,
                    "ratio": round(j.ratio, 3),
                    "round_trips": j.traffic.round_trips,
                    "cut_at": j.cuts,
                    "bytes_received_twice": j.bytes_received_twice,
                    "steps": j.traffic.steps,
                }
                for j in self.journeys
            ],
        }

    def markdown(self) -> str:
        lines = [
            f"# A learner on a poor link ({len(self.journeys)} learners, one course)",
            "",
            "| learner | content (floor) | package | up | down | total / content | round trips"
            " | cuts | bytes received twice |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n, j in enumerate(self.journeys, 1):
            lines.append(
                f"| {n} | {j.content_bytes:,} | {j.package_bytes:,} | {j.traffic.up:,} "
                f"| {j.traffic.down:,} | {j.ratio:.3f} | {j.traffic.round_trips} "
                f"| {len(j.cuts)} | {j.bytes_received_twice} |"
            )
        first = self.journeys[0]
        lines += ["", "Learner 1 by step (round trips, bytes up, bytes down):", ""]
        lines += [f"- {step}: {t}, {u:,}, {d:,}" for step, (t, u, d) in first.traffic.steps.items()]
        met = "met" if self.ok else "NOT met"
        lines += ["", f"Goal: total <= {GOAL} x content, no byte received twice: {met}."]
        return "\n".join(lines)


async def run(learners: int = 3, seed: int = 2026) -> PoorLinkResults:
    ports = {name: free_port() for name in NAMES}
    stack = LocalStack(ports=ports, external=False)
    await asyncio.to_thread(stack.__enter__)
    try:
        course, journeys = await ride(stack.urls, learners, seed)
    finally:
        await asyncio.to_thread(stack.__exit__, None, None, None)
    return PoorLinkResults(course, journeys)


def write(results: PoorLinkResults, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "poor-link.md").write_text(results.markdown() + "\n")
    (out / "poor-link.json").write_text(json.dumps(results.to_json(), indent=2))
