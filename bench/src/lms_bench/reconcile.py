"""At the end of every run: does what the system shows equal what the workload implies?"""

from __future__ import annotations

from typing import Any

from .driver import Driver

COUNTED = ("registered", "enrolled", "completed", "passed", "certified")


async def reconcile(driver: Driver) -> dict[str, Any]:
    plan, problems = driver.plan, []
    national = await driver.call(
        "GET",
        f"{driver.urls['reporting']}/v1/reports/national",
        headers=driver.auth("admin", subject="bench-admin"),
    )
    report = national.json()
    expected = plan.expected_totals()
    for key in COUNTED:
        if report["totals"].get(key) != expected[key]:
            problems.append(
                f"national {key}: shown {report['totals'].get(key)}, implied {expected[key]}"
            )
    for province in plan.provinces:
        shown = await driver.region_report(province)
        implied = plan.expected_totals(province)
        for key in COUNTED:
            if shown["totals"].get(key) != implied[key]:
                problems.append(
                    f"{province} {key}: shown {shown['totals'].get(key)}, implied {implied[key]}"
                )
            children = sum(child["totals"].get(key, 0) for child in shown["children"])
            if children != shown["totals"].get(key):
                problems.append(
                    f"{province} {key}: children sum to {children}, not {shown['totals'].get(key)}"
                )
    statuses = await enrollment_statuses(driver)
    for learner in plan.learners:
        want = (
            "completed"
            if learner.completes(plan.size.lessons)
            else (
                "in_progress"
                if learner.lessons_done or learner.post_test_passes is not None
                else "enrolled"
            )
        )
        got = statuses.get(learner.learner_id or "")
        if got != want:
            problems.append(f"learner {learner.index}: enrollment {got}, implied {want}")
    certificates = sum(1 for status in statuses.values() if status == "completed")
    return {
        "ok": not problems,
        "problems": problems[:100],
        "problem_count": len(problems),
        "expected": expected,
        "shown": {k: report["totals"].get(k) for k in COUNTED},
        "certificates": certificates,
    }


async def enrollment_statuses(driver: Driver) -> dict[str, str]:
    found: dict[str, str] = {}
    cursor: str | None = None
    admin = driver.auth("admin", subject="bench-admin")
    while True:
        params = {"course_id": driver.course_id, "limit": 200} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (
            await driver.call(
                "GET", f"{driver.urls['enrollment']}/v1/enrollments", headers=admin, params=params
            )
        ).json()
        found |= {item["learner_id"]: item["status"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return found
