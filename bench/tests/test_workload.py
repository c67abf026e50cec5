from lms_bench.workload import make_plan, summary
from servicekit import regions


def test_the_same_seed_gives_the_same_rollout() -> None:
    first, second = make_plan("smoke", seed=7), make_plan("smoke", seed=7)
    assert [(x.village_code, x.position, x.lessons_online) for x in first.learners] == [
        (x.village_code, x.position, x.lessons_online) for x in second.learners
    ]
    assert summary(make_plan("smoke", seed=8)) != summary(first)


def test_learners_live_in_real_villages_and_only_finishers_take_the_post_test() -> None:
    plan = make_plan("small", seed=1)
    assert all(regions.find(x.village_code) is not None for x in plan.learners)
    assert len(plan.provinces) > 20
    for learner in plan.learners:
        if learner.post_test_passes is not None:
            assert len(learner.lessons_done) == plan.size.lessons
        assert not set(learner.lessons_online) & set(learner.lessons_offline)


def test_expected_totals_of_children_sum_to_the_parent() -> None:
    plan = make_plan("small", seed=3)
    national = plan.expected_totals()
    by_province = [plan.expected_totals(p) for p in plan.provinces]
    for key, value in national.items():
        assert sum(p[key] for p in by_province) == value
    assert 0 < national["completed"] < national["registered"]
