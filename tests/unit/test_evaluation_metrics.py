"""Loom's numpy metrics equal scikit-learn's (with sample weights = bootstrap counts), and the
final estimate's interval behaves: seeded, honest on small slices, degenerate never."""

from __future__ import annotations

import numpy as np
import pytest

from loom.application.evaluation.interval import bootstrap, is_wide, wilson
from loom.application.evaluation.metrics import Scorer, ScoringError
from loom.domain.metrics import MetricSpec, parse_metric

sk = pytest.importorskip("sklearn.metrics")


def _spec(name: str) -> MetricSpec:
    return parse_metric(None, name)


@pytest.fixture(params=[0, 1, 2])
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    return np.random.default_rng(request.param)


def _weights(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(float)


@pytest.mark.parametrize("name, fn", [
    ("rmse", lambda y, p, w: sk.mean_squared_error(y, p, sample_weight=w) ** 0.5),
    ("mse", lambda y, p, w: sk.mean_squared_error(y, p, sample_weight=w)),
    ("mae", lambda y, p, w: sk.mean_absolute_error(y, p, sample_weight=w)),
    ("rmsle", lambda y, p, w: sk.mean_squared_log_error(y, p, sample_weight=w) ** 0.5),
    ("mape", lambda y, p, w: sk.mean_absolute_percentage_error(y, p, sample_weight=w)),
    ("r2", lambda y, p, w: sk.r2_score(y, p, sample_weight=w)),
])
def test_value_metrics_equal_sklearn(name: str, fn, rng: np.random.Generator) -> None:
    y = rng.lognormal(3, 1, 300)
    p = np.abs(y + rng.normal(0, 5, 300))
    w = _weights(rng, 300)
    scorer = Scorer(_spec(name), y, p)
    assert scorer() == pytest.approx(fn(y, p, None), rel=1e-9)
    assert scorer(w) == pytest.approx(fn(y, p, w), rel=1e-9)


def _smape(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    """SMAPE straight from its definition (Kaggle's, in percent), row by row."""
    terms = [0.0 if a == f == 0 else abs(f - a) / ((abs(a) + abs(f)) / 2) for a, f in zip(y, p)]
    return 100 * float(np.average(terms, weights=w))


@pytest.mark.parametrize("name, fn", [
    ("medae", lambda y, p, w: sk.median_absolute_error(y, p, sample_weight=w)),
    ("smape", _smape),
])
def test_new_value_metrics_equal_their_reference_with_zeros_ties_and_weights(name: str, fn,
                                                                            rng: np.random.Generator) -> None:
    y = np.round(rng.normal(0, 3, 301))  # integers: zeros in truth, tied errors, and rows where y = p = 0
    p = np.where(rng.random(301) < 0.3, y, np.round(y + rng.normal(0, 2, 301)))
    assert ((y == 0) & (p == 0)).any() and ((y == 0) & (p != 0)).any()
    for w in (None, _weights(rng, 301), rng.random(301), rng.integers(0, 2, 301).astype(float)):
        assert Scorer(_spec(name), y, p)(w) == pytest.approx(fn(y, p, w), rel=1e-12, abs=1e-12)


def test_medae_takes_the_middle_of_an_even_count_and_smape_is_a_percentage() -> None:
    y, p = np.array([0.0, 0, 0, 0]), np.array([1.0, 2, 3, 4])
    assert Scorer(_spec("medae"), y, p)() == 2.5 == sk.median_absolute_error(y, p)
    assert Scorer(_spec("medae"), y, p)(np.array([1.0, 1, 1, 2])) == 3.0  # half the weight (2.5) falls inside the 3
    assert sk.median_absolute_error(y, p, sample_weight=[1, 1, 1, 2]) == 3.0
    assert Scorer(_spec("smape"), np.array([0.0, 100, 1]), np.array([0.0, 0, 1]))() == pytest.approx(200 / 3)
    assert Scorer(_spec("smape"), np.array([100.0]), np.array([110.0]))() == pytest.approx(100 * 10 / 105)


@pytest.mark.parametrize("name, fn", [
    ("accuracy", lambda t, q, w: sk.accuracy_score(t, q, sample_weight=w)),
    ("balanced_accuracy", lambda t, q, w: sk.balanced_accuracy_score(t, q, sample_weight=w)),
    ("f1_macro", lambda t, q, w: sk.f1_score(t, q, average="macro", sample_weight=w)),
    ("f1_micro", lambda t, q, w: sk.f1_score(t, q, average="micro", sample_weight=w)),
    ("f1_weighted", lambda t, q, w: sk.f1_score(t, q, average="weighted", sample_weight=w)),
    ("mcc", lambda t, q, w: sk.matthews_corrcoef(t, q, sample_weight=w)),
    ("qwk", lambda t, q, w: sk.cohen_kappa_score(t, q, weights="quadratic", labels=[0, 1, 2, 3], sample_weight=w)),
])
def test_label_metrics_equal_sklearn_on_multiclass(name: str, fn, rng: np.random.Generator) -> None:
    t = rng.integers(0, 4, 250)
    q = np.where(rng.random(250) < 0.6, t, rng.integers(0, 4, 250))
    w = _weights(rng, 250)
    scorer = Scorer(_spec(name), t, q, n_classes=4)
    assert scorer() == pytest.approx(fn(t, q, None), abs=1e-12)
    assert scorer(w) == pytest.approx(fn(t, q, w), abs=1e-12)


def test_unknown_predicted_labels_count_as_their_own_class_like_sklearn() -> None:
    t = np.array([0, 1, 2, 0, 1, 2])
    q = np.array([0, 1, 3, 0, 2, 2])  # 3 = a label the target never had
    assert Scorer(_spec("f1_macro"), t, q, n_classes=3)() == pytest.approx(sk.f1_score(t, q, average="macro"))
    assert Scorer(_spec("accuracy"), t, q, n_classes=3)() == pytest.approx(4 / 6)
    with pytest.raises(ScoringError):
        Scorer(_spec("qwk"), t, q, n_classes=3)


def test_binary_f1_is_the_positive_class(rng: np.random.Generator) -> None:
    t = rng.integers(0, 2, 200)
    q = np.where(rng.random(200) < 0.7, t, 1 - t)
    w = _weights(rng, 200)
    assert Scorer(_spec("f1"), t, q, n_classes=2, positive=1)(w) == pytest.approx(sk.f1_score(t, q, sample_weight=w))
    assert Scorer(_spec("f1"), t, q, n_classes=2, positive=0)() == pytest.approx(sk.f1_score(t, q, pos_label=0))


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc", "log_loss"])
def test_binary_probability_metrics_equal_sklearn(name: str, rng: np.random.Generator) -> None:
    t = rng.integers(0, 2, 300)
    p = np.clip(np.round(0.3 * t + rng.random(300) * 0.7, 2), 0, 1)  # rounded: ties exercise the rank average
    w = _weights(rng, 300)
    fn = {"roc_auc": sk.roc_auc_score, "pr_auc": sk.average_precision_score,
          "log_loss": lambda a, b, sample_weight=None: sk.log_loss(a, b, sample_weight=sample_weight)}[name]
    scorer = Scorer(_spec(name), t, np.column_stack([1 - p, p]), n_classes=2, positive=1)
    assert scorer() == pytest.approx(fn(t, p), rel=1e-9)
    assert scorer(w) == pytest.approx(fn(t, p, sample_weight=w), rel=1e-9)


@pytest.mark.parametrize("positive", [1, 0])
def test_gini_and_brier_equal_sklearn_on_the_positive_class(positive: int, rng: np.random.Generator) -> None:
    t = rng.integers(0, 2, 300)
    p = np.clip(np.round(0.3 * t + rng.random(300) * 0.7, 2), 0, 1)  # P(class 1), ties included
    P = np.column_stack([1 - p, p])
    score = P[:, positive]
    truth = (t == positive).astype(int)
    for w in (None, _weights(rng, 300), rng.random(300)):
        gini = Scorer(_spec("gini"), t, P, n_classes=2, positive=positive)(w)
        assert gini == pytest.approx(2 * sk.roc_auc_score(truth, score, sample_weight=w) - 1, rel=1e-9)
        brier = Scorer(_spec("brier"), t, P, n_classes=2, positive=positive)(w)
        assert brier == pytest.approx(sk.brier_score_loss(t, score, pos_label=positive, sample_weight=w), rel=1e-9)
    # a submission holds the positive-class probability alone: 1-D in, same numbers
    assert Scorer(_spec("brier"), t, p, n_classes=2)() == pytest.approx(sk.brier_score_loss(t, p), rel=1e-9)
    assert Scorer(_spec("gini"), t, t.astype(float), n_classes=2)() == 1.0  # perfect ranking


def test_gini_and_brier_refuse_what_they_cannot_score() -> None:
    t = np.array([0, 1, 2, 1])
    with pytest.raises(ScoringError, match="binary"):
        Scorer(_spec("gini"), t, np.full((4, 3), 1 / 3), n_classes=3)
    with pytest.raises(ScoringError, match="binary"):
        Scorer(_spec("brier"), t, np.full((4, 3), 1 / 3), n_classes=3)
    with pytest.raises(ScoringError, match="between 0 and 1"):
        Scorer(_spec("brier"), np.array([0, 1]), np.array([0.2, 1.5]), n_classes=2)
    with pytest.raises(ScoringError, match="more than one class"):
        Scorer(_spec("gini"), np.ones(5, dtype=int), np.full(5, 0.7), n_classes=2)()


def test_the_bootstrap_interval_holds_for_the_new_metrics() -> None:
    rng = np.random.default_rng(7)
    t = rng.integers(0, 2, 400)
    p = np.clip(0.4 * t + rng.random(400) * 0.6, 0, 1)
    y = rng.lognormal(2, 1, 400)
    f = y * rng.uniform(0.7, 1.3, 400)
    for scorer in (Scorer(_spec("gini"), t, p, n_classes=2), Scorer(_spec("brier"), t, p, n_classes=2),
                   Scorer(_spec("smape"), y, f), Scorer(_spec("medae"), y, f)):
        value, low, high, resamples, _ = bootstrap(scorer, seed=1)
        assert low is not None and high is not None and low < value < high and resamples == 1000, scorer.name
        assert bootstrap(scorer, seed=1)[1:3] == (low, high)  # seeded


def test_multiclass_probability_metrics_equal_sklearn(rng: np.random.Generator) -> None:
    t = rng.integers(0, 3, 300)
    raw = rng.random((300, 3)) + np.eye(3)[t]
    P = raw / raw.sum(axis=1, keepdims=True)
    w = _weights(rng, 300)
    auc = Scorer(_spec("roc_auc"), t, P, n_classes=3)
    assert auc() == pytest.approx(sk.roc_auc_score(t, P, multi_class="ovr", average="macro"), rel=1e-9)
    ap = np.mean([sk.average_precision_score(t == k, P[:, k], sample_weight=w) for k in range(3)])
    assert Scorer(_spec("pr_auc"), t, P, n_classes=3)(w) == pytest.approx(ap, rel=1e-9)
    assert Scorer(_spec("log_loss"), t, P, n_classes=3)(w) == pytest.approx(sk.log_loss(t, P, sample_weight=w), rel=1e-9)
    # rows that do not sum to 1 are rescaled first (said in the metric's definition)
    assert Scorer(_spec("log_loss"), t, raw, n_classes=3)() == pytest.approx(sk.log_loss(t, P), rel=1e-9)


def test_one_class_rows_cannot_score_auc() -> None:
    with pytest.raises(ScoringError):
        Scorer(_spec("roc_auc"), np.ones(10, dtype=int), np.column_stack([np.zeros(10), np.ones(10)]), n_classes=2)()


def test_bootstrap_interval_is_seeded_and_covers_the_value() -> None:
    rng = np.random.default_rng(5)
    t = rng.integers(0, 2, 400)
    p = np.clip(0.4 * t + rng.random(400) * 0.6, 0, 1)
    scorer = Scorer(_spec("roc_auc"), t, np.column_stack([1 - p, p]), n_classes=2)
    first, second = bootstrap(scorer, seed=3), bootstrap(scorer, seed=3)
    assert first == second
    value, low, high, resamples, method = first
    assert low < value < high and resamples == 1000 and "bootstrap" in method
    # the width is about 2 x 1.96 Hanley-McNeil standard errors of this AUC
    n1, n2 = int(t.sum()), int((1 - t).sum())
    q1, q2 = value / (2 - value), 2 * value ** 2 / (1 + value)
    se = ((value * (1 - value) + (n1 - 1) * (q1 - value ** 2) + (n2 - 1) * (q2 - value ** 2)) / (n1 * n2)) ** 0.5
    assert 0.7 < (high - low) / (2 * 1.96 * se) < 1.4


def test_a_perfect_score_on_few_rows_gets_a_wilson_floor() -> None:
    t = np.array([0, 1, 2] * 6 + [0])
    scorer = Scorer(_spec("accuracy"), t, t.copy(), n_classes=3)
    value, low, high, _, method = bootstrap(scorer, seed=0)
    assert value == high == 1.0 and low == pytest.approx(wilson(1.0, 19)[0]) and 0.8 < low < 0.86
    assert "Wilson" in method and is_wide(value, low, high, bounded=True)


def test_wide_rule() -> None:
    assert not is_wide(0.85, 0.80, 0.90, bounded=True)
    assert is_wide(0.85, 0.70, 0.95, bounded=True)
    assert is_wide(50.0, 35.0, 70.0, bounded=False) and not is_wide(50.0, 45.0, 55.0, bounded=False)
    assert is_wide(1.0, None, None, bounded=True)


# ---- MSLE, explained variance, Pearson, Spearman, F2 / F0.5, error rate ----------------------------
stats = pytest.importorskip("scipy.stats")


def _counts_and_floats(rng: np.random.Generator, n: int) -> list[np.ndarray | None]:
    return [None, _weights(rng, n), rng.random(n), rng.integers(0, 2, n).astype(float)]


@pytest.mark.parametrize("name, fn", [
    ("msle", lambda y, p, w: sk.mean_squared_log_error(y, p, sample_weight=w)),
    ("explained_variance", lambda y, p, w: sk.explained_variance_score(y, p, sample_weight=w)),
])
def test_msle_and_explained_variance_equal_sklearn_with_weights(name: str, fn, rng: np.random.Generator) -> None:
    y = np.round(rng.lognormal(1, 1, 301), 1)  # ties and a few zeros
    p = np.maximum(0, y + rng.normal(0.5, 2, 301))  # biased: explained variance forgives the offset, R² does not
    for w in _counts_and_floats(rng, 301):
        assert Scorer(_spec(name), y, p)(w) == pytest.approx(fn(y, p, w), rel=1e-10, abs=1e-12)
    assert Scorer(_spec("explained_variance"), y, y + 3)() == pytest.approx(1.0) and Scorer(_spec("r2"), y, y + 3)() < 0.9
    assert Scorer(_spec("explained_variance"), np.full(5, 2.0), np.arange(5.0))() == 0.0  # constant truth
    assert Scorer(_spec("explained_variance"), np.full(5, 2.0), np.full(5, 7.0))() == 1.0  # as scikit-learn
    assert Scorer(_spec("msle"), y, p)() == pytest.approx(Scorer(_spec("rmsle"), y, p)() ** 2, rel=1e-12)
    with pytest.raises(ScoringError, match="MSLE needs predictions and labels above -1"):
        Scorer(_spec("msle"), np.array([1.0, -1.0]), np.array([1.0, 1.0]))


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """np.cov with analytic weights (its own weighted covariance), normalized."""
    c = np.cov(x, y, aweights=w)
    return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))


