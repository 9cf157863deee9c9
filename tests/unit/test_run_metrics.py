"""`--metric` sentences: every catalog metric by name and by phrase, and never a silent simplification."""

from __future__ import annotations

import pytest

from loom.domain.errors import UsageError
from loom.domain.metrics import CATALOG, KNOWN, parse_metric

AIDE_HOUSE_PRICES = ("Minimize RMSE between the logarithm of the predicted value and the logarithm of the "
                     "observed sales price")


@pytest.mark.parametrize("sentence, name, maximize", [
    ("Maximize ROC-AUC", "roc_auc", True),
    ("maximize the area under the ROC curve", "roc_auc", True),
    ("Maximize multiclass ROC AUC (one-vs-rest)", "roc_auc", True),
    ("Maximize PR-AUC", "pr_auc", True),
    ("Maximize average precision", "pr_auc", True),
    ("Maximize accuracy", "accuracy", True),
    ("Maximize balanced accuracy", "balanced_accuracy", True),
    ("Maximize F1 score", "f1", True),
    ("Maximize macro F1", "f1_macro", True),
    ("Maximize F1 (micro-averaged)", "f1_micro", True),
    ("Maximize weighted F1", "f1_weighted", True),
    ("Maximize the Matthews correlation coefficient", "mcc", True),
    ("Maximize MCC", "mcc", True),
    ("Maximize quadratic weighted kappa", "qwk", True),
    ("Maximize QWK", "qwk", True),
    ("Minimize log loss", "log_loss", False),
    ("Minimize multiclass cross-entropy", "log_loss", False),
    ("Minimize root mean squared error", "rmse", False),
    ("RMSE", "rmse", False),
    ("Minimize MSE", "mse", False),
    ("Minimize MAE", "mae", False),
    ("Minimize RMSLE", "rmsle", False),
    ("Minimize the RMSE of the log of the price", "rmsle", False),
    (AIDE_HOUSE_PRICES, "rmsle", False),
    ("Minimize MAPE", "mape", False),
    ("Minimize mean absolute percentage error", "mape", False),
    ("Maximize R²", "r2", True),
    ("Maximize the coefficient of determination", "r2", True),
    ("Predict the sale price; lower RMSE is better", "rmse", False),
    ("Maximize Gini", "gini", True),
    ("Maximize normalized Gini", "gini", True),
    ("Maximize the normalised Gini coefficient", "gini", True),
    ("Maximize normalised Gini (coefficient)", "gini", True),
    ("Maximize the Gini coefficient", "gini", True),
    ("Maximize Gini (normalized)", "gini", True),
    ("Minimize Brier", "brier", False),
    ("Minimize the Brier score", "brier", False),
    ("Minimize Brier score (loss)", "brier", False),
    ("Minimize brier_score_loss", "brier", False),
    ("Minimize SMAPE", "smape", False),
    ("Minimize sMAPE (%)", "smape", False),
    ("Minimize symmetric mean absolute percentage error", "smape", False),
    ("Minimize symmetric mean absolute percent error", "smape", False),
    ("Minimize symmetric MAPE", "smape", False),
    ("Minimize median absolute error", "medae", False),
    ("Minimize MedAE", "medae", False),
    ("Minimize MdAE", "medae", False),
    # the same metric named twice, by its name and its abbreviation, is one metric
    ("RMSLE — Root Mean Squared Logarithmic Error", "rmsle", False),
    ("Maximize Matthews correlation coefficient (MCC)", "mcc", True),
    ("Minimize Root Mean Squared Error (RMSE)", "rmse", False),
    ("Maximize Quadratic Weighted Kappa (QWK)", "qwk", True),
])
def test_metric_sentences_parse_with_their_direction(sentence: str, name: str, maximize: bool) -> None:
    spec = parse_metric(sentence)
    assert (spec.name, spec.maximize) == (name, maximize)


