"""The baseline brain's plan: the ladder, early stopping on noise, simpler-first ties, the clock."""

from __future__ import annotations

from loom.adapters.search.baseline import cv_plan, parse_metric, parse_profile, parse_spread
from loom.adapters.search.baseline_plan import PATIENCE, Plan, Result, Spec


def _run(plan: Plan, spec: Spec, mean: float | None, std: float = 0.01, seconds: float = 2.0) -> Result:
    plan.taken.add(spec.key)
    result = Result(f"n{len(plan.results)}", spec.family, spec.variant, mean, std, 5, seconds)
    plan.record(result)
    return result


def _next(plan: Plan, steps_left: int = 20, time_left: float | None = None, in_flight: int = 0):
    return plan.next(in_flight=in_flight, steps_left=steps_left, time_left=time_left)


def test_drafts_come_simplest_first_and_svm_only_on_small_data() -> None:
    small = Plan(task_type="classification", rows=500, maximize=True)
    assert [s.family for s in small.queue()] == ["dummy", "linear", "lightgbm", "extra_trees", "svm", "random_forest"]
    big = Plan(task_type="classification", rows=50_000, maximize=True, lightgbm=False)  # no LightGBM: a forest runs
    assert [s.family for s in big.queue()] == ["dummy", "linear", "hist_gb", "extra_trees", "random_forest"]
    # above 20k rows a random forest takes minutes per search and LightGBM covers it
    huge = Plan(task_type="classification", rows=25_000, maximize=True)
    assert [s.family for s in huge.queue()] == ["dummy", "linear", "lightgbm", "extra_trees"]
    assert "random_forest" in [s.family for s in Plan(task_type="regression", rows=160_000, maximize=False,
                                                           lightgbm=False).queue()]


def test_no_gain_beyond_the_noise_stops_early_then_the_ensemble_closes() -> None:
    plan = Plan(task_type="classification", rows=500, maximize=True)
    means = {"dummy": 0.5, "linear": 0.90, "lightgbm": 0.88, "extra_trees": 0.89}
    while (spec := _next(plan)) is not None and spec.family in means:
        _run(plan, spec, means[spec.family])
    assert not plan.stopped_early  # the core drafts never count
    for _ in range(PATIENCE):  # within one standard error (0.01 / sqrt(5)) of the best: no gain
        spec = _next(plan)
        assert isinstance(spec, Spec) and spec.family != "ensemble"
        _run(plan, spec, 0.903)
    assert plan.stopped_early and "standard error" in plan.stopped_early
    closing = _next(plan)
    assert isinstance(closing, Spec) and closing.family == "ensemble"
    assert closing.members[0] == ("n1", "linear")  # the best first: the ensemble's reference member
    _run(plan, closing, 0.91)
    assert _next(plan) is None


def test_a_real_gain_resets_the_patience() -> None:
    plan = Plan(task_type="regression", rows=500, maximize=False)
    for family, mean in (("dummy", 80.0), ("linear", 55.0), ("lightgbm", 57.0), ("extra_trees", 56.0)):
        _run(plan, Spec(family, 0), mean, std=2.0)
    _run(plan, Spec("svm", 0), 55.5, std=2.0)
    assert plan.stale == 1
    _run(plan, Spec("random_forest", 0), 50.0, std=2.0)  # beats 55 by more than 2 / sqrt(5)
    assert plan.stale == 0 and not plan.stopped_early


def test_ties_within_one_standard_error_break_toward_the_simpler_model() -> None:
    plan = Plan(task_type="classification", rows=500, maximize=True)
    _run(plan, Spec("lightgbm", 0), 0.951, std=0.02)
    _run(plan, Spec("linear", 0), 0.950, std=0.02)
    _run(plan, Spec("svm", 0), 0.90, std=0.02)
    assert [r.family for r in plan.ranked()] == ["linear", "lightgbm", "svm"]
    assert plan.best().family == "lightgbm"  # the reference a new result must beat stays the best mean


