"""ValidateSolution (`loom validate`): holdout + CV + calibration + slices + leakage -> VERDICT."""

from __future__ import annotations

from typing import Any

from loom.application.lifecycle import require_lifecycle
from loom.domain.lifecycle import ValidateResult
from loom.domain.metrics import parse_metric
from loom.domain.pathspec import Pathspec


class ValidateSolution:
    """Validate a solution (a candidate run, a search run id, a script) or the GBM baseline."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(
        self, dataset: str, *, solution: str | None = None, target: str | None = None, sensitive: str | None = None,
        metric: str | None = None, metric_name: str | None = None, positive: str | None = None,
        experiment_id: str | None = None,
    ) -> ValidateResult:
        """`metric` a sentence as `loom run` takes it ("Minimize RMSLE"), `metric_name` a catalog name;
        neither: ROC-AUC, accuracy or RMSE by task. `positive`: the class a binary metric scores."""
        Pathspec.parse(dataset)
        name = parse_metric(metric, metric_name).name if (metric or metric_name) else None
        return require_lifecycle(self._mlops, "validate").validate(
            dataset, solution=solution, target=target, sensitive=sensitive, metric=name, positive=positive,
            experiment_id=experiment_id,
        )
