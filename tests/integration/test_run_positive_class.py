"""The positive class a binary metric scores comes from the goal when it names one: "the probability
that a loan is bad" is graded, and delivered, as P(bad). Loom took the last class in order ('good')
whatever the goal said, and a grader scoring P(bad) saw ROC-AUC 0.17 against an estimate of 0.82."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.keyless_runs import binary, graded, run_keyless

sk = pytest.importorskip("sklearn.metrics")


def _loans(n: int, seed: int) -> pd.DataFrame:
    frame = binary(n, seed)
    return frame.assign(y=frame["y"].map({"yes": "bad", "no": "good"}))  # no conventional positive


@pytest.mark.parametrize(("goal", "positive", "said"), [
    ("Predict the probability that a loan is bad", "bad", "as the goal names it"),
    ("Predict y", "good", "to score 'bad', say so in the goal"),
])
def test_the_goal_names_the_class_whose_probability_is_scored_and_delivered(
        goal: str, positive: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload, user_test = run_keyless("Maximize ROC-AUC", partial(_loans), tmp_path, monkeypatch, goal=goal)
    assert payload["metric"]["positive_class"] == positive
    assert any(said in w for w in payload["warnings"]), payload["warnings"]
    run_dir = Path(payload["run_dir"])
    for row in payload["leaderboard"]:  # each grade is ROC-AUC of the node's column as P(positive)
        truth, p = graded(run_dir, row["node_id"], "selection", numbers=True)
        assert row["selection"] == pytest.approx(sk.roc_auc_score(truth == positive, p), rel=1e-9)
    best = payload["best"]
    assert best["selection"] > 0.7  # the model's column is P(positive): it ranks that class first
    # the delivered file holds P(positive) too: high where the user's rows are likely that class
    delivered = pd.read_csv(payload["paths"]["submission"]).set_index("id")["y"]
    truth_p_bad = 1 / (1 + np.exp(-(1.5 * user_test["x1"] - user_test["x2"] + (user_test["c"] == "a") - 0.5)))
    expected = truth_p_bad if positive == "bad" else 1 - truth_p_bad
    assert np.corrcoef(delivered.loc[user_test["id"]].to_numpy(), expected.to_numpy())[0, 1] > 0.6


@pytest.mark.parametrize(("spelling", "metric"), [({"yes": "TRUE", "no": "FALSE"}, "Maximize accuracy"),
                                                  ({"yes": "true", "no": "false"}, "Maximize ROC-AUC")])
def test_true_false_written_as_r_and_excel_write_them_are_graded_and_delivered_so(
        spelling: dict[str, str], metric: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas reads TRUE/true as the boolean True; a candidate writes "True". Graded as another class,
    every model scored 0 and the delivered file said True where train.csv says TRUE."""
    make = partial(lambda n, seed: (f := binary(n, seed)).assign(y=f["y"].map(spelling)))
    payload, _ = run_keyless(metric, make, tmp_path, monkeypatch, goal="Predict the flag")
    assert payload["metric"]["positive_class"] == "True"
    assert payload["best"]["selection"] > 0.6 and payload["estimate"]["value"] > 0.6, payload["warnings"]  # was 0
    delivered = pd.read_csv(payload["paths"]["submission"], dtype=str)["y"]
    if metric == "Maximize accuracy":
        assert set(delivered) == set(spelling.values())  # spelled as train.csv spells them
    else:
        assert delivered.astype(float).between(0, 1).all()  # P(TRUE), not labels
