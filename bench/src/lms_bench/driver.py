"""Drives the planned rollout through the public HTTP APIs, like gateways and operators would."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from lms_cli.demo import QUESTIONS as DEMO_QUESTIONS
from servicekit.auth import mint_token
from servicekit.settings import ServiceSettings

from .workload import Plan, PlannedLearner

# the demo course's pre- and post-test: a single-choice, a true/false and a short answer
QUESTIONS = DEMO_QUESTIONS["KEU-DESA-01"]
# Idle connections are dropped before the services' (uvicorn's 5 s) keep-alive timeout, so a
# request never goes out on a connection the server is closing at that moment.
KEEPALIVE_EXPIRY = 2.0


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def route_of(method: str, url: str, services: dict[str, str]) -> str:
    """``POST assessment /v1/attempts/{id}/submit``: the request's service and route, without
    its ids and query (``services``: base URL -> service)."""
    path = url.split("?", 1)[0]
    for base, name in services.items():
        if path.startswith(base):
            return f"{method} {name} {UUID.sub('{id}', path[len(base) :])}"
    return f"{method} {UUID.sub('{id}', path)}"


class Timeline:
    """Requests completed per second and their latencies, for the chart."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.samples: list[tuple[float, float]] = []  # (seconds into run, latency)
        self.routes: list[str] = []  # the route of each sample

    def record(self, began: float, route: str = "") -> None:
        now = time.perf_counter()
        self.samples.append((now - self.started, now - began))
        self.routes.append(route)

    def slowest_routes(self, top: int = 5) -> dict[str, dict[str, float]]:
        """The routes with the most requests in the slowest 1%: their count there and p99."""
        ordered = sorted(lat for _, lat in self.samples)
        if not ordered:
            return {}
        cut = ordered[int(len(ordered) * 0.99)]
        by_route: dict[str, list[float]] = {}
        for (_, latency), route in zip(self.samples, self.routes, strict=True):
            by_route.setdefault(route, []).append(latency)
        slow = {r: sum(lat >= cut for lat in lats) for r, lats in by_route.items()}
        return {
            route: {
                "in_slowest_1%": float(slow[route]),
                "requests": float(len(by_route[route])),
                "p99_ms": sorted(by_route[route])[int(len(by_route[route]) * 0.99)] * 1000,
            }
            for route in sorted(slow, key=lambda r: -slow[r])[:top]
            if slow[route]
        }

    def buckets(self, applied: list[tuple[float, int]]) -> list[dict[str, float]]:
        if not self.samples:
            return []
        end = int(max(t for t, _ in self.samples)) + 1
        rows = []
        for second in range(end):
            latencies = sorted(lat for t, lat in self.samples if second <= t < second + 1)
            row: dict[str, float] = {"t": float(second), "requests_per_s": float(len(latencies))}
            if latencies:
                row["p50_ms"] = latencies[len(latencies) // 2] * 1000
                row["p95_ms"] = latencies[int(len(latencies) * 0.95)] * 1000
            rows.append(row)
        for (t0, n0), (t1, n1) in itertools.pairwise(applied):
            second = int(t1)
            if second < len(rows) and t1 > t0:
                rows[second]["events_per_s"] = (n1 - n0) / (t1 - t0)
        return rows


class Driver:
    def __init__(
        self, plan: Plan, urls: dict[str, str], settings: ServiceSettings | None = None
    ) -> None:
        self.plan = plan
        self.urls = urls
        self.services = {url: name for name, url in urls.items()}
        self.settings = settings or ServiceSettings()
        self.http = httpx.AsyncClient(
            timeout=60,
            limits=httpx.Limits(
                max_connections=plan.size.concurrency * 2,
                max_keepalive_connections=plan.size.concurrency * 2,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
        )
        self.timeline = Timeline()
        self.course_id = ""
        self.lesson_ids: list[str] = []
        self.pre_test_id = ""
        self.post_test_id = ""
        self.answer_key: dict[str, dict[str, Any]] = {}
        self.measurements: dict[str, Any] = {}
        self._tokens: dict[str, dict[str, str]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def auth(
        self,
        *roles: str,
        subject: str | None = None,
        learner_id: str | None = None,
        region: str | None = None,
    ) -> dict[str, str]:
        key = f"{roles}{subject}{learner_id}{region}"
        if key not in self._tokens:
            token = mint_token(
                self.settings,
                roles=list(roles),
                subject=subject,
                region_code=region,
                learner_id=uuid.UUID(learner_id) if learner_id else None,
                ttl=timedelta(hours=6),
            )
            self._tokens[key] = {"Authorization": f"Bearer {token}"}
        return self._tokens[key]

    async def call(
        self,
        method: str,
        url: str,
        *,
        ok: Iterable[int] = (200, 201, 202),
        retry: Iterable[int] = (),
        attempts: int = 600,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request, retried while it answers a status in ``retry`` (e.g. not yet known)."""
        retry, ok = set(retry), set(ok)
        for attempt in range(attempts):
            began = time.perf_counter()
            response = await self.http.request(method, url, **kwargs)
            self.timeline.record(began, route_of(method, url, self.services))
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code in ok:
                return response
            if response.status_code not in retry:
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
            await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
        raise TimeoutError(f"{method} {url} still answered {response.status_code}")

    async def each(self, items: Iterable[Any], work: Callable[[Any], Awaitable[None]]) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                await work(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(self.plan.size.concurrency)))

    # setup -------------------------------------------------------------------------------
    async def create_course(self) -> None:
        instructor = self.auth("instructor", subject="bench-instructor")
        lessons = [
            {
                "title": f"Pelajaran {i + 1}",
                "kind": "text",
                "required": True,
                "body": f"Materi pelajaran {i + 1} tentang pengelolaan keuangan desa.",
            }
            for i in range(self.plan.size.lessons)
        ]
        course = (
            await self.call(
                "POST",
                f"{self.urls['content']}/v1/courses",
                headers=instructor,
                json={
                    "code": f"BENCH-{self.plan.seed}-{uuid.uuid4().hex[:6]}",
                    "title": "Pengelolaan Keuangan Desa",
                    "modules": [{"title": "Modul 1", "lessons": lessons}],
                },
            )
        ).json()
        self.course_id = course["course_id"]
        self.lesson_ids = [
            lesson["lesson_id"] for module in course["modules"] for lesson in module["lessons"]
        ]
        await self.call(
            "POST",
            f"{self.urls['content']}/v1/courses/{self.course_id}/publish",
            headers=instructor,
        )
        for kind in ("pre_test", "post_test"):
            created = (
                await self.call(
                    "POST",
                    f"{self.urls['assessment']}/v1/assessments",
                    headers=instructor,
                    json={
                        "course_id": self.course_id,
                        "kind": kind,
                        "title": kind,
                        "pass_score": 70,
                        "max_attempts": 3,
                        "time_limit_seconds": 3600,
                        "shuffle_questions": True,
                        "shuffle_options": True,
                        "questions": QUESTIONS,
                    },
                )
            ).json()
            setattr(self, f"{kind}_id", created["assessment_id"])
            keyed = (
                await self.call(
                    "GET",
                    f"{self.urls['assessment']}/v1/assessments/{created['assessment_id']}",
                    headers=instructor,
                )
            ).json()
            self.answer_key |= {q["question_id"]: q for q in keyed["questions"]}
        admin = self.auth("admin", subject="bench-admin")
        await self.call("GET", f"{self.urls['enrollment']}/v1/catalog", headers=admin)
        for _ in range(600):
            catalog = (
                await self.call("GET", f"{self.urls['enrollment']}/v1/catalog", headers=admin)
            ).json()
            if any(c["course_id"] == self.course_id for c in catalog):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("enrollment never learnt the course")

    # registration and bulk enrollment --------------------------------------------------------
    async def register(self) -> None:
        by_province: dict[str, list[PlannedLearner]] = {}
        for learner in self.plan.learners:
            by_province.setdefault(learner.village_code[:2], []).append(learner)

        async def upload(province: str) -> None:
            supervisor = self.auth(
                "supervisor", subject=f"bench-supervisor-{province}", region=province
            )
            members = by_province[province]
            for start in range(0, len(members), 5000):
                text = io.StringIO()
                writer = csv.writer(text)
                writer.writerow(["full_name", "position", "village_code", "phone", "email"])
                for x in members[start : start + 5000]:
                    writer.writerow([x.full_name, x.position, x.village_code, "", ""])
                job = (
                    await self.call(
                        "POST",
                        f"{self.urls['enrollment']}/v1/learners/import",
                        headers=supervisor,
                        data={"region_code": province},
                        files={"file": ("learners.csv", text.getvalue(), "text/csv")},
                    )
                ).json()
                done = await self.job_done(job["job_id"], supervisor)
                if done["counts"] != {"registered": len(members[start : start + 5000])}:
                    raise RuntimeError(f"import of {province} did not register every row: {done}")
            await self.learner_ids(province, members)

        started = time.perf_counter()
        await asyncio.gather(*(upload(p) for p in by_province))
        self.measurements["registration_s"] = time.perf_counter() - started

    async def learner_ids(self, province: str, members: list[PlannedLearner]) -> None:
        by_name = {x.full_name: x for x in members}
        admin = self.auth("admin", subject="bench-admin")
        cursor: str | None = None
        while True:
            params = {"region_code": province, "limit": 200} | (
                {"cursor": cursor} if cursor else {}
            )
            page = (
                await self.call(
                    "GET", f"{self.urls['enrollment']}/v1/learners", headers=admin, params=params
                )
            ).json()
            for item in page["items"]:
                if item["full_name"] in by_name:
                    by_name[item["full_name"]].learner_id = item["learner_id"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    async def bulk_enroll(self, course_id: str | None = None) -> float:
        """Every province's learners by a bulk job; seconds until every job completed."""
        course_id = course_id or self.course_id
        started = time.perf_counter()
        jobs = []
        for province in self.plan.provinces:
            admin = self.auth("admin", subject=f"bench-admin-{province}")
            jobs.append(
                (
                    await self.call(
                        "POST",
                        f"{self.urls['enrollment']}/v1/enrollments/bulk",
                        headers=admin,
                        json={"course_id": course_id, "region_code": province},
                    )
                ).json()
            )
        admin = self.auth("admin", subject="bench-admin")
        for job in jobs:
            await self.job_done(job["job_id"], admin)
        return time.perf_counter() - started

    async def job_done(self, job_id: str, headers: dict[str, str]) -> Any:
        """A job (bulk enrollment, import) once completed; an error if it failed."""
        while True:
            state = (
                await self.call(
                    "GET", f"{self.urls['enrollment']}/v1/jobs/{job_id}", headers=headers
                )
            ).json()
            if state["state"] == "completed":
                return state
            if state["state"] in ("failed", "cancelled"):
                raise RuntimeError(f"job {state['state']}: {state}")
            await asyncio.sleep(0.05)

    # learner activity ----------------------------------------------------------------------
    def learner_auth(self, learner: PlannedLearner) -> dict[str, str]:
        assert learner.learner_id is not None
        return self.auth("learner", learner_id=learner.learner_id)

    def answers(self, questions: list[dict[str, Any]], correct: int) -> list[dict[str, Any]]:
        answers = []
        for position, question in enumerate(questions):
            key = self.answer_key[question["question_id"]]
            right = position < correct
            if key["kind"] == "true_false":
                answers.append(
                    {"question_id": question["question_id"], "value": key["answer"] == right}
                )
            elif key["kind"] == "short_answer":
                answers.append(
                    {
                        "question_id": question["question_id"],
                        "text": key["accepted_answers"][0] if right else "tidak tahu",
                    }
                )
            else:
                wanted = {o["text"] for o in key["options"] if o["correct"] == right}
                chosen = [o["option_id"] for o in question["options"] if o["text"] in wanted][
                    : 1 if not right else None
                ]
                answers.append({"question_id": question["question_id"], "option_ids": chosen})
        return answers

    async def take(
        self, learner: PlannedLearner, assessment_id: str, correct: int
    ) -> dict[str, Any]:
        attempt = (
            await self.call(
                "POST",
                f"{self.urls['assessment']}/v1/assessments/{assessment_id}/attempts",
                headers=self.learner_auth(learner),
                ok=(201,),
                retry=(403, 404, 409, 423),
            )
        ).json()
        return (
            await self.call(
                "POST",
                f"{self.urls['assessment']}/v1/attempts/{attempt['attempt_id']}/submit",
                headers=self.learner_auth(learner),
                json={"answers": self.answers(attempt["questions"], correct)},
            )
        ).json()

    async def pre_tests(self) -> None:
        async def one(learner: PlannedLearner) -> None:
            if learner.pre_test_correct is not None:
                await self.take(learner, self.pre_test_id, learner.pre_test_correct)

        await self.each(self.plan.learners, one)

    async def online_lessons(self) -> tuple[float, int]:
        """Every online completion (and its duplicates): (requests per second, requests)."""
        requests = [(x, lesson) for x in self.plan.learners for lesson in x.lessons_online]
        requests += [(x, lesson) for x in self.plan.learners for lesson in x.duplicated]
        started = time.perf_counter()

        async def one(item: tuple[PlannedLearner, int]) -> None:
            learner, lesson = item
            await self.call(
                "POST",
                f"{self.urls['content']}/v1/progress",
                headers=self.learner_auth(learner),
                json={"course_id": self.course_id, "lesson_id": self.lesson_ids[lesson]},
                retry=(403,),
            )

        await self.each(requests, one)
        elapsed = time.perf_counter() - started
        return len(requests) / elapsed, len(requests)

    async def offline_syncs(self) -> None:
        """Completions recorded on devices days ago, synced now; some batches sent twice."""

        async def one(learner: PlannedLearner) -> None:
            if not learner.lessons_offline:
                return
            device_time = datetime.now(UTC) - timedelta(days=3)
            batch = {
                "items": [
                    {
                        "client_id": f"{learner.index}-{lesson}",
                        "course_id": self.course_id,
                        "lesson_id": self.lesson_ids[lesson],
                        "completed_at": (device_time + timedelta(minutes=lesson)).isoformat(),
                    }
                    for lesson in learner.lessons_offline
                ]
            }
            for _ in range(2 if learner.index % 3 == 0 else 1):
                await self.call(
                    "POST",
                    f"{self.urls['content']}/v1/progress/sync",
                    headers=self.learner_auth(learner),
                    json=batch,
                    retry=(403,),
                )

        await self.each(self.plan.learners, one)

    async def post_tests(self) -> None:
        async def one(learner: PlannedLearner) -> None:
            if learner.post_test_passes is not None:
                await self.take(learner, self.post_test_id, 3 if learner.post_test_passes else 0)

        await self.each(self.plan.learners, one)

    async def speed_course(self, lessons: int = 50) -> tuple[str, list[str]]:
        """A second published course with many lessons, for the progress endpoint burst."""
        instructor = self.auth("instructor", subject="bench-instructor")
        course = (
            await self.call(
                "POST",
                f"{self.urls['content']}/v1/courses",
                headers=instructor,
                json={
                    "code": f"SPEED-{uuid.uuid4().hex[:6]}",
                    "title": "Pelayanan Publik di Desa",
                    "modules": [
                        {
                            "title": "Modul",
                            "lessons": [
                                {
                                    "title": f"Pelajaran {i + 1}",
                                    "kind": "text",
                                    "body": "Materi",
                                    "required": True,
                                }
                                for i in range(lessons)
                            ],
                        }
                    ],
                },
            )
        ).json()
        await self.call(
            "POST",
            f"{self.urls['content']}/v1/courses/{course['course_id']}/publish",
            headers=instructor,
        )
        admin = self.auth("admin", subject="bench-admin")
        for _ in range(600):
            catalog = (
                await self.call("GET", f"{self.urls['enrollment']}/v1/catalog", headers=admin)
            ).json()
            if any(c["course_id"] == course["course_id"] for c in catalog):
                break
            await asyncio.sleep(0.05)
        return course["course_id"], [
            x["lesson_id"] for m in course["modules"] for x in m["lessons"]
        ]

    # observing -------------------------------------------------------------------------------
    async def region_report(self, code: str) -> dict[str, Any]:
        return (
            await self.call(
                "GET",
                f"{self.urls['reporting']}/v1/reports/regions/{code}",
                headers=self.auth("admin", subject="bench-admin"),
            )
        ).json()

    async def report_latency(self, code: str, samples: int = 100) -> float:
        """Median latency of a region report, after a few warm-up requests."""
        for _ in range(10):
            await self.region_report(code)
        timings = []
        for _ in range(samples):
            began = time.perf_counter()
            await self.region_report(code)
            timings.append(time.perf_counter() - began)
        return statistics.median(timings)
