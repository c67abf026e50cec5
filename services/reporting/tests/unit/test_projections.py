"""The projection rules in memory: exact, order-tolerant rollup deltas from row transitions."""

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

import lms_contracts as c
from reporting.domain.changes import Changes
from reporting.domain.model import COUNTERS, NO_COURSE, EnrollmentRow, LearnerRow
from reporting.domain.rollups import Deltas
from reporting.store import tables
from reporting.usecases import apply_rules

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
TOWUA, WUNDULAKO = "74.01.01.2006", "74.01.01.2007"
COURSE = uuid.uuid4()


class Store:
    """Rows and rollups kept between batches, as the database keeps them."""

    def __init__(self) -> None:
        self.learners: dict[uuid.UUID, LearnerRow] = {}
        self.enrollments: dict[tuple[uuid.UUID, uuid.UUID], EnrollmentRow] = {}
        self.rollups: dict[tuple, dict[str, int]] = {}
        self.activity: dict[tuple, int] = {}

    def apply(self, events: list[c.CloudEvent]) -> Deltas:
        changes = apply_rules(Changes(self.learners.values(), self.enrollments.values()), events)
        deltas = changes.deltas()
        self.learners, self.enrollments = changes.learners, changes.enrollments
        for key, counters in deltas.changed_rollups():
            bucket = self.rollups.setdefault(key, {})
            for name, value in zip(COUNTERS, counters, strict=True):
                bucket[name] = bucket.get(name, 0) + value
        for key, n in deltas.changed_activity():
            self.activity[key] = self.activity.get(key, 0) + n
        return deltas

    def count(self, region: str, name: str, course: uuid.UUID = COURSE) -> int:
        return sum(
            counters.get(name, 0)
            for (code, course_id, _, _), counters in self.rollups.items()
            if code == region and course_id == course
        )


def story(learner: uuid.UUID, village: str = TOWUA) -> list[c.CloudEvent]:
    enrollment = uuid.uuid4()
    common = {"learner_id": learner, "course_id": COURSE, "village_code": village}
    graded = common | {"attempt_id": uuid.uuid4(), "assessment_id": uuid.uuid4()}
    data: list[c.EventData] = [
        c.LearnerRegistered(
            learner_id=learner,
            full_name="Wa Ode",
            position="kepala_desa",
            village_code=village,
            registered_at=T0,
        ),
        c.Enrolled(
            **common,
            enrollment_id=enrollment,
            course_version=1,
            course_title="Keuangan Desa",
            position="kepala_desa",
            cohort="Angkatan 1",
            enrolled_at=T0,
        ),
        c.Failed(
            **graded,
            assessment_kind="pre_test",
            score=40,
            pass_score=70,
            attempt_number=1,
            graded_at=T0 + timedelta(hours=1),
        ),
        c.LessonCompleted(
            **common,
            course_version=1,
            lesson_id=uuid.uuid4(),
            completed_at=T0 + timedelta(hours=2),
            recorded_at=T0 + timedelta(hours=2),
        ),
        c.Passed(
            **graded | {"attempt_id": uuid.uuid4()},
            assessment_kind="post_test",
            score=85.5,
            pass_score=70,
            attempt_number=1,
            graded_at=T0 + timedelta(days=1),
        ),
        c.CourseCompleted(
            **common,
            enrollment_id=enrollment,
            course_version=1,
            score=85.5,
            completed_at=T0 + timedelta(days=1),
        ),
        c.CertificateIssued(
            **common,
            enrollment_id=enrollment,
            certificate_id=uuid.uuid4(),
            verification_code="ABC",
            course_title="Keuangan Desa",
            score=85.5,
            issued_at=T0 + timedelta(days=1),
        ),
    ]
    return [c.new_event(d) for d in data]


def final_rollups(events: list[c.CloudEvent], batch: int) -> Store:
    store = Store()
    for start in range(0, len(events), batch):
        store.apply(events[start : start + batch])
    return store


def nonzero(rollups: dict[tuple, dict[str, int]]) -> dict[tuple, dict[str, int]]:
    kept = {k: {n: x for n, x in v.items() if x} for k, v in rollups.items()}
    return {k: v for k, v in kept.items() if v}


