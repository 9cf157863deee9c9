"""`loom run --search baseline --mlops local`: keyless, real candidates, graded by Loom.

The selection grades and the final estimate Loom reports are recomputed here independently
(scikit-learn on the sealed labels and the candidates' own submission files).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loom.entrypoints.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
HOUSES = ROOT / "examples" / "house_prices"


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _sealed(run_dir: Path) -> Path:
    """The run's sealed labels, wherever the run store keeps them."""
    from loom.application.run_search.artifacts import RunStore

    return RunStore(run_dir.parents[1], run_dir.name).sealed_dir


def _independent_holdout(run_dir: Path, node_id: str, id_col: str, target: str,
                         slice_name: str = "selection") -> tuple[list[str], list[str]]:
    labels = {r[id_col]: r[target] for r in _rows(_sealed(run_dir) / f"{slice_name}.csv")}
    preds = {r[id_col]: r[target] for r in _rows(run_dir / "nodes" / node_id / "submission.csv")}
    keys = sorted(labels)
    return [labels[k] for k in keys], [preds[k] for k in keys]


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("baseline_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOOM_HOME", str(home))
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        import io
        import sys

        out = io.StringIO()
        mp.setattr(sys, "stdout", out)
        code = _main(["run", "--search", "baseline", "--mlops", "local", "--data", str(CHURN),
                      "--goal", "Predict churn", "--metric", "Maximize ROC-AUC", "--steps", "2", "--json"])
    return {"code": code, "payload": json.loads(out.getvalue()), "home": home}


def test_keyless_run_finishes_with_a_leaderboard(churn_run: dict) -> None:
    payload = churn_run["payload"]
    assert churn_run["code"] == 0 and payload["status"] == "OK"
    assert payload["nodes"] == 2 and len(payload["leaderboard"]) == 2
    assert [row["kind"] for row in payload["leaderboard"]] == ["draft", "draft"]
    best = payload["best"]
    assert best["selection"] > 0.7 and best["self_reported"] > 0.7  # better than the dummy floor (0.5)
    floor = [r for r in payload["leaderboard"] if r["self_reported"] == pytest.approx(0.5)]
    assert floor and floor[0]["selection"] == pytest.approx(0.5)
    assert all(r["ranked_on"] == "selection" for r in payload["leaderboard"]) and "selection" in payload["ranked_by"]


def test_holdout_metric_is_recomputed_independently(churn_run: dict) -> None:
    from sklearn.metrics import roc_auc_score

    payload = churn_run["payload"]
    run_dir = Path(payload["run_dir"])
    for row in payload["leaderboard"]:
        y, p = _independent_holdout(run_dir, row["node_id"], "customer_id", "churn")
        assert row["selection"] == pytest.approx(roc_auc_score([int(v) for v in y], [float(v) for v in p]))
    estimate = payload["estimate"]
    y, p = _independent_holdout(run_dir, payload["best"]["node_id"], "customer_id", "churn", "final")
    assert estimate["value"] == pytest.approx(roc_auc_score([int(v) for v in y], [float(v) for v in p]))
    assert estimate["low"] < estimate["value"] < estimate["high"] and estimate["rows"] == 200
    # the sealed rows never reached the candidates as training rows; the two slices are disjoint
    assert not (run_dir / "sealed").exists()  # outside runs/: no candidate folder leads there
    selection = {r["customer_id"] for r in _rows(_sealed(run_dir) / "selection.csv")}
    final = {r["customer_id"] for r in _rows(_sealed(run_dir) / "final.csv")}
    train_ids = {r["customer_id"] for r in _rows(run_dir / "task" / "input" / "train.csv")}
    assert selection and final and not (selection | final) & train_ids and not selection & final
    assert len(selection) + len(final) == 400  # 20% of 2000


def test_run_artifacts_and_corpus(churn_run: dict) -> None:
    run_dir = Path(churn_run["payload"]["run_dir"])
    for name in ("journal.json", "leaderboard.json", "best_solution.py", "submission.csv", "tree.html", "manifest.json"):
        assert (run_dir / name).is_file(), name
    submission = _rows(run_dir / "submission.csv")
    test_ids = [r["customer_id"] for r in _rows(CHURN / "test.csv")]
    assert [r["customer_id"] for r in submission] == test_ids  # the user's test rows only, in order
    tree = (run_dir / "tree.html").read_text()
    assert "<script" not in tree and "http" not in tree.split("<body>")[0]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["outcome"]["status"] == "OK" and manifest["versions"]["python"]
    assert manifest["inputs"]["files"][0]["sha256"]
    corpus = [json.loads(line) for line in (churn_run["home"] / "corpus" / "nodes.jsonl").read_text().splitlines()]
    assert len(corpus) == 2 and all(r["tenant"] == "local" and r["owned_by"] for r in corpus)


