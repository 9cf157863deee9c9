"""Lifecycle port: the verbs around the search (eda, features, validate, report, ops, deploy).

Each call runs one flow of the MLOps backend, stores its results as artifacts of that run, and
returns a small typed result (loom.domain.lifecycle). The `metaflow` MLOps adapter implements
it; an adapter without it makes the use-cases refuse with a one-line pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from loom.domain.lifecycle import (
    DeployRecord,
    DeployResult,
    EdaResult,
    FeaturesResult,
    OpsResult,
    ReportResult,
    ValidateResult,
)


@runtime_checkable
class Lifecycle(Protocol):
    def eda(self, dataset: str, *, target: str | None = None) -> EdaResult:
        """Profile a data object (EdaFlow): stats, correlations, leakage flags, a card."""
        ...

    def build_features(
        self, dataset: str, *, from_eda: str | None = None, recipe: str = "minimal", target: str | None = None
    ) -> FeaturesResult:
        """A new data object (FeaturesFlow) with flagged leaky columns dropped."""
        ...

    def validate(
        self, dataset: str, *, solution: str | None = None, target: str | None = None, sensitive: str | None = None,
        metric: str | None = None, positive: str | None = None, experiment_id: str | None = None,
    ) -> ValidateResult:
        """Holdout + CV of a solution (or the baseline) with a PASS / REVIEW / FAIL verdict; `metric` a
        catalog name (None: ROC-AUC, accuracy or RMSE by task); `positive` the class a binary metric
        scores (None: 1 / true / yes, else the last in order); `experiment_id` tags the run."""
        ...

    def report(self, *, experiment: str | None = None, runs: Sequence[str] = ()) -> ReportResult:
        """A model card (HTML + Markdown) over runs."""
        ...

    def ops(
        self,
        *,
        flow: str | None = None,
        experiment: str | None = None,
        dataset: str | None = None,
        reference: str | None = None,
    ) -> OpsResult:
        """Run health and/or drift, HEALTHY / ATTENTION."""
        ...

    def deploy_record(self, *, validate: str | None = None, solution: str | None = None) -> DeployRecord:
        """The upstream validate run the deploy gate judges (verdict None when there is none)."""
        ...

    def stage_deploy(self, record: DeployRecord, reasons: Sequence[str]) -> DeployResult:
        """Stage the manifest (DeployFlow): a PLAN, no side effect."""
        ...

    def batch_score(self, manifest_path: str, dataset: str) -> dict[str, Any]:
        """Score a data object with a staged deployment (BatchScoreFlow): {pathspec, rows, path}."""
        ...

    def serving_app(self, manifest_path: str) -> Any:
        """An ASGI app serving predictions of a staged deployment (POST /predict)."""
        ...
