"""Lesson completions, applied set-based: two SQL statements per batch, whatever its size.

At national scale nearly every event is a lesson completion (twenty per learner and course),
and a completion never changes a rollup counter: it adds a lesson to its enrollment (once) and
may move the enrollment's and the learner's last activity to a later day. Loading those rows
into Python to do that cost more than everything else the consumer does (ADR 7), so the
database does it in place. The first statement (``LOCK_LEARNERS``) runs before anything else
of the batch:

1. every learner of the batch is created if missing and locked, in id order, and takes its
   lessons' latest activity if later (a learner row is read once per batch).

The second (``APPLY_LESSONS``) runs last:

2. the batch's completions, grouped per enrollment (lessons as a set, the latest time);
3. existing enrollments take the lessons they lack and the later activity; rows that would
   not change are not written, which makes a duplicate cost a lookup;
4. an enrollment not seen yet (its lesson arrived first) is created with the lessons.

In both, every counted row whose last active day moved leaves the old day's activity bucket
and joins the new one, in the nation, its province and its regency, as
:meth:`Deltas.changed_activity <reporting.domain.rollups.Deltas.changed_activity>` does for
the other events.

The rules match the other events' (a set, a maximum, a course version only where the
enrollment has none yet), so the statements are idempotent and order-tolerant like them. Days
are UTC days, as :func:`~reporting.domain.model.day_of` takes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import lms_contracts as c

from ..domain.model import ACTIVITY_PREFIXES, NO_COURSE

_PREFIXES = "{" + ",".join(map(str, ACTIVITY_PREFIXES)) + "}"


def _move_buckets(moved: str) -> str:
    """The statement's tail: every row of ``moved`` (village_code, course_id, cohort,
    position, before, after) leaves its old day's bucket and joins its new day's, at every
    bucketed level; changes that cancel out write nothing."""
    return f"""
days AS (
    SELECT village_code, course_id, cohort, position, (before AT TIME ZONE 'UTC')::date AS day,
           -1 AS n
    FROM {moved} WHERE before IS NOT NULL
    UNION ALL
    SELECT village_code, course_id, cohort, position, (after AT TIME ZONE 'UTC')::date, 1
    FROM {moved}
)
INSERT INTO activity (region_code, course_id, cohort, position, day, learners)
SELECT left(village_code, p.length), course_id, cohort, position, day, sum(n)
FROM days CROSS JOIN unnest('{_PREFIXES}'::integer[]) AS p(length)
GROUP BY 1, 2, 3, 4, 5
HAVING sum(n) <> 0
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (region_code, course_id, cohort, position, day)
DO UPDATE SET learners = activity.learners + excluded.learners
"""


# Creates the batch's missing learner rows and locks the existing ones in id order (a DO
# UPDATE whose condition is false locks the row without writing it), so that consumer
# replicas never interleave on a learner; the same pass takes a lesson's later activity
# (``$2``, null for a learner of another event) and moves the learner's buckets.
LOCK_LEARNERS = f"""
WITH latest AS (
    SELECT learner_id, max(at) AS at
    FROM unnest($1::uuid[], $2::timestamptz[]) AS b(learner_id, at)
    GROUP BY learner_id
),
learner AS (
    INSERT INTO learners (learner_id, last_activity_at)
    SELECT learner_id, at FROM latest ORDER BY learner_id
    ON CONFLICT (learner_id) DO UPDATE SET last_activity_at = excluded.last_activity_at
    WHERE excluded.last_activity_at IS NOT NULL
      AND (learners.last_activity_at IS NULL
           OR excluded.last_activity_at > learners.last_activity_at)
    RETURNING new.village_code, new.position,
              old.last_activity_at AS before, new.last_activity_at AS after,
              new.registered AND new.village_code IS NOT NULL AS counted
),
moved AS (
    SELECT village_code, '{NO_COURSE}'::uuid AS course_id, '' AS cohort,
           coalesce(position, '') AS position, before, after
    FROM learner WHERE counted
),
{_move_buckets("moved")}"""

APPLY_LESSONS = f"""
WITH done AS (
    SELECT learner_id, course_id, array_agg(DISTINCT lesson_id) AS lesson_ids,
           max(completed_at) AS at, min(course_version) AS course_version
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::integer[])
        AS d(learner_id, course_id, lesson_id, completed_at, course_version)
    GROUP BY learner_id, course_id
),
enrollment AS (
    UPDATE enrollments e SET
        lesson_ids = e.lesson_ids
            || ARRAY(SELECT x FROM unnest(d.lesson_ids) x WHERE x <> ALL (e.lesson_ids)),
        lessons_done = e.lessons_done
            + (SELECT count(*) FROM unnest(d.lesson_ids) x WHERE x <> ALL (e.lesson_ids))::int,
        last_activity_at = greatest(e.last_activity_at, d.at),
        course_version = coalesce(e.course_version, d.course_version)
    FROM done d
    WHERE e.learner_id = d.learner_id AND e.course_id = d.course_id
      AND (NOT d.lesson_ids <@ e.lesson_ids
           OR e.last_activity_at IS NULL OR d.at > e.last_activity_at
           OR e.course_version IS NULL)
    RETURNING new.learner_id, new.course_id,
              new.village_code, new.cohort, new.position,
              old.last_activity_at AS before, new.last_activity_at AS after,
              new.enrollment_id IS NOT NULL AND NOT new.withdrawn
                  AND new.village_code IS NOT NULL AS counted
),
first_seen AS (
    INSERT INTO enrollments (learner_id, course_id, course_version, village_code, position,
                             lesson_ids, lessons_done, last_activity_at)
    SELECT d.learner_id, d.course_id, d.course_version, l.village_code,
           CASE WHEN l.village_code IS NOT NULL THEN l.position END,
           d.lesson_ids, cardinality(d.lesson_ids), d.at
    FROM done d JOIN learners l USING (learner_id)
    WHERE NOT EXISTS (  -- updated just now: no need to look in the table
        SELECT 1 FROM enrollment u WHERE u.learner_id = d.learner_id AND u.course_id = d.course_id
    ) AND NOT EXISTS (
        SELECT 1 FROM enrollments e WHERE e.learner_id = d.learner_id AND e.course_id = d.course_id
    )
),
moved AS (
    SELECT village_code, course_id, cohort, coalesce(position, '') AS position, before, after
    FROM enrollment WHERE counted
),
{_move_buckets("moved")}"""


async def lock_learners(
    driver: Any, lessons: Sequence[c.LessonCompleted], others: Sequence[uuid.UUID]
) -> None:
    """Create and lock the batch's learners (``others``: those of its other events), and
    give them their lessons' latest activity."""
    if not lessons and not others:
        return
    await driver.execute(
        LOCK_LEARNERS,
        [*(d.learner_id for d in lessons), *others],
        [*(d.completed_at for d in lessons), *(None for _ in others)],
    )


async def apply_lessons(driver: Any, lessons: Sequence[c.LessonCompleted]) -> None:
    """Apply a batch's lesson completions on the driver connection, in its transaction."""
    if not lessons:
        return
    await driver.execute(
        APPLY_LESSONS,
        [d.learner_id for d in lessons],
        [d.course_id for d in lessons],
        [d.lesson_id for d in lessons],
        [d.completed_at for d in lessons],
        [d.course_version for d in lessons],
    )