def test_the_last_step_is_kept_for_the_ensemble() -> None:
    plan = Plan(task_type="classification", rows=500, maximize=True)
    for family, mean in (("dummy", 0.5), ("linear", 0.8), ("lightgbm", 0.82)):
        _run(plan, Spec(family, 0), mean)
    assert _next(plan, steps_left=1).family == "ensemble"
    assert _next(plan, steps_left=1, in_flight=1) == "wait"  # every member's predictions first
    only_one = Plan(task_type="classification", rows=500, maximize=True)
    _run(only_one, Spec("dummy", 0), 0.5)
    assert _next(only_one, steps_left=1).family == "linear"  # nothing to combine yet: a model


def test_a_skewed_positive_target_tries_the_log_transform_first() -> None:
    plan = Plan(task_type="regression", rows=500, maximize=False)
    plan.profile = {"positive": True, "skew": 2.4}
    for family, mean in (("dummy", 80.0), ("linear", 50.0), ("lightgbm", 52.0), ("extra_trees", 60.0)):
        _run(plan, Spec(family, 0), mean, std=1.0)
    spec = _next(plan)  # before the other drafts: early stopping must not skip it
    assert spec.family == "linear" and spec.params == {"target": "log"} and spec.parent == "n1"
    flat = Plan(task_type="regression", rows=500, maximize=False)
    flat.profile = {"positive": True, "skew": 0.2}
    for family, mean in (("dummy", 80.0), ("linear", 50.0), ("lightgbm", 52.0), ("extra_trees", 60.0)):
        _run(flat, Spec(family, 0), mean, std=1.0)
    assert _next(flat).family == "svm"


def test_rmsle_on_a_target_with_zeros_tries_the_log_transform_too() -> None:
    for metric, expected in (("rmsle", "log"), ("rmse", None)):
        plan = Plan(task_type="regression", rows=500, maximize=False, metric=metric)
        plan.profile = {"positive": False, "nonnegative": True, "skew": 0.4}  # 41% zeros: not all positive
        for family, mean in (("dummy", 1.1), ("linear", 1.0), ("lightgbm", 1.02), ("extra_trees", 1.05)):
            _run(plan, Spec(family, 0), mean, std=0.01)
        assert _next(plan).params.get("target") == expected, metric


def test_the_time_budget_skips_what_does_not_fit() -> None:
    plan = Plan(task_type="classification", rows=2000, maximize=True)
    _run(plan, Spec("dummy", 0), 0.5, seconds=3.0)
    _run(plan, Spec("linear", 0), 0.8, seconds=5.0)  # 2 s of fitting per cost unit
    assert plan.estimate("random_forest") == 3.0 + 3 * 2.0
    # 8 s left: lightgbm (7 s) fits alone, but not with the ensemble's reserve once there are two members
    assert _next(plan, time_left=8.0).family == "lightgbm"
    _run(plan, Spec("lightgbm", 0), 0.82, seconds=7.0)
    assert _next(plan, time_left=8.0).family == "ensemble"
    assert _next(plan, time_left=1.0) is None


def test_candidate_output_is_parsed() -> None:
    out = ('Data profile: {"rows": 10, "skew": 1.5}\nValidation std (roc_auc): 0.012 over 10 folds\n'
           "Validation metric (roc_auc): 0.91\n")
    assert parse_metric(out) == 0.91 and parse_spread(out) == (0.012, 10)
    assert parse_profile(out) == {"rows": 10, "skew": 1.5}
    assert parse_metric("Validation metric (rmse): nan") is None and parse_spread("no std") == (None, 1)


def test_small_data_is_cross_validated_with_repeats() -> None:
    assert cv_plan(140, None) == (5, 3) and cv_plan(1600, None) == (5, 1) and cv_plan(900, 30.0) == (5, 1)
    assert cv_plan(500_000, None)[0] == 3
