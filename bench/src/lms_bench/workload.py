"""A deterministic, seeded plan of a national rollout, and what it implies.

Learners are placed in real villages, provinces weighted by their population, positions in
the proportions of a village government (one kepala desa and one sekretaris desa, three kaur,
three kasi, kepala dusun and BPD members). Each learner is enrolled by a bulk job of their
province, may take the pre-test, completes some or all lessons (some offline and synced late,
some sent twice), and those who finish every lesson take the post-test and pass or fail.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from servicekit import regions

POSITION_WEIGHTS = {
    "kepala_desa": 1,
    "sekretaris_desa": 1,
    "kaur_tata_usaha_umum": 1,
    "kaur_keuangan": 1,
    "kaur_perencanaan": 1,
    "kasi_pemerintahan": 1,
    "kasi_kesejahteraan": 1,
    "kasi_pelayanan": 1,
    "kepala_dusun": 3,
    "anggota_bpd": 5,
}


@dataclass(frozen=True)
class Size:
    learners: int
    lessons: int
    concurrency: int
    provinces: tuple[str, ...] = ()  # empty: all 38, weighted by population
    bulk_learners: int = 75_000  # one bulk enrollment job of this size, measured alone


SIZES = {
    "smoke": Size(
        learners=60, lessons=3, concurrency=8, provinces=("74", "73"), bulk_learners=2_000
    ),
    "small": Size(learners=1_000, lessons=4, concurrency=32, bulk_learners=10_000),
    "medium": Size(learners=20_000, lessons=5, concurrency=64),
    "national": Size(learners=1_000_000, lessons=20, concurrency=128),
}


@dataclass
class PlannedLearner:
    index: int
    full_name: str
    position: str
    village_code: str
    lessons_online: list[int]
    lessons_offline: list[int]
    duplicated: list[int]
    pre_test_correct: int | None  # questions answered right in the pre-test, None if skipped
    post_test_passes: bool | None  # None if the post-test is not taken
    learner_id: str | None = None

    @property
    def lessons_done(self) -> set[int]:
        return set(self.lessons_online) | set(self.lessons_offline)

    def completes(self, lessons: int) -> bool:
        return len(self.lessons_done) == lessons and bool(self.post_test_passes)


@dataclass
class Plan:
    size: Size
    seed: int
    learners: list[PlannedLearner] = field(default_factory=list)

    @property
    def provinces(self) -> list[str]:
        return sorted({learner.village_code[:2] for learner in self.learners})

    def expected_totals(self, prefix: str = "") -> dict[str, int]:
        """What every rollup of a region must show once the workload has settled."""
        members = [x for x in self.learners if x.village_code.startswith(prefix)]
        lessons = self.size.lessons
        return {
            "registered": len(members),
            "enrolled": len(members),
            "completed": sum(x.completes(lessons) for x in members),
            "passed": sum(bool(x.post_test_passes) for x in members),
            "certified": sum(x.completes(lessons) for x in members),
        }

    def lesson_events(self) -> int:
        return sum(len(x.lessons_done) for x in self.learners)


def _villages(size: Size) -> tuple[list[str], list[float]]:
    weights = {}
    for code in size.provinces or tuple(regions.provinces()):
        weights[code] = float(_population(code))
    return list(weights), list(weights.values())


def _population(province: str) -> int:
    import csv
    import gzip

    with gzip.open(regions.DATA / "provinces.csv.gz", "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if regions.dotted(row["id"]) == province:
                return int(float(row["population"] or 1))
    return 1


def make_plan(size_name: str, seed: int = 2026) -> Plan:
    size = SIZES[size_name]
    rng = random.Random(seed)
    provinces, weights = _villages(size)
    villages = {p: sorted(regions.villages_of_province(p)) for p in provinces}
    positions, position_weights = list(POSITION_WEIGHTS), list(POSITION_WEIGHTS.values())
    plan = Plan(size, seed)
    for index in range(size.learners):
        province = rng.choices(provinces, weights)[0]
        village = rng.choice(villages[province])
        finished = rng.random() < 0.7
        done = (
            list(range(size.lessons))
            if finished
            else rng.sample(range(size.lessons), rng.randrange(size.lessons))
        )
        offline = [lesson for lesson in done if rng.random() < 0.2]
        online = [lesson for lesson in done if lesson not in offline]
        duplicated = [lesson for lesson in online if rng.random() < 0.1]
        plan.learners.append(
            PlannedLearner(
                index=index,
                full_name=f"Aparatur {index:07d}",
                position=rng.choices(positions, position_weights)[0],
                village_code=village,
                lessons_online=online,
                lessons_offline=offline,
                duplicated=duplicated,
                pre_test_correct=rng.randrange(3) if rng.random() < 0.8 else None,
                post_test_passes=(rng.random() < 0.8) if finished else None,
            )
        )
    return plan


def summary(plan: Plan) -> dict[str, object]:
    return {
        "learners": len(plan.learners),
        "provinces": len(plan.provinces),
        "positions": dict(Counter(x.position for x in plan.learners)),
        "lesson_events": plan.lesson_events(),
        "offline_events": sum(len(x.lessons_offline) for x in plan.learners),
        "duplicates": sum(len(x.duplicated) for x in plan.learners),
        "expected": plan.expected_totals(),
    }
