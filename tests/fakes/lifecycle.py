"""FakeLifecycle: a small working Lifecycle port for use-case tests (no Metaflow, no pandas).

Scripted verdicts: `validate_verdict` decides what validate returns; `deploy_verdict` what the
upstream validate record says. Every call is recorded in `calls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loom.domain.lifecycle import (
    DeployRecord,
    DeployResult,
    EdaResult,
    FeaturesResult,
    LeakageFlag,
    OpsResult,
    ReportResult,
    ValidateResult,
    Verdict,
)


class FakeLifecycle:
    name = "fake"

    def __init__(self, validate_verdict: str = "PASS", deploy_verdict: str | None = "PASS", holdout: float = 0.8) -> None:
        self.validate_verdict, self.deploy_verdict, self.holdout = validate_verdict, deploy_verdict, holdout
        self.validate_metric: str | None = None  # the metric the last validate call was asked to grade by
        self.validate_positive: str | None = None  # and the positive class
        self.calls: list[tuple[str, Any]] = []
        self._n = 0

    def _id(self, flow: str) -> str:
        self._n += 1
        return f"{flow}/{self._n}"

    def eda(self, dataset: str, *, target: str | None = None) -> EdaResult:
        self.calls.append(("eda", dataset))
        return EdaResult(self._id("EdaFlow"), dataset, 100, 4, target or "y", "classification", {}, {}, {},
                         (LeakageFlag("leak", "target_duplicate", "planted"),))

    def build_features(self, dataset: str, *, from_eda: str | None = None, recipe: str = "minimal",
                       target: str | None = None) -> FeaturesResult:
        self.calls.append(("features", (dataset, from_eda)))
        return FeaturesResult(self._id("FeaturesFlow"), dataset, 4, 3, (LeakageFlag("leak", "target_duplicate", ""),),
                              (), "f" * 64, {"chain": [dataset]}, recipe)

    def validate(self, dataset: str, *, solution: str | None = None, target: str | None = None,
                 sensitive: str | None = None, metric: str | None = None,
                 positive: str | None = None, experiment_id: str | None = None) -> ValidateResult:
        self.calls.append(("validate", (dataset, solution)))
        self.validate_metric, self.validate_positive = metric, positive
        return ValidateResult(self._id("ValidateFlow"), dataset, solution or "baseline", "y", "classification",
                              metric or "roc_auc", True, (0.8, 0.81), self.holdout, Verdict(self.validate_verdict),
                              ("scripted",))

    def report(self, *, experiment: str | None = None, runs: Sequence[str] = ()) -> ReportResult:
        self.calls.append(("report", (experiment, tuple(runs))))
        return ReportResult(self._id("ReportFlow"), tuple(runs), None, (), {}, {}, "card.html", "card.md")

    def ops(self, **kwargs: Any) -> OpsResult:
        self.calls.append(("ops", kwargs))
        return OpsResult(self._id("OpsFlow"), Verdict.HEALTHY, ("fine",))

    def deploy_record(self, *, validate: str | None = None, solution: str | None = None) -> DeployRecord:
        self.calls.append(("deploy_record", (validate, solution)))
        return DeployRecord(validate, self.deploy_verdict, self.holdout, True, "roc_auc", solution or "s", "D/1", "y",
                            "classification")

    def stage_deploy(self, record: DeployRecord, reasons: Sequence[str]) -> DeployResult:
        self.calls.append(("stage_deploy", record))
        return DeployResult("PLANNED", Verdict.ALLOW, tuple(reasons), {"solution": record.solution}, "manifest.json")

    def batch_score(self, manifest_path: str, dataset: str) -> dict[str, Any]:
        self.calls.append(("batch_score", dataset))
        return {"pathspec": self._id("BatchScoreFlow"), "rows": 7, "path": "predictions.csv"}

    def serving_app(self, manifest_path: str) -> Any:
        return object()
