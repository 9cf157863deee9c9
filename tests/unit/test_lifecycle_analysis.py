"""Lifecycle analysis without Metaflow: leakage flags, drift, validation, verdict rules, model card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loom.adapters.mlops.metaflow.lifecycle.analysis import drift, model_card, predictors, recipes, validation
from loom.application.evaluation import frames, leakage
from loom.domain.errors import UsageError
from loom.domain.lifecycle import LeakageFlag, Verdict, deploy_gate, drift_verdict, health_verdict, validate_verdict


def _table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 + 0.8 * x2 + rng.normal(scale=1.0, size=n) > 0).astype(int)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    return pd.DataFrame({
        "row": np.arange(n),
        "x1": x1,
        "x2": x2,
        "same": np.where(y == 1, "yes", "no"),
        "payout": np.where(y == 1, rng.uniform(1, 5, n), 0.0),
        "const": 7,
        "opened": start.strftime("%Y-%m-%d"),
        "closed": (start + pd.Timedelta(days=30)).strftime("%Y-%m-%d"),
        "y": y,
    })


def test_planted_leaks_are_flagged_and_honest_columns_are_not() -> None:
    flags = {(f.column, f.kind) for f in leakage.detect(_table(), "y", "classification")}
    assert ("same", "target_duplicate") in flags
    assert ("payout", "near_perfect_predictor") in flags
    assert ("row", "id_like") in flags
    assert ("const", "constant") in flags
    assert ("closed", "time_leakage") in flags
    assert not {c for c, _ in flags} & {"x1", "x2", "y"}


def test_one_date_per_row_is_a_feature_not_a_row_key() -> None:
    """Daily rows in a US date format: unique per row, like a key, but a date (not flagged id_like)."""
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({"when": pd.date_range("2019-01-01", periods=n).strftime("%m/%d/%Y"),
                       "ref": [f"A-{i:05d}" for i in range(n)], "x": rng.normal(size=n),
                       "y": rng.integers(0, 2, n)})
    flags = {(f.column, f.kind) for f in leakage.detect(df, "y", "classification")}
    assert ("ref", "id_like") in flags and not any(c == "when" for c, _ in flags)


def test_a_sentence_per_row_is_a_feature_not_a_row_key() -> None:
    """Reviews that carry the signal: unique per row, like a key, but text (flagged id_like, a run with
    --leaks drop fell from accuracy 0.84 to chance)."""
    rng = np.random.default_rng(5)
    n = 300
    words = np.array(["great", "awful", "fine", "broken", "love", "slow", "cheap", "solid"])
    df = pd.DataFrame({"review": [" ".join(rng.choice(words, 6)) + f" #{i}" for i in range(n)],
                       "ref": [f"R{i:06d}" for i in range(n)], "y": rng.integers(0, 2, n)})
    flags = {(f.column, f.kind) for f in leakage.detect(df, "y", "classification")}
    assert ("ref", "id_like") in flags and not any(c == "review" for c, _ in flags)


def test_regression_target_derived_column() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=300)})
    df["price"] = 3 * df["a"] + rng.normal(scale=2, size=300)
    df["price_k"] = df["price"] / 1000 + 0.001
    kinds = {f.column: f.kind for f in leakage.detect(df, "price", "regression")}
    assert kinds == {"price_k": "target_derived"}


def test_target_inference_and_bad_input() -> None:
    df = _table(50)
    assert frames.infer_target(df, df.drop(columns=["y"]), None, None) == "y"
    with pytest.raises(UsageError, match="no target"):
        frames.infer_target(df.rename(columns={"y": "outcome_zz"}), df.rename(columns={"y": "outcome_zz"}), None, None)
    with pytest.raises(UsageError, match="constant"):
        frames.check_target(df, "const")
    with pytest.raises(UsageError, match="empty"):
        frames.check_table(df.iloc[0:0])
    with pytest.raises(UsageError, match="not in the dataset"):
        frames.infer_target(df, None, None, "nope")


def test_baseline_cv_is_realistic_on_clean_data_and_perfect_on_leaky_data() -> None:
    df = _table(800)
    clean = df.drop(columns=["same", "payout", "row", "const", "closed"])
    pred = predictors.BaselinePredictor("y", "classification", [0, 1])
    r = validation.cross_validate(clean, "y", "classification", pred, folds=3, sensitive="x1" if False else None)
    assert r["metric"] == "roc_auc" and r["split"] == "stratified"
    assert 0.7 < r["holdout_score"] < 0.95 and not r["near_perfect"]
    assert 0 < r["brier"] < 0.25 and len(r["calibration"]["mean_predicted"]) > 3
    leaky = validation.cross_validate(df, "y", "classification", pred, folds=3)
    assert leaky["near_perfect"] and leaky["holdout_score"] > 0.995
    timed = validation.cross_validate(clean, "y", "classification", pred, folds=3, time_column="opened")
    assert timed["split"] == "time-ordered"


def test_script_predictor_runs_a_solution_like_the_search_does(tmp_path) -> None:  # noqa: ANN001
    code = (
        "import pandas as pd\n"
        "tr = pd.read_csv('./input/train.csv'); te = pd.read_csv('./input/test.csv')\n"
        "p = (te['x1'] + 0.8 * te['x2'] > 0).astype(float)\n"
        "pd.DataFrame({'id': te['id'], 'y': p}).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _table(300)[["x1", "x2", "y"]]
    sp = predictors.ScriptPredictor(code, "y", "classification", [0, 1])
    out = sp.fit_predict(df.iloc[:200], df.iloc[200:])
    assert out.shape == (100,) and set(np.unique(out)) <= {0.0, 1.0}
    broken = predictors.ScriptPredictor("raise SystemExit(3)", "y", "classification", [0, 1])
    from loom.domain.errors import ExecutionFailed

    with pytest.raises(ExecutionFailed):
        broken.fit_predict(df.iloc[:200], df.iloc[200:])


def test_psi_drift_on_a_shift_and_none_on_itself() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"t": rng.normal(20, 2, 1000), "c": rng.choice(list("ab"), 1000), "old": 1})
    cur = pd.DataFrame({"t": rng.normal(23, 2, 1000), "c": rng.choice(list("ab"), 1000), "new": 2})
    result = drift.compare(ref, cur)
    by = {d.column: d for d in result["columns"]}
    assert by["t"].drifted and by["t"].ks > 0.4 and not by["c"].drifted
    assert result["new_columns"] == ["new"] and result["missing_columns"] == ["old"]
    assert drift_verdict(result["columns"], result["new_columns"], result["missing_columns"])[0] is Verdict.ATTENTION
    same = drift.compare(ref, ref)
    assert drift_verdict(same["columns"], [], [])[0] is Verdict.HEALTHY


def test_recipes_drop_flags_but_keep_ids_and_time_split_columns() -> None:
    flags = [{"column": "a", "kind": "near_perfect_predictor", "detail": ""},
             {"column": "id", "kind": "id_like", "detail": ""},
             {"column": "when", "kind": "time_split", "detail": ""}]
    dropped, kept = recipes.columns_to_drop(flags, "y", keep=["id"])
    assert [f["column"] for f in dropped] == ["a"] and kept == []
    df = _table(100)
    tr, te, added = recipes.apply(df, df.drop(columns=["y"]), target="y", drop=["payout"], recipe="full")
    assert "payout" not in tr.columns and "opened_month" in added and list(te.columns) == [c for c in tr.columns if c != "y"]
    assert recipes.fingerprint(tr, te) == recipes.fingerprint(tr.copy(), te.copy())


def test_verdict_rules() -> None:
    ok = validate_verdict(metric="roc_auc", greater_is_better=True, cv_scores=[0.8, 0.82, 0.81], holdout=0.81,
                          baseline=0.5, leakage=[])
    assert ok[0] is Verdict.PASS
    leak = validate_verdict(metric="roc_auc", greater_is_better=True, cv_scores=[1.0, 1.0], holdout=1.0, baseline=0.5,
                            leakage=[LeakageFlag("a", "near_perfect_predictor", "")], near_perfect=True)
    assert leak[0] is Verdict.FAIL and "near-perfect" in leak[1][0]
    review = validate_verdict(metric="rmse", greater_is_better=False, cv_scores=[10, 11], holdout=10.5, baseline=20,
                              leakage=[LeakageFlag("a", "id_like", "")])
    assert review[0] is Verdict.REVIEW
    trivial = validate_verdict(metric="rmse", greater_is_better=False, cv_scores=[21, 22], holdout=21, baseline=20,
                               leakage=[])
    assert trivial[0] is Verdict.FAIL
    dummy = validate_verdict(metric="roc_auc", greater_is_better=True, cv_scores=[0.5, 0.5], holdout=0.5,
                             baseline=0.5, leakage=[])
    assert dummy[0] is Verdict.FAIL and "trivial" in dummy[1][0]
    assert deploy_gate(validate_verdict="PASS", holdout=0.8, floor=0.7)[0] is Verdict.ALLOW
    refused, reasons = deploy_gate(validate_verdict="REVIEW", holdout=0.6, floor=0.7)
    assert refused is Verdict.REFUSE and len(reasons) == 2
    assert deploy_gate(validate_verdict=None, holdout=None, floor=None)[0] is Verdict.REFUSE
    assert health_verdict(10, 10, 0, False)[0] is Verdict.HEALTHY
    assert health_verdict(10, 5, 5, True)[0] is Verdict.ATTENTION


def test_model_card_never_crowns_a_failed_run() -> None:
    rows = [{"pathspec": "V/1", "score": 1.0, "verdict": "FAIL", "metric": "roc_auc"},
            {"pathspec": "V/2", "score": 0.8, "verdict": "PASS", "metric": "roc_auc"},
            {"pathspec": "C/3", "score": None}]
    s = model_card.summarize(rows)
    assert s["best"]["pathspec"] == "V/2" and [r["pathspec"] for r in s["leaderboard"]] == ["V/1", "V/2", "C/3"]
    html = model_card.to_html("t", s, {"V/1": "FAIL"})
    assert "<script" not in html and "V/2" in html
    assert "| 2 | `V/2`" in model_card.markdown("t", s, {})


def test_ks_statistic_equals_scipys() -> None:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    for a, b in ((rng.normal(size=500), rng.normal(0.3, 1.2, size=700)), (rng.integers(0, 5, 300), rng.integers(1, 6, 200)),
                 (np.array([1.0, 1.0, 2.0]), np.array([1.0, 3.0]))):
        assert drift.ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_validate_keeps_each_set_of_copies_on_one_side_when_test_rows_are_new() -> None:
    rng = np.random.default_rng(8)
    base = pd.DataFrame({"x1": rng.normal(size=500).round(3), "x2": rng.normal(size=500).round(3)})
    base["y"] = (np.sin(3 * base["x1"]) + base["x2"] * base["x1"] + rng.normal(scale=0.5, size=500)).round(3)
    train = base.loc[base.index.repeat(rng.integers(1, 5, 500))].sample(frac=1, random_state=0).reset_index(drop=True)
    test = pd.DataFrame({"x1": rng.normal(size=100).round(3), "x2": rng.normal(size=100).round(3)})
    pred = predictors.BaselinePredictor("y", "regression", [])
    copied = validation.cross_validate(train, "y", "regression", pred, folds=3, test=test)
    assert copied["split"] == "copies"
    groups = validation.copy_groups(train, test, ["y"])
    assert groups is not None
    shared = pd.Series(groups).groupby(train[["x1", "x2"]].astype(str).agg("|".join, axis=1)).nunique()
    assert (shared == 1).all()  # one code per set of identical rows
    as_test = validation.cross_validate(train, "y", "regression", pred, folds=3, test=train.drop(columns="y"))
    assert as_test["split"] == "k-fold"  # test.csv repeats train's rows as often: nothing changes
    assert copied["holdout_score"] > 1.5 * as_test["holdout_score"]  # scored on copies, a memoriser looked good


@pytest.mark.parametrize("classes", [["Class A", "Class B", "Class C"], ["no", "yes"]])
def test_script_predictor_reads_a_submission_of_one_probability_column_per_class(classes: list[str]) -> None:
    """What a log-loss search's solution writes (validate read its last column as labels: accuracy 0)."""
    code = (
        "import numpy as np, pandas as pd\n"
        "te = pd.read_csv('./input/test.csv')\n"
        f"classes = {classes!r}\n"
        "pick = (te['x1'] > 0).astype(int) + (te['x2'] > 1).astype(int) * (len(classes) - 2)\n"
        "p = np.full((len(te), len(classes)), 0.1); p[np.arange(len(te)), pick] = 0.8\n"
        "pd.concat([te[['uid']], pd.DataFrame(p, columns=classes)], axis=1).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _table(300)[["x1", "x2"]].assign(uid=[f"u{i}" for i in range(300)], y=classes[0])  # a key named otherwise
    sp = predictors.ScriptPredictor(code, "y", "classification", classes)
    test = df.iloc[200:]
    out = sp.fit_predict(df.iloc[:200], test)
    pick = (test["x1"] > 0).astype(int) + (test["x2"] > 1).astype(int) * (len(classes) - 2)
    if len(classes) == 2:
        assert np.allclose(out, np.where(pick == 1, 0.8, 0.1))  # the positive class's probability
    else:
        assert (out == pick.to_numpy()).all()  # the most probable class's code


def test_script_predictor_matches_ids_written_with_leading_zeros() -> None:
    """Ids "03001", ... read back by the solution's pandas as 3001 and written in another order: the
    same rows (validate failed: "the solution's submission misses predictions for some test ids")."""
    code = (
        "import pandas as pd\n"
        "te = pd.read_csv('./input/test.csv').sample(frac=1, random_state=0)\n"
        "pd.DataFrame({'id': te['id'], 'y': te['x1']}).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _table(300)[["x1", "x2"]].assign(id=[f"{3000 + i:05d}" for i in range(300)], y=0.0)
    sp = predictors.ScriptPredictor(code, "y", "regression", [])
    out = sp.fit_predict(df.iloc[:200], df.iloc[200:])
    assert np.allclose(out, df["x1"].iloc[200:].to_numpy())


def test_script_predictor_matches_classes_written_with_leading_zeros() -> None:
    """A class the data object holds as "04" is 4 once a solution's pandas reads it back."""
    code = (
        "import pandas as pd\n"
        "te = pd.read_csv('./input/test.csv')\n"
        "pd.DataFrame({'id': te['id'], 'y': (te['x1'] > 0).astype(int) + 3}).to_csv('./working/submission.csv', index=False)\n"
    )
    df = _table(300)[["x1", "x2"]].assign(y="03")
    sp = predictors.ScriptPredictor(code, "y", "classification", ["03", "04"])
    out = sp.fit_predict(df.iloc[:200], df.iloc[200:])
    assert (out == (df["x1"].iloc[200:] > 0).astype(float).to_numpy()).all()


def test_a_strong_honest_predictor_is_kept_for_review_and_a_perfect_one_dropped() -> None:
    """price = 10 exp(x0) + noise: x0 alone reaches R² 0.98, so it is flagged; `features` dropped it,
    and the pipeline's model fell to the trivial baseline (validate FAIL). Only an all-but-perfect
    column (a leak: ROC-AUC 1.000) is dropped now; the strong one is kept and named."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3000, 3))
    strong = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2],
                           "price": (np.exp(x[:, 0]) * 10 + rng.normal(size=3000)).round(2)})
    flags = [f.as_dict() for f in leakage.detect(strong, "price", "regression")]
    assert [(f["column"], f["kind"]) for f in flags] == [("x0", "near_perfect_predictor")]
    assert 0.98 <= flags[0]["score"] < 0.995
    assert recipes.columns_to_drop(flags, "price", keep=[]) == ([], flags)
    leaky = [f.as_dict() for f in leakage.detect(_table(), "y", "classification") if f.kind == "near_perfect_predictor"]
    assert [f["column"] for f in leaky] == ["payout"] and leaky[0]["score"] >= 0.995
    assert recipes.columns_to_drop(leaky, "y", keep=[]) == (leaky, [])
