"""A qualifier that changes what a metric measures is read as the catalog metric it names exactly, or is exit 2.

Transforms of the target, curves, averages over the classes or over groups, one class, quantiles and
aggregations of rows: Loom never scores the plain row-level metric in place of the one asked for.
"""

from __future__ import annotations

import pytest

from loom.domain.errors import UsageError
from loom.domain.metrics import CATALOG, parse_metric


@pytest.mark.parametrize("sentence, name", [
    # RMSE of log1p(y) is RMSLE exactly (log(1 + prediction) against log(1 + truth)); MSE of it is MSLE
    ("Minimize RMSE of log1p(price)", "rmsle"),
    ("RMSE (log1p target)", "rmsle"),
    ("RMSE on the log1p scale", "rmsle"),
    ("RMSE of np.log1p(y)", "rmsle"),
    ("Minimize RMSE of log(1 + price)", "rmsle"),
    ("RMSE of log(y+1)", "rmsle"),
    ("Minimize the RMSE of ln(1+y)", "rmsle"),
    ("Minimize MSE of log1p(y)", "msle"),
    # the area under the precision-recall curve, however it is said, is PR-AUC
    ("Maximize AUC of the PR curve", "pr_auc"),
    ("PR-curve AUC", "pr_auc"),
    ("AUC on PR", "pr_auc"),
    ("AUC under PR", "pr_auc"),
    ("area under the PR curve (AUC)", "pr_auc"),
    ("Maximize the AUC under the precision-recall curve", "pr_auc"),
    ("Maximize AUC of the ROC curve", "roc_auc"),
    # an average over the classes is the catalog's class average
    ("Maximize F1 averaged over classes", "f1_macro"),
    ("mean F1 across the three classes", "f1_macro"),
    ("Maximize the unweighted mean of per-class F1", "f1_macro"),
    ("Maximize F1, averaged over all classes", "f1_macro"),
    ("accuracy averaged over classes", "balanced_accuracy"),
    ("Maximize mean per-class accuracy", "balanced_accuracy"),
    ("Maximize average class accuracy", "balanced_accuracy"),
    ("Maximize class-wise mean accuracy", "balanced_accuracy"),
    ("Maximize macro accuracy", "balanced_accuracy"),
    ("Maximize ROC-AUC averaged over classes", "roc_auc"),  # Loom's ROC-AUC: one-vs-rest, macro average
    ("Maximize weighted F1 averaged over classes", "f1_weighted"),
    # the positive class is what these metrics score already
    ("Maximize F1 of the positive class", "f1"),
    ("Maximize ROC-AUC for the positive class", "roc_auc"),
    # words that change nothing
    ("Maximize accuracy across all three classes", "accuracy"),
    ("Minimize log loss over all classes", "log_loss"),
    ("Maximize multi-class accuracy", "accuracy"),
    ("Minimize the mean log loss", "log_loss"),
    ("Maximize mean accuracy", "accuracy"),
])
def test_a_qualifier_that_names_a_catalog_metric_exactly_is_read_as_it(sentence: str, name: str) -> None:
    spec = parse_metric(sentence)
    assert (spec.name, spec.maximize) == (name, CATALOG[name].maximize)