def test_pearson_and_spearman_equal_scipy_on_each_resample(rng: np.random.Generator) -> None:
    y = np.round(rng.normal(0, 3, 250))  # integers: many ties for the ranks
    p = np.round(0.6 * y + rng.normal(0, 2, 250), 1)
    pearson, spearman = Scorer(_spec("pearson"), y, p), Scorer(_spec("spearman"), y, p)
    assert pearson() == pytest.approx(stats.pearsonr(y, p)[0], rel=1e-10)
    assert spearman() == pytest.approx(stats.spearmanr(y, p)[0], rel=1e-10)
    for _ in range(5):  # bootstrap counts: the value on the resample itself, its ties re-ranked
        w = _weights(rng, 250)
        y_r, p_r = np.repeat(y, w.astype(int)), np.repeat(p, w.astype(int))
        assert pearson(w) == pytest.approx(stats.pearsonr(y_r, p_r)[0], rel=1e-10)
        assert spearman(w) == pytest.approx(stats.spearmanr(y_r, p_r)[0], rel=1e-10)
    w = rng.random(250)  # float weights: weighted covariance; ranks = weight below + half the tie's weight
    assert pearson(w) == pytest.approx(_weighted_pearson(y, p, w), rel=1e-10)
    assert spearman(w) == pytest.approx(_weighted_pearson(*(_weighted_midranks(v, w) for v in (y, p)), w), rel=1e-10)
    assert spearman(w * 7.5) == pytest.approx(spearman(w), rel=1e-10)  # a scale of the weights changes nothing


