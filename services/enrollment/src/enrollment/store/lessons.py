"""Lesson completions, applied a batch at a time: one SQL statement per batch.

Nearly every event the consumer receives is a lesson completion, and almost none of them can
complete a course: an enrollment completes only once its post-test is passed (every version
asks for it), and the post-test comes after the lessons. Applying them one by one cost three
statements each (record the lesson, lock and read the enrollment, read the learner's progress).
``RECORD_LESSONS`` does for the whole batch what those did, in one statement:

1. records every completion once per learner, course and lesson (a duplicate, within the
   batch or of an earlier one, keeps the first time told);
2. locks the batch's active enrollments (enrolled or in progress, not completed or
   withdrawn), in id order;
3. moves those still enrolled to in progress, as a first lesson does;
4. returns the learner and course of each locked enrollment that may complete now (in
   progress with its post-test passed).

Steps 1 and 2 take their locks in key order, so that two replicas applying batches of the
same learners wait for each other instead of deadlocking. Only the enrollments of step 4 go
on through the event-by-event use case, which decides with the course's rules, completes and
certifies (``usecases.record_lesson_completed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.commands import LessonDone

RECORD_LESSONS = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[])
        WITH ORDINALITY AS b(learner_id, course_id, lesson_id, completed_at, n)
),
recorded AS (
    INSERT INTO lesson_completions (learner_id, course_id, lesson_id, completed_at)
    SELECT learner_id, course_id, lesson_id, completed_at FROM batch
    ORDER BY learner_id, course_id, lesson_id, n
    ON CONFLICT DO NOTHING
),
active AS (
    SELECT e.enrollment_id, e.learner_id, e.course_id, e.status, e.post_test_score
    FROM enrollments e
    WHERE (e.learner_id, e.course_id) IN (SELECT learner_id, course_id FROM batch)
      AND e.status IN ('enrolled', 'in_progress')
    ORDER BY e.enrollment_id
    FOR UPDATE
),
started AS (
    UPDATE enrollments e SET status = 'in_progress'
    FROM active a
    WHERE e.enrollment_id = a.enrollment_id AND a.status = 'enrolled'
)
SELECT learner_id, course_id FROM active
WHERE status = 'in_progress' AND post_test_score IS NOT NULL
"""


async def record_lessons(
    conn: AsyncConnection, lessons: Sequence[LessonDone]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Apply a batch's lesson completions in the connection's transaction; return the (learner,
    course) pairs whose enrollment may complete now. The statement goes through the engine, so
    that a database that does not answer is told as unavailable (the consumer pauses)."""
    if not lessons:
        return set()
    rows = await conn.exec_driver_sql(
        RECORD_LESSONS,
        (
            [x.learner_id for x in lessons],
            [x.course_id for x in lessons],
            [x.lesson_id for x in lessons],
            [x.completed_at for x in lessons],
        ),
    )
    return {(row.learner_id, row.course_id) for row in rows}