def test_every_catalog_name_is_a_metric_name() -> None:
    for name in KNOWN:
        assert parse_metric(None, name).name == name
    assert parse_metric("Maximize it", "F1-macro").name == "f1_macro"
    assert parse_metric("Minimize it", "RMSLE").name == "rmsle"


@pytest.mark.parametrize("sentence, named", [
    ("Minimize MAE of the log price", "'log'"),
    ("Maximize F1 weighted by revenue", "'by revenue'"),
    ("Maximize accuracy per user", "'per user'"),
    ("Maximize top-3 accuracy", "'top 3'"),
    ("Maximize weighted ROC-AUC", "'weighted'"),
    ("Maximize ROC AUC one-vs-one", "'one vs one'"),
    ("Maximize adjusted R2", "'adjusted'"),
    ("Maximize ROC-AUC and accuracy", "accuracy"),
    ("Maximize accuracy at a threshold of 0.3", "'threshold'"),
    ("Minimize symmetric RMSE", "'symmetric'"),
    ("Minimize median RMSE", "'median'"),
    ("Minimize median MAE", "'median'"),
    ("Minimize normalized RMSE", "'normalized'"),
    ("Minimize MAPE (%)", "'%'"),  # Loom's MAPE is a fraction: a percentage would be another number
    ("Maximize weighted Gini", "'weighted'"),
    ("Minimize Gini impurity", "'impurity'"),
    ("Maximize ROC-AUC and normalized Gini", "normalized Gini"),
    ("Minimize log loss and Brier score", "log loss"),
    ("Minimize SMAPE of the log", "'log'"),
    ("Minimize median absolute error per store", "'per store'"),
])
def test_a_qualifier_loom_does_not_understand_is_exit_2_naming_it(sentence: str, named: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_metric(sentence)
    line = err.value.line()
    assert err.value.exit_code == 2 and named in line and "--metric-name" in line


def test_unknown_metric_asks_for_a_known_name_or_metric_name() -> None:
    with pytest.raises(UsageError) as err:
        parse_metric("Minimize pinball loss")
    assert "--metric-name" in err.value.line() and err.value.exit_code == 2
    assert parse_metric("Minimize pinball loss", "mae").name == "mae"  # the user said which
    assert parse_metric("Maximize normalized Gini", "roc_auc").name == "roc_auc"
    with pytest.raises(UsageError):
        parse_metric("Maximize kappa", "kappa")


@pytest.mark.parametrize("sentence, name", [
    ("Minimize MAPE", "mape"), ("Minimize mean absolute percentage error", "mape"),
    ("Minimize SMAPE", "smape"), ("Minimize symmetric mean absolute percentage error", "smape"),
    ("Minimize mean absolute error", "mae"), ("Minimize MAE", "mae"),
    ("Minimize median absolute error", "medae"), ("Maximize ROC-AUC", "roc_auc"), ("Maximize Gini", "gini"),
    ("Minimize log loss", "log_loss"), ("Minimize Brier score", "brier"),
])
def test_neighbouring_metrics_never_collide(sentence: str, name: str) -> None:
    assert parse_metric(sentence).name == name
    with pytest.raises(UsageError):
        parse_metric("Minimize median absolute percentage error")  # MdAPE: neither MAPE nor MedAE


def test_every_label_reads_back_as_its_metric_with_its_direction() -> None:
    for name, info in CATALOG.items():
        verb = "Maximize" if info.maximize else "Minimize"
        assert parse_metric(f"{verb} {info.label}").name == name  # what a direction error tells the user to write


def test_a_direction_against_the_metric_is_refused() -> None:
    with pytest.raises(UsageError, match="Minimize RMSE"):
        parse_metric("Maximize RMSE")
    with pytest.raises(UsageError, match="Maximize quadratic weighted kappa"):
        parse_metric("Minimize QWK")
    with pytest.raises(UsageError, match="Maximize normalized Gini"):
        parse_metric("Minimize Gini")
    with pytest.raises(UsageError, match="Minimize SMAPE"):
        parse_metric("Maximize SMAPE")


def test_perfect_values_follow_the_metric() -> None:
    assert parse_metric("Maximize ROC-AUC").is_perfect(1.0)
    assert not parse_metric("Maximize ROC-AUC").is_perfect(0.999)
    assert parse_metric("Minimize RMSE").is_perfect(0.0)
    assert parse_metric("Maximize Gini").is_perfect(1.0) and parse_metric("Minimize Brier").is_perfect(0.0)
    assert parse_metric("Minimize SMAPE").is_perfect(0.0) and parse_metric("Minimize MedAE").is_perfect(0.0)
    assert {"gini", "brier", "smape", "medae"} <= set(KNOWN)
    assert (CATALOG["gini"].input, CATALOG["brier"].input) == ("probability", "probability")
    assert (CATALOG["smape"].kind, CATALOG["medae"].kind) == ("regression", "regression")
    assert all(m.definition for m in CATALOG.values())


# ---- MSLE, F-beta, Pearson, Spearman, explained variance, error rate -------------------------------
@pytest.mark.parametrize("sentence, name, maximize", [
    ("Minimize Mean Squared Logarithmic Error", "msle", False),
    ("Minimize MSLE", "msle", False),
    ("Minimize mean squared log error", "msle", False),
    ("Minimize the MSE of the log of the price", "msle", False),
    ("MSLE (mean squared logarithmic error)", "msle", False),
    ("Maximize the F2 score", "f2", True),
    ("Maximize F2", "f2", True),
    ("Maximize F_2", "f2", True),
    ("Maximize F-beta with beta 2", "f2", True),
    ("Maximize Fbeta score (beta = 2)", "f2", True),
    ("Maximize the F-score with beta=2", "f2", True),
    ("Maximize F0.5", "f0_5", True),
    ("Maximize F0.5 score", "f0_5", True),
    ("Maximize F beta=0.5", "f0_5", True),
    ("Maximize F beta=.5", "f0_5", True),
    ("Maximize F-beta (β = 0.5)", "f0_5", True),
    ("Maximize F-beta with beta 1", "f1", True),  # F-beta at beta 1 is F1 itself
    ("Maximize Pearson correlation", "pearson", True),
    ("Maximize Pearson's r", "pearson", True),
    ("Maximize the Pearson correlation coefficient between prediction and target", "pearson", True),
    ("Maximize Spearman correlation", "spearman", True),
    ("Maximize Spearman's rank correlation coefficient (rho)", "spearman", True),
    ("Maximize Spearman ρ", "spearman", True),
    ("Maximize explained variance", "explained_variance", True),
    ("Maximize the explained variance score", "explained_variance", True),
    ("Minimize error rate", "error_rate", False),
    ("Minimize the classification error rate", "error_rate", False),
    ("Minimize misclassification rate", "error_rate", False),
    ("Minimize misclassification error", "error_rate", False),
    ("Minimize 0-1 loss", "error_rate", False),
    ("Minimize 1 - accuracy", "error_rate", False),
])
def test_the_newer_metrics_parse_with_their_direction(sentence: str, name: str, maximize: bool) -> None:
    spec = parse_metric(sentence)
    assert (spec.name, spec.maximize) == (name, maximize)


@pytest.mark.parametrize("sentence, name", [
    ("Minimize MSLE", "msle"), ("Minimize RMSLE", "rmsle"), ("Minimize MSE", "mse"), ("Minimize RMSE", "rmse"),
    ("Minimize mean squared logarithmic error", "msle"), ("Minimize root mean squared logarithmic error", "rmsle"),
    ("Minimize mean squared error", "mse"),
    ("Maximize F1", "f1"), ("Maximize F2", "f2"), ("Maximize F0.5", "f0_5"), ("Maximize F1 score", "f1"),
    ("Maximize macro F1", "f1_macro"),
    ("Maximize explained variance", "explained_variance"), ("Maximize R2", "r2"),
    ("Maximize the coefficient of determination", "r2"),
    ("Minimize error rate", "error_rate"), ("Maximize accuracy", "accuracy"), ("Maximize balanced accuracy", "balanced_accuracy"),
    ("Maximize Pearson correlation", "pearson"), ("Maximize Spearman correlation", "spearman"),
    ("Maximize Matthews correlation coefficient", "mcc"),
    ("Maximize average precision", "pr_auc"), ("Maximize precision-recall AUC", "pr_auc"),
])
def test_the_newer_metrics_never_collide_with_their_neighbours(sentence: str, name: str) -> None:
    assert parse_metric(sentence).name == name


@pytest.mark.parametrize("sentence, named", [
    ("Maximize F1 and F2", "F1"),
    ("Maximize explained variance (R2)", "R²"),
    ("Maximize accuracy (error rate)", "accuracy"),
    ("Maximize squared Pearson correlation", "'squared'"),  # r², not R², and not r
    ("Minimize sqrt of MSLE", "'sqrt'"),
    ("Maximize top-1 accuracy", "'top 1'"),
    ("Maximize macro F2", "'macro'"),
    ("Maximize weighted Pearson correlation", "'weighted'"),
    ("Minimize MSLE per store", "'per store'"),
])
def test_a_qualifier_next_to_a_newer_metric_is_exit_2_naming_it(sentence: str, named: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_metric(sentence)
    assert err.value.exit_code == 2 and named in err.value.line() and "--metric-name" in err.value.line()


@pytest.mark.parametrize("sentence, says", [
    ("Maximize recall", ['"Maximize F2" (favours recall)', '"Maximize F0.5" (favours precision)', "every row positive"]),
    ("Maximize precision", ['"Maximize F0.5" (favours precision)', "almost none"]),
    ("Maximize sensitivity", ['"Maximize F2"']),
    ("Maximize recall of the positive class", ['"Maximize F2"']),
    ("Maximize macro recall", ['"Maximize balanced accuracy"']),
    ("Maximize F3", ["beta 3", "F2", "F0.5"]),
    ("Maximize F-beta with beta 0.25", ["beta 0.25"]),
    ("Maximize F-beta", ["say which beta", '"Maximize F2"']),
    ("Maximize correlation", ['"Maximize Pearson correlation"', '"Maximize Spearman correlation"']),
    ("Maximize rank correlation", ["which correlation"]),
])
def test_precision_recall_alone_an_unknown_beta_and_a_bare_correlation_are_one_useful_line(sentence: str,
                                                                                        says: list[str]) -> None:
    with pytest.raises(UsageError) as err:
        parse_metric(sentence)
    line = err.value.line()
    assert err.value.exit_code == 2 and "\n" not in line
    assert all(s in line for s in says), line


def test_the_newer_metrics_read_back_by_name_and_round_trip_as_plain_values() -> None:
    from dataclasses import asdict

    from loom.domain.metrics import MetricSpec

    for name in ("msle", "f2", "f0_5", "pearson", "spearman", "explained_variance", "error_rate"):
        spec = parse_metric(None, name)
        assert spec.name == name and MetricSpec(**asdict(spec)) == spec  # journals store name/maximize/sentence
    assert parse_metric("Maximize it", "F0.5").name == "f0_5" and parse_metric("Maximize it", "F2").name == "f2"
    assert parse_metric("Maximize it", "explained variance").name == "explained_variance"
    assert parse_metric("Minimize MSLE").is_perfect(0.0) and parse_metric("Maximize F2").is_perfect(1.0)
    assert parse_metric("Minimize error rate").is_perfect(0.0) and parse_metric("Maximize Pearson r").is_perfect(1.0)
    assert parse_metric("Minimize error rate").bounded and parse_metric("Maximize F0.5").bounded
    assert not parse_metric("Minimize MSLE").bounded and not parse_metric("Minimize Brier score").bounded
    with pytest.raises(UsageError, match="Minimize error rate"):
        parse_metric("Maximize error rate")
    with pytest.raises(UsageError, match="Maximize F2"):
        parse_metric("Minimize F2")