def _weighted_midranks(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.array([w[v < x].sum() + w[v == x].sum() / 2 for x in v])


def test_correlations_of_a_constant_are_0_and_a_monotone_fit_is_perfect() -> None:
    y = np.array([1.0, 2, 3, 4, 5])
    for name in ("pearson", "spearman"):
        assert Scorer(_spec(name), y, np.full(5, 3.0))() == 0.0  # a constant prediction: no correlation
        assert Scorer(_spec(name), np.full(5, 3.0), y)() == 0.0
        assert Scorer(_spec(name), y, y * 10 - 4)() == pytest.approx(1.0)
        assert Scorer(_spec(name), y, -y)() == pytest.approx(-1.0)
        # a resample keeping two rows of one value is constant too
        assert Scorer(_spec(name), y, np.array([1.0, 1, 2, 2, 3]))(np.array([1.0, 1, 0, 0, 0])) == 0.0
    assert Scorer(_spec("spearman"), y, np.exp(y))() == 1.0 and Scorer(_spec("pearson"), y, np.exp(y))() < 0.95


@pytest.mark.parametrize("positive", [1, 0])
def test_f2_f05_and_error_rate_equal_sklearn(positive: int, rng: np.random.Generator) -> None:
    t = rng.integers(0, 2, 300)
    q = np.where(rng.random(300) < 0.7, t, 1 - t)
    for w in _counts_and_floats(rng, 300):
        for name, beta in (("f2", 2.0), ("f0_5", 0.5)):
            got = Scorer(_spec(name), t, q, n_classes=2, positive=positive)(w)
            assert got == pytest.approx(sk.fbeta_score(t, q, beta=beta, pos_label=positive, sample_weight=w), rel=1e-10)
        error = Scorer(_spec("error_rate"), t, q, n_classes=2, positive=positive)(w)
        assert error == pytest.approx(sk.zero_one_loss(t, q, sample_weight=w), rel=1e-10)
    # F2 favours recall: predicting every row positive beats predicting few; F0.5 the other way round
    few = np.where(t == positive, np.where(rng.random(300) < 0.3, positive, 1 - positive), 1 - positive)
    everyone = np.full(300, positive)
    def score(name: str, q: np.ndarray) -> float:
        return Scorer(_spec(name), t, q, n_classes=2, positive=positive)()

    assert score("f2", everyone) > score("f2", few) and score("f0_5", everyone) < score("f0_5", few)
    assert Scorer(_spec("f2"), np.zeros(4, int), np.zeros(4, int), n_classes=2)() == 0.0  # no positives at all
    assert sk.fbeta_score(np.zeros(4, int), np.zeros(4, int), beta=2, zero_division=0.0) == 0.0


def test_error_rate_on_a_multiclass_target_and_f_beta_refusing_one() -> None:
    t = np.array([0, 1, 2, 2, 1, 0, 2])
    q = np.array([0, 2, 2, 2, 1, 1, 5])  # 5: a label the training data never had
    assert Scorer(_spec("error_rate"), t, q, n_classes=3)() == pytest.approx(3 / 7)
    with pytest.raises(ScoringError, match="binary"):
        Scorer(_spec("f2"), t, q, n_classes=3)


def test_the_bootstrap_interval_holds_for_the_newer_metrics() -> None:
    rng = np.random.default_rng(11)
    t = rng.integers(0, 2, 400)
    q = np.where(rng.random(400) < 0.8, t, 1 - t)
    y = rng.lognormal(2, 1, 400)
    f = y * rng.uniform(0.7, 1.3, 400) + 1
    for scorer in (Scorer(_spec("f2"), t, q, n_classes=2), Scorer(_spec("f0_5"), t, q, n_classes=2),
                   Scorer(_spec("error_rate"), t, q, n_classes=2), Scorer(_spec("msle"), y, f),
                   Scorer(_spec("pearson"), y, f), Scorer(_spec("spearman"), y, f),
                   Scorer(_spec("explained_variance"), y, f)):
        value, low, high, resamples, _ = bootstrap(scorer, seed=2)
        assert low is not None and high is not None and low < value < high and resamples == 1000, scorer.name
    # an error rate of 0 on 19 rows is a proportion too: [0, 0.17], not the bootstrap's [0, 0]
    t19 = np.array([0, 1] * 9 + [1])
    value, low, high, _, method = bootstrap(Scorer(_spec("error_rate"), t19, t19.copy(), n_classes=2), seed=0)
    assert value == low == 0.0 and high == pytest.approx(wilson(0.0, 19)[1]) and 0.14 < high < 0.2
    assert "Wilson" in method
