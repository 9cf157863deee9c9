"""Loom's baseline brain vs FLAML at the same wall time, scored on rows neither tool saw.

For each dataset (scikit-learn's wine, breast_cancer and diabetes; examples/churn and
examples/house_prices) and each repeat (seed), the bench first cuts a test split (20%,
stratified for classification) that neither tool ever sees. Then it runs the README's job on
the rest: `loom run --search baseline --mlops local` with default settings (wall time W, Loom's
start-up included), then FLAML's AutoML on the same rows with `time_budget=W` (FLAML lives in
its own venv, made here with pip: never a Loom dependency), and scores both submissions on the
test split with scikit-learn. Prints, per dataset, the median test score of each tool over the
repeats, how often Loom's was at least FLAML's, the median wall times and their ratio; then the
README main job itself (examples/churn, default settings) timed alone; and the load average.

Targets (issue 16): at equal wall time Loom >= FLAML on every dataset; the README main job
under 30 s on an idle 2-core machine.

Run:  .venv/bin/python bench/automl_peer.py [--repeats 5] [--datasets wine,churn] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets, metrics
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
LOOM = Path(sys.executable).parent / "loom"
CACHE = Path(os.environ.get("LOOM_BENCH_CACHE", Path.home() / ".cache" / "loom-bench"))
FLAML_VENV = CACHE / "flaml-venv"
# name -> (loader, target, id column, loom --metric, flaml metric, task)
DATASETS = {
    "wine": ("sklearn", "target", "id", "Maximize accuracy", "accuracy", "classification"),
    "breast_cancer": ("sklearn", "target", "id", "Maximize ROC-AUC", "roc_auc", "classification"),
    "diabetes": ("sklearn", "target", "id", "Minimize RMSE", "rmse", "regression"),
    "churn": ("examples", "churn", "customer_id", "Maximize ROC-AUC", "roc_auc", "classification"),
    "house_prices": ("examples", "price", "id", "Minimize RMSE", "rmse", "regression"),
}
FLAML_SCRIPT = r'''
import json, sys, time
import pandas as pd
from flaml import AutoML
spec = json.load(open(sys.argv[1]))
train, test = pd.read_csv(spec["train"]), pd.read_csv(spec["test"])
y = train.pop(spec["target"])
X, Xt = train.drop(columns=[spec["id"]]), test.drop(columns=[spec["id"]])
automl = AutoML()
automl.fit(X, y, task=spec["task"], metric=spec["metric"], time_budget=spec["budget"], seed=spec["seed"], verbose=0)
if spec["metric"] == "roc_auc":
    pred = automl.predict_proba(Xt)[:, list(automl.classes_).index(1)]
else:
    pred = automl.predict(Xt)
pd.DataFrame({spec["id"]: test[spec["id"]], "pred": pred}).to_csv(spec["out"], index=False)
print(json.dumps({"best": automl.best_estimator}))
'''


def load_frame(name: str) -> pd.DataFrame:
    kind, target, id_col, *_ = DATASETS[name]
    if kind == "examples":
        return pd.read_csv(ROOT / "examples" / name / "train.csv")
    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    frame.insert(0, id_col, np.arange(len(frame)))
    return frame


def flaml_python() -> Path:
    """FLAML's own venv (made once, cached): never a Loom dependency."""
    python = FLAML_VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import flaml.automl"],
                                             capture_output=True).returncode != 0:
        print(f"making FLAML's venv at {FLAML_VENV} (pip install 'flaml[automl]') ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(FLAML_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "flaml[automl]"], check=True)
    return python


def score(metric: str, truth: pd.Series, pred: np.ndarray) -> float:
    if metric == "roc_auc":
        return float(metrics.roc_auc_score(truth.astype(int), pred.astype(float)))
    if metric == "accuracy":
        return float(metrics.accuracy_score(truth.astype(str), pd.Series(pred).map(_label)))
    return float(np.sqrt(metrics.mean_squared_error(truth.astype(float), pred.astype(float))))


def _label(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
        return str(int(number)) if number.is_integer() else str(value)
    except (TypeError, ValueError):
        return str(value)


def run_loom(data_dir: Path, home: Path, metric: str, goal: str) -> tuple[float, pd.DataFrame, dict]:
    env = {**os.environ, "LOOM_HOME": str(home)}
    for name in ("LOOM_BUDGET_STEPS", "LOOM_WORKERS", "LOOM_TIME_BUDGET", "LOOM_SEARCH_PROVIDER"):
        env.pop(name, None)  # default settings, as the README runs it
    started = time.perf_counter()
    done = subprocess.run([str(LOOM), "run", "--search", "baseline", "--mlops", "local", "--data", str(data_dir),
                           "--goal", goal, "--metric", metric, "--json"], capture_output=True, text=True, env=env,
                          cwd=home)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"loom run failed: {done.stderr[-2000:]}")
    payload = json.loads(done.stdout)
    return wall, pd.read_csv(payload["paths"]["submission"]), payload


def run_flaml(python: Path, work: Path, spec: dict) -> tuple[float, pd.DataFrame]:
    (work / "run_flaml.py").write_text(FLAML_SCRIPT)  # not flaml.py: it would shadow the package
    (work / "spec.json").write_text(json.dumps(spec))
    started = time.perf_counter()
    done = subprocess.run([str(python), str(work / "run_flaml.py"), str(work / "spec.json")], capture_output=True,
                          text=True, cwd=work)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"FLAML failed: {done.stderr[-2000:]}")
    return wall, pd.read_csv(spec["out"])