def test_any_order_and_any_batching_gives_the_same_rollups() -> None:
    events = story(uuid.uuid4()) + story(uuid.uuid4(), WUNDULAKO)
    expected = final_rollups(events, len(events))
    for seed, batch in itertools.product(range(8), (1, 3, 14)):
        shuffled = random.Random(seed).sample(events, len(events))
        store = final_rollups(shuffled, batch)
        assert nonzero(store.rollups) == nonzero(expected.rollups)
        assert {k: n for k, n in store.activity.items() if n} == {
            k: n for k, n in expected.activity.items() if n
        }
    for region in ("", "74", "74.01", "74.01.01"):
        assert expected.count(region, "completed") == 2
        assert expected.count(region, "certified") == 2
        assert expected.count(region, "improvement_sum") == 2 * (8550 - 4000)
        assert expected.count(region, "registered", NO_COURSE) == 2
    assert expected.count(TOWUA, "enrolled") == 1


def test_every_event_applied_twice_counts_once_without_an_inbox() -> None:
    events = story(uuid.uuid4()) + story(uuid.uuid4(), WUNDULAKO)
    expected = final_rollups(events, len(events))
    for seed, batch in itertools.product(range(6), (1, 4, 28)):
        doubled = random.Random(seed).sample(events * 2, 2 * len(events))
        store = final_rollups(doubled, batch)
        assert nonzero(store.rollups) == nonzero(expected.rollups)
        assert {k: n for k, n in store.activity.items() if n} == {
            k: n for k, n in expected.activity.items() if n
        }


def test_no_counter_ever_goes_negative_whatever_arrives_first() -> None:
    events = story(uuid.uuid4())
    for seed in range(20):
        store = Store()
        for event in random.Random(seed).sample(events, len(events)):
            store.apply([event])
            assert all(v >= 0 for counters in store.rollups.values() for v in counters.values())
            assert all(n >= 0 for n in store.activity.values())


def test_a_completion_before_its_enrollment_is_counted_once_the_enrollment_arrives() -> None:
    events = story(uuid.uuid4())
    enrolled = events[1]
    store = Store()
    store.apply([e for e in events if e is not enrolled])
    assert store.count("", "completed") == 0
    store.apply([enrolled])
    assert store.count("", "completed") == 1 and store.count("", "enrolled") == 1


def test_a_learner_who_moves_village_takes_their_counts_along_and_stale_updates_lose() -> None:
    learner = uuid.uuid4()
    store = Store()
    store.apply(story(learner))
    moved = c.LearnerUpdated(
        learner_id=learner,
        full_name="Wa Ode",
        position="sekretaris_desa",
        village_code="74.02.01.2006",
        previous_village_code=TOWUA,
        updated_at=T0 + timedelta(days=2),
    )
    stale = moved.model_copy(
        update={"village_code": WUNDULAKO, "updated_at": T0 + timedelta(days=1)}
    )
    store.apply([c.new_event(moved), c.new_event(stale)])
    assert store.count("74.01", "completed") == 0
    assert store.count("74.02", "completed") == 1
    assert store.count("74.02", "registered", NO_COURSE) == 1
    assert store.count("74", "registered", NO_COURSE) == 1
    assert store.learners[learner].position == "sekretaris_desa"


def test_withdrawal_and_re_enrollment_count_by_their_times_not_their_arrival() -> None:
    learner = uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    common = {"learner_id": learner, "course_id": COURSE, "village_code": TOWUA}
    enrolled = {"course_version": 1, "course_title": "K", "position": "kepala_desa"}
    events = [
        c.new_event(c.Enrolled(**common, **enrolled, enrollment_id=first, enrolled_at=T0)),
        c.new_event(
            c.Withdrawn(
                **common, enrollment_id=first, course_title="K", withdrawn_at=T0 + timedelta(1)
            )
        ),
        c.new_event(
            c.Enrolled(**common, **enrolled, enrollment_id=second, enrolled_at=T0 + timedelta(2))
        ),
    ]
    for order in itertools.permutations(events):
        store = final_rollups(list(order), 1)
        assert (store.count("", "enrolled"), store.count("", "withdrawn")) == (1, 0)
    store = final_rollups(events[:2][::-1], 1)
    assert (store.count("", "enrolled"), store.count("", "withdrawn")) == (0, 1)