def test_the_submission_is_the_best_refit_on_every_labelled_row(churn_run: dict) -> None:
    payload = churn_run["payload"]
    run_dir, best = Path(payload["run_dir"]), payload["best"]["node_id"]
    refit = payload["refit"]
    assert refit["used"] and refit["node_id"] == best and refit["why"] is None
    assert refit["rows"] == len(_rows(CHURN / "train.csv")) == 2000  # train slice + both sealed slices
    assert json.loads((run_dir / "leaderboard.json").read_text())["refit"] == refit
    delivered = {r["customer_id"]: r["churn"] for r in _rows(run_dir / "submission.csv")}
    refit_out = {r["customer_id"]: r["churn"] for r in _rows(run_dir / "nodes" / f"{best}-refit" / "submission.csv")}
    chosen = {r["customer_id"]: r["churn"] for r in _rows(run_dir / "nodes" / best / "submission.csv")}
    assert set(refit_out) == set(delivered) and all(refit_out[k] == v for k, v in delivered.items())
    assert any(chosen[k] != v for k, v in delivered.items())  # a different fit, not the chosen one's predictions
    assert not (_sealed(run_dir) / "refit").exists()  # the refit input held the sealed labels: gone


def test_regression_run_through_the_use_case(tmp_path: Path) -> None:
    from sklearn.metrics import mean_squared_error

    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    config = LoomConfig.load(flags={"home": str(tmp_path), "search_provider": "baseline",
                                    "mlops_provider": "local", "budget_steps": 2, "workers": 2, "refit": False})
    events = []
    from loom.application.ports.observer import CallbackObserver

    result = build_container(config).run_search()(
        RunRequest(data=HOUSES, goal="Predict the sale price", metric="Minimize RMSE"),
        observer=CallbackObserver(events.append))
    assert result.status.value == "OK" and len(result.nodes) == 2
    best = result.best
    y, p = _independent_holdout(Path(result.run_dir), best.id, "id", "price")
    assert best.selection == pytest.approx(mean_squared_error([float(v) for v in y], [float(v) for v in p]) ** 0.5)
    assert result.estimate is not None and result.estimate.node_id == best.id
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("node_finished") == 2
    # --no-refit: the delivered submission is the chosen node's own predictions for the user's rows
    assert result.refit is not None and not result.refit["used"] and "--no-refit" in result.refit["why"]
    chosen = {r["id"]: r["price"] for r in _rows(Path(best.submission))}
    delivered = _rows(Path(result.run_dir) / "submission.csv")
    assert [r["id"] for r in delivered] == [r["id"] for r in _rows(HOUSES / "test.csv")]
    assert all(chosen[r["id"]] == r["price"] for r in delivered)


