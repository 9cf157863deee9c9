"""Scoring with a deployed solution: the manifest says which predictor, trained on which data.

Used by BatchScoreFlow (a table at a time) and by the local HTTP endpoint (rows per request).
A baseline is fit once on the whole training table; a solution script is re-run per batch
(it reads ./input/train.csv and ./input/test.csv, exactly as it ran in the search).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.adapters.mlops.metaflow.lifecycle.analysis import predictors

if TYPE_CHECKING:
    import pandas as pd


def build_predictor(manifest: dict[str, Any], train: "pd.DataFrame") -> Any:
    target, kind = manifest["target"], manifest["task_type"]
    classes = _classes(train[target].dropna(), kind)
    ids = list(manifest.get("id_columns") or [])
    if manifest.get("solution_code"):
        p: Any = predictors.ScriptPredictor(manifest["solution_code"], target, kind, classes, id_columns=ids,
                                            python=manifest.get("python") or predictors.sys.executable,
                                            positive=manifest.get("positive_class"),
                                            probabilities=_probability_metric(manifest))
    else:
        p = predictors.BaselinePredictor(target, kind, classes, drop=ids, seed=int(manifest.get("seed") or 0))
    return p.fit(train)


def _probability_metric(manifest: dict[str, Any]) -> bool:
    """Validated on probabilities (log loss, ROC-AUC): the solution is asked for them, as the run asked."""
    from loom.domain.metrics import CATALOG

    metric = CATALOG.get(str(manifest.get("metric")))
    return metric is not None and metric.input == "probability"


def _classes(y: "pd.Series", kind: str) -> list[Any]:
    from loom.application.evaluation import frames

    return frames.encode_target(y, kind)[1]


def check_columns(manifest: dict[str, Any], train: "pd.DataFrame", rows: "pd.DataFrame") -> None:
    """A batch must hold every column the model was trained on (the serving endpoint answers 422):
    a missing one was filled with nothing and scored silently (ROC-AUC 0.83 -> 0.62)."""
    from loom.domain.errors import UsageError

    ids = set(manifest.get("id_columns") or [])
    missing = [c for c in train.columns if c != manifest["target"] and c not in ids and c not in rows.columns]
    if missing:
        raise UsageError(f"the batch lacks {len(missing)} column(s) the model was trained on: "
                         f"{', '.join(map(str, missing[:10]))}; add them (blank where unknown)")


def predictions_frame(manifest: dict[str, Any], predictor: Any, rows: "pd.DataFrame") -> "pd.DataFrame":
    """id columns + the prediction (+ `<target>_proba` for a binary target: the probability of the
    manifest's `positive_class`, the class validate scored; + `<target>_proba_<class>` per class for
    a multiclass model validated on a probability metric such as log loss)."""
    import numpy as np
    import pandas as pd

    target, kind = manifest["target"], manifest["task_type"]
    rows = rows.drop(columns=[target], errors="ignore").reset_index(drop=True)
    scored = predictor.scores(rows)
    raw = np.asarray(scored.legacy())
    ids = [c for c in manifest.get("id_columns") or [] if c in rows.columns]
    out = rows[ids].copy() if ids else pd.DataFrame(index=rows.index)
    classes = list(getattr(predictor, "classes", []) or [])
    if kind == "regression":
        out[target] = raw.astype(float)
    elif len(classes) == 2:  # raw: the probability of classes[1]; `<target>_proba` is the positive class's
        out[target] = [classes[int(p >= 0.5)] for p in raw]
        positive = predictors.positive_code(classes, manifest.get("positive_class"))
        out[f"{target}_proba"] = (raw.astype(float) if positive == 1 else 1.0 - raw.astype(float)).round(6)
    else:
        out[target] = [classes[int(i)] if 0 <= int(i) < len(classes) else None for i in raw]
        if _probability_metric(manifest) and scored.proba is not None:
            for code, label in enumerate(classes):
                out[f"{target}_proba_{label}"] = scored.proba[:, code].astype(float).round(6)
    return out