def test_active_learners_sit_in_the_bucket_of_their_last_active_day() -> None:
    learner = uuid.uuid4()
    store = Store()
    store.apply(story(learner))
    days = {key[4] for key, n in store.activity.items() if n and key[0] == ""}
    assert days == {(T0 + timedelta(days=1)).date()}
    national = {key[1]: n for key, n in store.activity.items() if n and key[0] == ""}
    assert national == {NO_COURSE: 1, COURSE: 1}


def test_activity_buckets_stop_at_the_regency_and_counters_match_the_table() -> None:
    store = Store()
    store.apply(story(uuid.uuid4()))
    assert {key[0] for key, n in store.activity.items() if n} == {"", "74", "74.01"}
    assert tuple(tables.COUNTERS) == COUNTERS


def test_an_enrollment_follows_its_latest_version_move_whatever_arrives_first() -> None:
    learner, enrollment = uuid.uuid4(), uuid.uuid4()
    common = {"learner_id": learner, "course_id": COURSE, "village_code": TOWUA}
    moved = {"enrollment_id": enrollment, "course_title": "K"}
    events = [
        c.new_event(
            c.Enrolled(
                **common,
                enrollment_id=enrollment,
                course_version=1,
                course_title="K",
                position="kepala_desa",
                enrolled_at=T0,
            )
        ),
        c.new_event(
            c.CourseVersionChanged(
                **common,
                **moved,
                from_version=1,
                course_version=2,
                move_number=1,
                changed_at=T0 + timedelta(1),
            )
        ),
        c.new_event(
            c.CourseVersionChanged(
                **common,
                **moved,
                from_version=2,
                course_version=3,
                move_number=2,
                changed_at=T0 + timedelta(2),
            )
        ),
    ]
    for order in itertools.permutations(events + events[1:2]):
        store = final_rollups(list(order), 1)
        row = store.enrollments[(learner, COURSE)]
        assert (row.course_version, row.version_move, row.enrollment_id) == (3, 2, enrollment)
        assert store.count("", "enrolled") == 1


def test_outcomes_are_counted_apart_failed_until_a_pass() -> None:
    """Completed, post-test taken, passed and failed are four different counts."""
    learner = uuid.uuid4()
    story_events = story(learner)
    failing = c.Failed(
        learner_id=learner,
        course_id=COURSE,
        village_code=TOWUA,
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind="post_test",
        score=55,
        pass_score=70,
        attempt_number=1,
        graded_at=T0 + timedelta(hours=3),
    )
    only_failed = [e for e in story_events if not isinstance(e.data, c.Passed | c.CourseCompleted)]
    only_failed = [e for e in only_failed if not isinstance(e.data, c.CertificateIssued)]
    store = final_rollups([*only_failed, c.new_event(failing)], 1)
    counts = {n: store.count("74", n) for n in ("post_test_count", "passed", "failed", "completed")}
    assert counts == {"post_test_count": 1, "passed": 0, "failed": 1, "completed": 0}
    store.apply([e for e in story_events if e not in only_failed])
    counts = {n: store.count("74", n) for n in ("post_test_count", "passed", "failed", "completed")}
    assert counts == {"post_test_count": 1, "passed": 1, "failed": 0, "completed": 1}
    assert (store.count("74", "certified"), store.count("74", "revoked")) == (1, 0)


def test_a_revoked_certificate_counts_as_revoked_not_certified_in_any_order() -> None:
    learner = uuid.uuid4()
    events = story(learner)
    issued = events[-1].data
    assert isinstance(issued, c.CertificateIssued)
    revoked = c.new_event(
        c.CertificateRevoked(
            certificate_id=issued.certificate_id,
            verification_code=issued.verification_code,
            enrollment_id=issued.enrollment_id,
            learner_id=learner,
            course_id=COURSE,
            course_title="Keuangan Desa",
            village_code=TOWUA,
            reason="data keliru",
            revoked_at=T0 + timedelta(days=3),
        )
    )
    for seed in range(6):
        shuffled = random.Random(seed).sample([*events, revoked, revoked], len(events) + 2)
        store = final_rollups(shuffled, 2)
        assert (store.count("74", "certified"), store.count("74", "revoked")) == (0, 1)
        assert store.count("74", "completed") == 1