@pytest.mark.parametrize("sentence, named, why", [
    # a transform other than log1p
    ("RMSE of ln(price)", "'ln'", "transforms"),
    ("Minimize MAE of log10 price", "'log10'", "transforms"),
    ("MAE on log10(y)", "'log10'", "transforms"),
    ("Minimize RMSE of log2(y)", "'log2'", "transforms"),
    ("Minimize RMSE of the natural log of the price", "'natural'", "transforms"),
    ("Minimize RMSE of log base 10 of price", "'base 10'", "transforms"),
    ("Minimize RMSE of sqrt(y)", "'sqrt'", "transforms"),
    ("Minimize MAE of log1p(y)", "'log1p'", "RMSLE"),  # MAE of log1p is not a catalog metric
    ("MAE of log price", "'log'", "transforms"),
    # a curve Loom has no area for
    ("Maximize AUC of the DET curve", "'curve'", "PR-AUC"),
    # an average over the classes Loom does not compute, or no average named
    ("Maximize F2 averaged over classes", "'averaged over classes'", "macro F1"),
    ("Maximize PR-AUC averaged over classes", "'averaged over classes'", "macro F1"),  # binary: not the positive AP
    ("Maximize F1 per class", "'per class'", "Maximize macro F1"),
    ("Maximize F1 over all classes", "'over all classes'", "Maximize macro F1"),
    ("Maximize the mean F1 score", "'mean'", "macro F1"),
    ("Minimize mean RMSE", "'mean'", "once over the rows"),
    ("Maximize unweighted accuracy", "'unweighted'", "balanced accuracy"),
    # one class: the goal names a binary target's positive class, the metric sentence does not
    ("Maximize accuracy of the minority class", "'of the minority class'", "one class"),
    ("Maximize accuracy for class B", "'for class b'", "one class"),
    ("Maximize F1 for class 'no'", "'for class no'", "the positive class is <label>"),
    ("Maximize F1 of the negative class", "'of the negative class'", "--goal"),
    ("Maximize accuracy of the positive class", "'of the positive class'", "one class"),
    ("Maximize class-B accuracy", "'class b'", "one class"),
    # a quantile
    ("MAE at the 90th percentile", "'90th percentile'", "quantile"),
    ("RMSE of the 90th percentile", "'90th percentile'", "quantile"),
    ("Minimize RMSE at p90", "'p90'", "quantile"),
    ("Minimize worst-case RMSE", "'worst case'", "quantile"),
    # an aggregation of rows, or an average over groups
    ("RMSE of daily totals", "'daily totals'", "aggregates"),
    ("RMSE of the sum", "'sum'", "aggregates"),
    ("CV(RMSE)", "'cv'", "aggregates"),
    ("Minimize the coefficient of variation of the RMSE", "'coefficient of variation'", "aggregates"),
    ("Minimize MAE for each store", "'for each store'", "aggregates"),
    ("ROC-AUC averaged over months", "'averaged over months'", "over groups"),
    ("Minimize RMSE averaged across stores", "'averaged across stores'", "over groups"),
    # a comparison with a reference forecast is another metric, not its base score
    ("Maximize Brier skill score", "'skill score'", "not compute"),
    # Loom's MAPE is a fraction: a percentage is another number (the same ranking, said honestly)
    ("Minimize MAPE in percent", "'in percent'", "fraction"),
    ("Minimize MAPE as a percentage", "'percentage'", "fraction"),
])
def test_a_qualifier_that_changes_what_is_measured_is_exit_2_saying_why(sentence: str, named: str, why: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_metric(sentence)
    line = err.value.line()
    assert err.value.exit_code == 2 and "\n" not in line
    assert named in line and why in line and "--metric-name" in line, line


def test_a_skill_score_is_never_offered_its_base_metric_as_an_equivalent() -> None:
    with pytest.raises(UsageError) as err:
        parse_metric("Maximize Brier skill score")
    assert "Minimize Brier score" not in err.value.line()


@pytest.mark.parametrize("sentence, name", [
    ("Minimize MAPE", "mape"), ("mean absolute percentage error", "mape"), ("Maximize ROC-AUC", "roc_auc"),
    ("Minimize RMSLE", "rmsle"), ("macro F1", "f1_macro"), ("weighted F1", "f1_weighted"),
    ("balanced accuracy", "balanced_accuracy"), ("Matthews correlation", "mcc"), ("QWK", "qwk"),
    ("log loss", "log_loss"), ("multi-class log loss", "log_loss"), ("PR-AUC", "pr_auc"),
    ("average precision", "pr_auc"), ("R2", "r2"), ("median absolute error", "medae"),
    ("Maximize ROC AUC (macro average)", "roc_auc"), ("Maximize F1 (micro-averaged)", "f1_micro"),
    ("Minimize sMAPE (%)", "smape"), ("Minimize the RMSE of the log of the price", "rmsle"),
])
def test_the_plain_names_still_read_as_before(sentence: str, name: str) -> None:
    assert parse_metric(sentence).name == name


def test_a_second_curve_is_a_second_metric() -> None:
    for sentence in ("Maximize ROC-AUC and PR-AUC", "Maximize AUC of PR and ROC"):
        with pytest.raises(UsageError, match="ROC-AUC"):
            parse_metric(sentence)


def test_the_way_the_refusal_says_to_name_one_class_is_what_the_goal_reads() -> None:
    from loom.domain.positive import choose

    with pytest.raises(UsageError) as err:
        parse_metric("Maximize F1 for class 'no'")
    assert "the positive class is <label>" in err.value.line()
    goal = "Predict whether a customer renews; the positive class is no"
    assert choose(["yes", "no"], goal, "renews").label == "no"  # then "Maximize F1" scores F1 of 'no'
    assert parse_metric("Maximize F1").name == "f1"
