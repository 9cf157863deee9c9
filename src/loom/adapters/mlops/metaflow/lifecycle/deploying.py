"""The deploy verbs on Metaflow: find the upstream validate run, stage (DeployFlow), batch-score
(BatchScoreFlow), and build the local prediction endpoint. The gate itself is the domain's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loom.adapters.mlops.metaflow.lifecycle.verbs import LifecycleRunner
from loom.adapters.shared import metaflow_runtime as rt
from loom.domain.errors import UsageError
from loom.domain.lifecycle import DeployRecord, DeployResult, Verdict
from loom.domain.pathspec import Pathspec
from loom.domain.status import Status

_VALIDATE_FIELDS = ("verdict", "holdout_score", "greater_is_better", "metric", "solution", "dataset", "target",
                    "task_type", "id_columns", "solution_code", "lineage", "positive_class", "positive")


class MetaflowDeployVerbs(LifecycleRunner):
    def deploy_record(self, *, validate: str | None = None, solution: str | None = None) -> DeployRecord:
        if validate:
            run = Pathspec.parse(validate).expect_flow("ValidateFlow").run
            rt.get_run(self.config, run)
            return self._record(run, self._read(run, _VALIDATE_FIELDS))
        assert solution is not None
        label = solution
        if not solution.startswith("baseline:"):
            from loom.adapters.mlops.metaflow.lifecycle import solutions

            label, _ = solutions.resolve(solution, self.config)
        found = self._latest_validate_of(label)
        if found is None:
            return DeployRecord(None, None, None, True, None, label, None, None, None)
        return self._record(found[0], found[1])

    def _latest_validate_of(self, label: str) -> tuple[str, dict[str, Any]] | None:
        with rt.client(self.config) as mf:
            try:
                runs = list(mf.Flow("ValidateFlow").runs())
            except mf.exception.MetaflowNotFound:
                return None
            for run in runs[:200]:
                if not run.successful:
                    continue
                data = run.data
                if data is not None and getattr(data, "solution", None) == label:
                    return run.pathspec, {n: getattr(data, n) for n in _VALIDATE_FIELDS if n in data}
        return None

    @staticmethod
    def _record(pathspec: str, a: dict[str, Any]) -> DeployRecord:
        if "verdict" not in a:
            raise UsageError(f"{pathspec} has no verdict (did it finish?)")
        return DeployRecord(
            validate_run=pathspec, verdict=a["verdict"], holdout_score=a.get("holdout_score"),
            greater_is_better=bool(a.get("greater_is_better", True)), metric=a.get("metric"),
            solution=a.get("solution") or "", dataset=a.get("dataset"), target=a.get("target"),
            task_type=a.get("task_type"), id_columns=tuple(a.get("id_columns") or ()),
            solution_code=a.get("solution_code"), lineage=tuple(a.get("lineage") or ()),
            positive=a.get("positive_class") or a.get("positive") or None,  # older runs: the parameter
        )

    def stage_deploy(self, record: DeployRecord, reasons: Sequence[str]) -> DeployResult:
        manifest = {
            "solution": record.solution,
            "solution_kind": "script" if record.solution_code else "baseline",
            "solution_code": record.solution_code,
            "validate_run": record.validate_run,
            "verdict": record.verdict,
            "metric": record.metric,
            "holdout_score": record.holdout_score,
            "greater_is_better": record.greater_is_better,
            "dataset": record.dataset,
            "target": record.target,
            "task_type": record.task_type,
            "positive_class": record.positive,
            "id_columns": list(record.id_columns),
            "lineage": list(record.lineage),
            "python": self.config.python,
            "seed": self.config.seed,
            "gate": Verdict.ALLOW.value,
            "gate_reasons": list(reasons),
        }
        # by file: an ensemble's best_solution.py (its members inside) outgrows one argument (128 KB on Linux)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="loom-deploy-") as tmp:
            staged = Path(tmp) / "manifest.json"
            staged.write_text(json.dumps(manifest, default=str), encoding="utf-8")
            p = self._run("deploy_flow.py", {"manifest_file": str(staged),
                                             "out_dir": str(self.config.home / "deployments")})
        a = self._read(p, ("manifest", "manifest_path"))
        return DeployResult(status=Status.PLANNED.value, gate=Verdict.ALLOW, reasons=tuple(reasons),
                            manifest=a["manifest"], manifest_path=a["manifest_path"])

    def batch_score(self, manifest_path: str, dataset: str) -> dict[str, Any]:
        rt.get_run(self.config, dataset)
        p = self._run("batch_score_flow.py", {"manifest": manifest_path, "dataset": dataset,
                                              "out_dir": str(self.config.home / "deployments")})
        a = self._read(p, ("rows_scored", "predictions_path"))
        return {"pathspec": p, "rows": a["rows_scored"], "path": a["predictions_path"]}

    def serving_app(self, manifest_path: str) -> Any:
        from loom.adapters.mlops.metaflow.lifecycle.serving import build_app

        return build_app(manifest_path, self.config)