def test_an_ensemble_best_is_refit_whole_members_first(tmp_path: Path) -> None:
    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    config = LoomConfig.load(env_file=None, flags={"home": str(tmp_path), "search_provider": "baseline",
                                                   "mlops_provider": "local"})
    result = build_container(config).run_search()(
        RunRequest(data=HOUSES, goal="Predict the sale price", metric="Minimize RMSE"))
    best, run_dir = result.best, Path(result.run_dir)
    assert best is not None and best.plan.startswith("[baseline ensemble") and best.combined  # the precondition
    refit = result.refit
    assert refit is not None and refit["used"] and refit["rows"] == len(_rows(HOUSES / "train.csv"))
    assert not any("features for" in w for w in result.warnings)  # many rows per feature: nothing to say
    refit_members = {p.name[:-len("-refit")] for p in (run_dir / "nodes").glob("*-refit")} - {best.id}
    assert refit["members"] == len(refit_members) >= 1 and refit_members <= {n.id for n in result.nodes}
    searched = json.loads((run_dir / "nodes" / best.id / "working" / "ensemble.json").read_text())
    assert refit_members == {m["node_id"] for m in searched["members"]}  # only what it weighted is refit
    refit_out = {r["id"]: r["price"] for r in _rows(run_dir / "nodes" / f"{best.id}-refit" / "submission.csv")}
    delivered = _rows(run_dir / "submission.csv")
    assert [r["id"] for r in delivered] == [r["id"] for r in _rows(HOUSES / "test.csv")]
    assert all(refit_out[r["id"]] == r["price"] for r in delivered)
    # the ensemble's refit combined its members' refit predictions, as its own manifest says
    combined = json.loads((run_dir / "nodes" / f"{best.id}-refit" / "working" / "ensemble.json").read_text())
    assert combined["members"] and {m["node_id"] for m in combined["members"]} <= refit_members
    # best_solution.py runs alone (validate, deploy, a user): its members first, then the combination,
    # predicting what the ensemble candidate predicted from the same input
    import shutil
    import subprocess
    import sys

    alone = tmp_path / "alone"
    shutil.copytree(run_dir / "task" / "input", alone / "input")
    (alone / "working").mkdir()
    shutil.copyfile(run_dir / "best_solution.py", alone / "best_solution.py")
    done = subprocess.run([sys.executable, "best_solution.py"], cwd=alone, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _rows(alone / "working" / "submission.csv") == _rows(Path(best.submission))
    assert not (alone / "working" / ".loom_members").exists()
    # validate runs it in the candidate sandbox on its own folds (it failed: "no member predictions")
    import pandas as pd

    from loom.adapters.mlops.metaflow.lifecycle.analysis import predictors

    train = pd.read_csv(HOUSES / "train.csv")
    solution = predictors.ScriptPredictor((run_dir / "best_solution.py").read_text(), "price", "regression", [])
    values = solution.fit_scores(train.iloc[:300], train.iloc[300:]).values
    assert values is not None and len(values) == len(train) - 300 and pd.notna(values).all()


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The ladder on churn with two workers: drafts, then the ensemble on the last step."""
    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    home = tmp_path_factory.mktemp("ladder_home")
    config = LoomConfig.load(env_file=None, flags={"home": str(home), "search_provider": "baseline",
                                                   "mlops_provider": "local", "budget_steps": 6, "workers": 2})
    return build_container(config).run_search()(
        RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"))


def _frame(path: Path):  # noqa: ANN202
    import pandas as pd

    return pd.read_csv(path)


def test_every_candidate_reports_a_cross_validated_mean_and_spread(ladder_run) -> None:  # noqa: ANN001
    assert ladder_run.status.value == "OK" and len(ladder_run.nodes) == 6
    run_dir = Path(ladder_run.run_dir)
    for node in ladder_run.nodes:
        assert not node.buggy, node.term_out[-2000:]
        cv = json.loads((run_dir / "nodes" / node.id / "working" / "cv.json").read_text())
        assert node.metric == pytest.approx(cv["mean"], abs=1e-6)
        assert node.metric_std == pytest.approx(cv["std"], abs=1e-6) and len(cv["folds"]) >= 5
        assert "over" in node.analysis and "CV folds" in node.analysis
    rows = {r["node_id"]: r for r in ladder_run.to_dict()["leaderboard"]}
    assert all(rows[n.id]["self_reported_std"] == n.metric_std for n in ladder_run.nodes)
    families = [node.plan.split("]")[0].split()[1].split("/")[0] for node in ladder_run.nodes]
    # two workers: recorded as they finish; the drafts come first, the ensemble last
    assert set(families[:5]) == {"dummy", "linear", "lightgbm", "extra_trees", "svm"} and families[-1] == "ensemble"
    assert [n.kind for n in ladder_run.nodes] == ["draft"] * 5 + ["ensemble"]  # the leaderboard says what it is
    assert not (run_dir / "stage").exists() or not any((run_dir / "stage").iterdir())  # staged inputs removed


def test_the_ensemble_node_predicts_the_combination_its_manifest_claims(ladder_run) -> None:  # noqa: ANN001
    import numpy as np
    from sklearn.metrics import roc_auc_score

    run_dir = Path(ladder_run.run_dir)
    node = ladder_run.nodes[-1]
    manifest = json.loads((run_dir / "nodes" / node.id / "working" / "ensemble.json").read_text())
    members = {p["node_id"]: p["weight"] for p in manifest["members"]}
    assert members and sum(members.values()) == pytest.approx(1.0)
    others = {n.id for n in ladder_run.nodes[:-1]}
    assert set(members) <= others and all(nid[:8] in node.plan for nid in members)
    positive = manifest["classes"].index("1")
    combo = sum(w * _frame(run_dir / "nodes" / nid / "working" / "test_pred.csv")[f"p{positive}"].to_numpy()
                for nid, w in members.items())
    submission = _frame(run_dir / "nodes" / node.id / "submission.csv")
    assert np.allclose(submission["churn"].to_numpy(), combo, atol=1e-9)
    # on the leaderboard like any other candidate, graded by Loom on the selection slice
    row = next(r for r in ladder_run.to_dict()["leaderboard"] if r["node_id"] == node.id)
    y, p = _independent_holdout(run_dir, node.id, "customer_id", "churn")
    assert row["selection"] == pytest.approx(roc_auc_score([int(v) for v in y], [float(v) for v in p]))
    assert row["ranked_on"] == "selection"


def test_a_time_budget_ends_the_run_within_the_budget_plus_one_candidate_timeout(tmp_path: Path) -> None:
    import time

    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    budget, timeout = 20.0, 30.0
    config = LoomConfig.load(env_file=None, flags={
        "home": str(tmp_path), "search_provider": "baseline", "mlops_provider": "local", "budget_steps": 50,
        "time_budget": budget, "exec_timeout": timeout})
    use_case = build_container(config).run_search()
    started = time.monotonic()
    result = use_case(RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"))
    elapsed = time.monotonic() - started
    assert elapsed < budget + timeout, elapsed
    assert result.status.value == "OK" and 1 <= len(result.nodes) < 50
    assert all(n.exec_time <= min(timeout, budget + 5.0) + 2.0 for n in result.nodes)


def test_a_run_without_test_rows_delivers_no_submission_and_says_so(tmp_path: Path) -> None:
    """Only train.csv: the run chooses and estimates a solution, and lists no submission.csv (it
    wrote one holding only a header, and listed it)."""
    import shutil

    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    data = tmp_path / "only_train"
    data.mkdir()
    shutil.copyfile(HOUSES / "train.csv", data / "train.csv")
    config = LoomConfig.load(env_file=None, flags={"home": str(tmp_path / "home"), "search_provider": "baseline",
                                                   "mlops_provider": "local", "budget_steps": 1, "workers": 1})
    result = build_container(config).run_search()(
        RunRequest(data=data, goal="Predict the sale price", metric="Minimize RMSE"))
    assert result.status.value == "OK" and result.best is not None and result.estimate is not None
    assert "submission" not in result.paths and "best_solution" in result.paths
    assert not (Path(result.run_dir) / "submission.csv").exists()
    assert any("no submission.csv was written" in w for w in result.warnings)
    manifest = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert "submission" not in json.dumps(manifest.get("outcome", {}).get("paths", {}))


def test_a_refit_on_few_rows_per_feature_is_said_to_beat_the_estimate(tmp_path: Path) -> None:
    """300 features on 500 rows: the refit on every row scored 1.45 RMSE where the estimate of the same
    code on 350 rows said 1.86 [1.60, 2.12]. The run says so; with few features per row it does not."""
    import numpy as np
    import pandas as pd

    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    rng = np.random.default_rng(3)
    n, k = 200, 40
    x = rng.normal(size=(n + 50, k)).round(3)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(k)]).assign(y=(x[:, :10].sum(axis=1)).round(3))
    data = tmp_path / "wide"
    data.mkdir()
    frame.iloc[:n].to_csv(data / "train.csv", index=False)
    frame.iloc[n:].drop(columns="y").to_csv(data / "test.csv", index=False)
    config = LoomConfig.load(env_file=None, flags={"home": str(tmp_path / "home"), "search_provider": "baseline",
                                                   "mlops_provider": "local", "budget_steps": 2, "workers": 1})
    result = build_container(config).run_search()(RunRequest(data=data, goal="Predict y", metric="Minimize RMSE"))
    assert result.refit is not None and result.refit["used"]
    said = [w for w in result.warnings if "features for" in w]
    assert len(said) == 1 and f"refit on {n:,}" in said[0], result.warnings
