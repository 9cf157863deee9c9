"""Candidate part 6: cross-validate one model (or run the ensemble), refit, write, report.

Prints `Data profile: {...}` (what the brain plans by), then `Validation std (<metric>): <std>
over <k> folds` and, last, `Validation metric (<metric>): <mean>`: the mean and spread of the
run's metric over the folds. Writes ./working/submission.csv, oof.csv, test_pred.csv, cv.json.
"""

import json
import time
import warnings
from pathlib import Path

import numpy as np

from loom.adapters.search.baseline_program.data import Data, thread_budget
from loom.adapters.search.baseline_program.ensemble import run_ensemble, width_of, write_predictions, write_submission
from loom.adapters.search.baseline_program.models import Model
from loom.adapters.search.baseline_program.scoring import best_threshold, evaluate, folds, thresholded


def run_model(C, data, cpus):
    """K-fold CV of one family (out-of-fold predictions kept), then a refit on every row."""
    n, width = len(data.y), width_of(data)
    total, count = np.zeros((n, width)), np.zeros(n)
    scores, rounds, held = [], [], []
    for tr, va in folds(data, int(C.get("folds", 5)), int(C.get("repeats", 1)), int(C["seed"])):
        model = Model(C["family"], C["params"], data, cpus, int(C["seed"])).fit(data.X.iloc[tr], data.y.iloc[tr])
        raw = model.predict_raw(data.X.iloc[va])
        scores.append(evaluate(data.y.iloc[va], raw, data))
        held.append((va, raw))
        total[va] += np.asarray(raw, dtype=float).reshape(len(va), width)
        count[va] += 1
        if model.best_rounds:
            rounds.append(model.best_rounds)
    if thresholded(data):
        scores = tune_threshold(data, total, count, held)
    refit = int(np.ceil(np.mean(rounds) * 1.1)) if rounds else None
    final = Model(C["family"], C["params"], data, cpus, int(C["seed"]), rounds=refit).fit(data.X, data.y)
    test_raw = final.predict_raw(data.X_test)
    seen = np.where(count > 0)[0]
    write_predictions("./working/oof.csv", total[seen] / count[seen][:, None], seen)
    write_predictions("./working/test_pred.csv", test_raw, np.arange(len(data.test)))
    rows = write_submission(test_raw, data)
    if refit:
        print(f"Boosting rounds: early stopping chose {int(np.mean(rounds))} on average; the refit uses {refit}")
    print(f"wrote ./working/submission.csv ({rows} rows)")
    return scores


def tune_threshold(data, total, count, held):
    """Choose the decision threshold on the out-of-fold predictions; return honest fold scores.

    Each fold is scored with the threshold chosen on the other folds' rows only (its own rows never
    pick the cut they are scored with); the refit's submission uses the cut chosen on every row.
    """
    seen = count > 0
    oof = np.zeros_like(total)
    oof[seen] = total[seen] / count[seen][:, None]
    scores = []
    for va, raw in held:
        others = seen.copy()
        others[va] = False
        cut = best_threshold(data.y[others], oof[others], data) if others.any() else 0.5
        scores.append(evaluate(data.y.iloc[va], raw, data, threshold=cut))
    data.threshold = best_threshold(data.y[seen], oof[seen], data)
    print(f"Decision threshold ({data.metric}): {data.threshold:.4f} on the positive class "
          f"{data.positive!r}, chosen on the out-of-fold predictions")
    return scores


def main(C):
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    cpus = thread_budget()
    data = Data(C)
    print("Data profile: " + json.dumps(data.profile(), sort_keys=True))
    scores = run_ensemble(C, data) if C.get("mode") == "ensemble" else run_model(C, data, cpus)
    mean = float(np.mean(scores))
    std = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
    Path("./working/cv.json").write_text(json.dumps({
        "metric": data.metric, "mean": mean, "std": std, "folds": [float(s) for s in scores],
        "family": C.get("family"), "params": C.get("params"), "seconds": time.perf_counter() - started}))
    print(f"Candidate time: {time.perf_counter() - started:.2f} s on {cpus} thread(s)")
    print(f"Validation std ({data.metric}): {std:.6f} over {len(scores)} folds")
    print(f"Validation metric ({data.metric}): {mean:.6f}")