def one(name: str, seed: int, python: Path, work: Path) -> dict:
    _, target, id_col, loom_metric, metric, task = DATASETS[name]
    frame = load_frame(name)
    strat = frame[target] if task == "classification" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=seed, stratify=strat)
    data = work / "data"
    data.mkdir(parents=True)
    train.to_csv(data / "train.csv", index=False)
    test.drop(columns=[target]).to_csv(data / "test.csv", index=False)
    truth = test.set_index(id_col)[target]
    home = work / "home"
    home.mkdir()
    loom_wall, loom_sub, payload = run_loom(data, home, loom_metric, f"Predict {target}")
    loom_pred = loom_sub.set_index(id_col).loc[truth.index, target].to_numpy()
    spec = {"train": str(data / "train.csv"), "test": str(data / "test.csv"), "target": target, "id": id_col,
            "task": task, "metric": metric, "budget": max(1, int(round(loom_wall))), "seed": seed,
            "out": str(work / "flaml_pred.csv")}
    flaml_wall, flaml_sub = run_flaml(python, work, spec)
    flaml_pred = flaml_sub.set_index(id_col).loc[truth.index, "pred"].to_numpy()
    best = payload.get("best") or {}
    return {"dataset": name, "seed": seed, "metric": metric, "loom": score(metric, truth, loom_pred),
            "flaml": score(metric, truth, flaml_pred), "loom_wall": loom_wall, "flaml_wall": flaml_wall,
            "loom_nodes": payload.get("nodes"), "loom_self_reported": best.get("self_reported")}


def readme_job(repeats: int, work: Path) -> list[float]:
    walls = []
    for i in range(repeats):
        home = work / f"readme{i}"
        home.mkdir()
        wall, _, _ = run_loom(ROOT / "examples" / "churn", home, "Maximize ROC-AUC", "Predict which customers churn")
        walls.append(wall)
    return walls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="seeds (test splits) per dataset; medians over them")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--readme-repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    python = flaml_python()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="loom_bench_automl_"))
    rows: list[dict] = []
    try:
        for name in names:
            for seed in range(args.repeats):
                row = one(name, seed, python, work / f"{name}_{seed}")
                rows.append(row)
                print(f"  {name} seed {seed}: loom {row['loom']:.4f} ({row['loom_wall']:.1f} s, "
                      f"{row['loom_nodes']} nodes)  flaml {row['flaml']:.4f} ({row['flaml_wall']:.1f} s)", flush=True)
        readme = readme_job(args.readme_repeats, work) if args.readme_repeats else []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"\nLoom baseline (default settings) vs FLAML (time_budget = Loom's wall), "
          f"test split cut first, {args.repeats} seeds each\n")
    head = (f"{'dataset':<14} {'metric':<9} {'Loom':>8} {'FLAML':>8} {'Loom>=FLAML':>12} {'Loom s':>8} "
            f"{'FLAML s':>8} {'wall FLAML/Loom':>16}")
    print(head)
    summary = {}
    for name in names:
        mine = [r for r in rows if r["dataset"] == name]
        higher = mine[0]["metric"] != "rmse"
        wins = sum((r["loom"] >= r["flaml"]) if higher else (r["loom"] <= r["flaml"]) for r in mine)
        med = {k: statistics.median(r[k] for r in mine) for k in ("loom", "flaml", "loom_wall", "flaml_wall")}
        ratio = statistics.median(r["flaml_wall"] / r["loom_wall"] for r in mine)
        summary[name] = {**med, "wins": wins, "runs": len(mine), "wall_ratio": ratio}
        print(f"{name:<14} {mine[0]['metric']:<9} {med['loom']:8.4f} {med['flaml']:8.4f} {wins:>6}/{len(mine):<5} "
              f"{med['loom_wall']:8.1f} {med['flaml_wall']:8.1f} {ratio:16.2f}")
    if readme:
        print(f"\nREADME main job (examples/churn, default settings): median {statistics.median(readme):.1f} s "
              f"over {len(readme)} runs (target < 30 s on an idle 2-core machine)")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "readme_walls": readme,
                                         "load_before": load_before, "load_after": load_after}, indent=1))


if __name__ == "__main__":
    main()
