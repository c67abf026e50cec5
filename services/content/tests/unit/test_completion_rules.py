"""Completion rules authored with a version: checked when written, published with it, and the
one content enforces itself (lessons count only after the pre-test)."""

import uuid
from dataclasses import replace

import pytest

from content import usecases
from content.domain import commands
from content.domain.errors import InvalidRule, PreTestRequired
from content.domain.model import CompletionRules, OfflineCompletion, SyncOutcome
from content.events.outbound import to_contract

from .test_courses_and_progress import (
    BUDGET,
    NOW,
    FakeUnitOfWork,
    content_of,
    enrolled,
    published,
    text_lesson,
)


async def test_a_version_publishes_its_rules_hours_and_lesson_titles() -> None:
    uow = FakeUnitOfWork()
    basic = await published(uow, text_lesson("Dasar"))
    rules = CompletionRules(True, 80.0, (basic.course_id,))
    content = replace(
        content_of(text_lesson("Perubahan Permendagri 2027")), rules=rules, training_hours=12
    )
    course = await usecases.create_course(commands.CreateCourse("ADM", content, "ins"), uow)
    await usecases.publish_course(commands.PublishCourse(course.course_id, BUDGET), uow)
    (event,) = to_contract(uow.published[-1])
    assert (event.pre_test_before_lessons, event.min_post_test_score) == (True, 80.0)
    assert (event.prerequisite_course_ids, event.training_hours) == ([basic.course_id], 12)
    assert [x.title for x in event.lessons] == ["Perubahan Permendagri 2027"]


@pytest.mark.parametrize("which", ["itself", "unknown", "twice"])
async def test_a_prerequisite_must_be_another_existing_course_given_once(which: str) -> None:
    uow = FakeUnitOfWork()
    basic = await published(uow, text_lesson())
    course = await usecases.create_course(
        commands.CreateCourse("ADM", content_of(text_lesson()), "ins"), uow
    )
    wanted = {
        "itself": (course.course_id,),
        "unknown": (uuid.uuid4(),),
        "twice": (basic.course_id, basic.course_id),
    }[which]
    changes = replace(
        content_of(text_lesson()), rules=CompletionRules(prerequisite_course_ids=wanted)
    )
    with pytest.raises(InvalidRule) as refused:
        await usecases.revise_course(commands.ReviseCourse(course.course_id, changes), uow)
    index = 1 if which == "twice" else 0
    assert refused.value.field == f"completion_rules.prerequisite_course_ids.{index}"


async def test_lessons_count_only_after_the_pre_test_where_the_version_asks_for_it() -> None:
    uow = FakeUnitOfWork()
    lesson = text_lesson()
    course = await usecases.create_course(
        commands.CreateCourse(
            "ADM", replace(content_of(lesson), rules=CompletionRules(True)), "ins"
        ),
        uow,
    )
    course = await usecases.publish_course(commands.PublishCourse(course.course_id, BUDGET), uow)
    learner_id = await enrolled(uow, course)
    complete = commands.CompleteLesson(learner_id, course.course_id, lesson.lesson_id)
    with pytest.raises(PreTestRequired):
        await usecases.complete_lesson(complete, uow)
    offline = OfflineCompletion("hp-1", course.course_id, lesson.lesson_id, NOW)
    results = await usecases.sync_progress(commands.SyncProgress(learner_id, (offline,)), uow)
    assert (results[0].outcome, results[0].code) == (SyncOutcome.REJECTED, "pre_test_required")
    await usecases.record_pre_test(commands.RecordPreTest(learner_id, course.course_id, NOW), uow)
    done = await usecases.complete_lesson(complete, uow)
    assert done.recorded
