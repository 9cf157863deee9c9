"""Candidate part 5: the ensemble node and the prediction files every candidate writes.

Every model candidate writes ./working/oof.csv (its out-of-fold predictions on the training rows)
and ./working/test_pred.csv (its refit's predictions on the test rows): `row` (position among
train.csv's labelled rows) then p0..pK (class probabilities in class order, or the value). The
ensemble candidate gets its members' files from Loom at ./input/members/<node id>/ and combines
them with weights:
the mean of the best k members, or a greedy weighted average (Caruana et al., 2004), whichever
cross-validates best on the out-of-fold rows (weights fit without the fold they are scored on).
./working/ensemble.json states exactly what was combined: the test prediction is
sum(weight_i * test_pred_i) / sum(weight_i), turned into the submission's form (for a
thresholded metric: the positive class where its probability is at least `threshold`).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from loom.adapters.search.baseline_program.scoring import best_threshold, evaluate, folds, output, thresholded

MEMBERS = Path("./input/members")
ROUNDS = 25
FIT_ROWS = 50000


def width_of(data):
    return len(data.classes) if data.classify else 1


def write_predictions(path, matrix, rows):
    frame = pd.DataFrame(np.asarray(matrix, dtype=float).reshape(len(rows), -1))
    frame.columns = [f"p{i}" for i in range(frame.shape[1])]
    frame.insert(0, "row", np.asarray(rows, dtype=int))
    frame.to_csv(path, index=False, float_format="%.10g")


def read_predictions(path, n, width):
    frame = pd.read_csv(path)
    out = np.full((n, width), np.nan)
    out[frame["row"].to_numpy(dtype=int)] = frame[[f"p{i}" for i in range(width)]].to_numpy(dtype=float)
    return out


def write_submission(raw, data):
    pred = output(raw, data)
    if isinstance(pred, pd.DataFrame):
        out = pd.concat([data.test[[data.id_column]].reset_index(drop=True), pred.reset_index(drop=True)], axis=1)
    else:
        out = pd.DataFrame({data.id_column: data.test[data.id_column], data.target: pred})
    out.to_csv("./working/submission.csv", index=False)
    return len(out)


def raw_of(matrix, data):
    return matrix if data.classify else matrix[:, 0]


def blend(preds, weights):
    total = float(sum(weights))
    return sum(w * p for w, p in zip(weights, preds) if w) / total


def _score(data, matrix, rows, fit=None):
    """The metric on `rows`; a thresholded metric cuts where it scores best on `fit` (default: rows)."""
    cut = None
    if thresholded(data):
        fit = rows if fit is None else fit
        cut = best_threshold(data.y.iloc[fit], matrix[fit], data)
    return evaluate(data.y.iloc[rows], raw_of(matrix[rows], data), data, threshold=cut)


def _pick(values, maximize):
    """Index of the best value; the first one on ties (members come best first, simplest first)."""
    best = 0
    for i, v in enumerate(values):
        if (v > values[best]) if maximize else (v < values[best]):
            best = i
    return best


def fit_weights(method, preds, data, rows, maximize, seed=0):
    """Weights of the members for `method`, fit on `rows` only."""
    if method.startswith("mean_top"):
        k = int(method[len("mean_top"):])
        return [1.0 if i < k else 0.0 for i in range(len(preds))]
    if len(rows) > FIT_ROWS:
        rows = np.random.default_rng(seed).choice(rows, FIT_ROWS, replace=False)
    singles = [_score(data, p, rows) for p in preds]
    counts = [0] * len(preds)
    first = _pick(singles, maximize)
    counts[first], current = 1, singles[first]
    for _ in range(ROUNDS):
        trials = []
        for i in range(len(preds)):
            trial = list(counts)
            trial[i] += 1
            trials.append(_score(data, blend(preds, trial), rows))
        j = _pick(trials, maximize)
        if not ((trials[j] > current) if maximize else (trials[j] < current)):
            break
        counts[j] += 1
        current = trials[j]
    return [float(c) for c in counts]


def run_ensemble(C, data):
    """Combine the members' predictions; report the blend's cross-validated metric; write outputs."""
    maximize = bool(C["maximize"])
    n, width = len(data.y), width_of(data)
    members = [m for m in C.get("members", ()) if (MEMBERS / m["node_id"] / "oof.csv").is_file()
               and (MEMBERS / m["node_id"] / "test_pred.csv").is_file()]
    if not members:
        raise SystemExit("ensemble: no member predictions in ./input/members")
    oofs = [read_predictions(MEMBERS / m["node_id"] / "oof.csv", n, width) for m in members]
    tests = [read_predictions(MEMBERS / m["node_id"] / "test_pred.csv", len(data.test), width) for m in members]
    common = np.where(np.all([~np.isnan(p).any(axis=1) for p in oofs], axis=0))[0]
    keep = set(common.tolist())
    splits = [(np.array([r for r in tr if r in keep]), np.array([r for r in va if r in keep]))
              for tr, va in folds(data, int(C.get("folds", 5)), 1, int(C["seed"]))]
    splits = [(tr, va) for tr, va in splits if len(tr) and len(va)]
    methods = [f"mean_top{k}" for k in range(1, len(members) + 1)] + (["greedy"] if len(members) > 2 else [])
    results = {}
    for method in methods:
        scores, nested = [], np.full((n, width), np.nan)
        for tr, va in splits:
            mixed = blend(oofs, fit_weights(method, oofs, data, tr, maximize, int(C["seed"])))
            scores.append(_score(data, mixed, va, fit=tr))  # weights and cut fit without the fold
            nested[va] = mixed[va]
        results[method] = (float(np.mean(scores)), scores, nested)
    chosen = methods[_pick([results[m][0] for m in methods], maximize)]
    weights = fit_weights(chosen, oofs, data, common, maximize, int(C["seed"]))
    test_blend = blend(tests, weights)
    if thresholded(data):
        data.threshold = best_threshold(data.y.iloc[common], blend(oofs, weights)[common], data)
    total = float(sum(weights))
    manifest = {
        "method": chosen,
        "described": ("mean of the best %s member(s)" % chosen[len("mean_top"):] if chosen.startswith("mean_top")
                      else "greedy weighted average (Caruana et al., 2004) of out-of-fold predictions"),
        "members": [{"node_id": m["node_id"], "family": m.get("family"), "weight": w / total}
                    for m, w in zip(members, weights) if w],
        "combination": "test prediction = sum(weight * member test_pred.csv), then the submission's form",
        "classes": list(data.classes), "metric": data.metric, "threshold": data.threshold,
        "cv": {m: {"mean": results[m][0], "folds": results[m][1]} for m in methods},
    }
    Path("./working/ensemble.json").write_text(json.dumps(manifest, indent=1))
    seen = np.where(~np.isnan(results[chosen][2]).any(axis=1))[0]
    write_predictions("./working/oof.csv", results[chosen][2][seen], seen)
    write_predictions("./working/test_pred.csv", test_blend, np.arange(len(data.test)))
    write_submission(raw_of(test_blend, data), data)
    print("Ensemble: " + " + ".join(f"{p['weight']:.3f} x node {p['node_id']} ({p['family']})"
                                    for p in manifest["members"]) + f" [{chosen}]")
    return results[chosen][1]
