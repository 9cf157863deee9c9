"""The analysis verbs on Metaflow: eda, features, validate, report, ops — one flow run each.

A mixin for MetaflowMLOps (it needs `self.config`). Each method runs its static flow file with
the verb's inputs as parameters (cwd = the datastore root), reads the results back with the
Client API and returns a domain result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.shared import metaflow_runtime as rt
from loom.adapters.shared.metaflow_card_files import card_files
from loom.domain.lifecycle import (
    DriftColumn,
    EdaResult,
    FeaturesResult,
    LeakageFlag,
    OpsResult,
    ReportResult,
    ValidateResult,
    Verdict,
)
from loom.domain.wording import with_article

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

FLOWS = Path(__file__).resolve().parent / "flows"


def flags(items: Sequence[dict[str, str]] | None) -> tuple[LeakageFlag, ...]:
    return tuple(LeakageFlag(f["column"], f["kind"], f["detail"], f.get("score")) for f in items or [])


class LifecycleRunner:
    """Shared plumbing: run a lifecycle flow, read artifacts, find its card."""

    config: "LoomConfig"

    def _run(self, flow: str, params: dict[str, Any], tags: Sequence[str] = ()) -> str:
        """Run a verb's flow to the end: the next verb (or the user's next command) reads it whole."""
        base = [f"tenant:{self.config.tenant}", f"owned_by:{self.config.owned_by}", "loom:lifecycle"]
        return rt.run_flow(FLOWS / flow, params, self.config, tags=[*base, *tags], timeout=self.config.exec_timeout * 4)

    def _read(self, pathspec: str, names: Sequence[str]) -> dict[str, Any]:
        return rt.read_artifacts(pathspec, names, self.config)

    def _card(self, pathspec: str) -> str | None:
        try:
            found = card_files(self.config, pathspec)
        except Exception:  # noqa: BLE001 - a missing card never fails the verb
            return None
        return str(found[-1]) if found else None

    def _check_runs(self, *, flow: str | None = None, experiment: str | None = None) -> None:
        """One line (exit 2) before the ops or report flow: a flow with no runs, an experiment no run is tagged with."""
        from loom.domain.errors import UsageError

        with rt.client(self.config) as mf:
            if flow:
                try:
                    mf.Flow(flow)
                except mf.exception.MetaflowNotFound:
                    raise UsageError(f"flow '{flow}' has no runs in this datastore; list them with `loom runs`") from None
            if experiment:
                from loom.adapters.mlops.metaflow.lifecycle.flowkit import experiment_runs

                if not experiment_runs(experiment, limit=1):
                    raise UsageError(f"no runs are tagged with experiment '{experiment}' (`loom run --experiment-id ID` "
                                     "tags them)")

    def _check_dataset(self, dataset: str, *, metric: str | None = None, **columns: str | None) -> None:
        """One line (exit 2) before any flow, which would leave a failed run behind: an unknown
        pathspec, a column named by a flag (`target=`, `sensitive=`) that the data object lacks, a
        `metric` of the other task type than its (inferred) target's."""
        rt.get_run(self.config, dataset)
        wanted = {flag: name for flag, name in columns.items() if name}
        if not wanted and not metric:
            return
        schema = self._read(dataset, ("schema",)).get("schema") or {}
        names = [str(c.get("name")) for c in schema.get("columns") or [] if isinstance(c, dict)]
        if not names:
            return  # not a data object: its flow says so
        if metric and not columns.get("target") and schema.get("task_type") in ("classification", "regression"):
            from loom.domain.errors import UsageError
            from loom.domain.metrics import CATALOG

            info = CATALOG[metric]
            if info.kind != schema["task_type"]:
                raise UsageError(f"{info.label} is {with_article(info.kind)} metric and the target is {schema['task_type']}: "
                                 f"name {with_article(schema['task_type'])} metric")
        for flag, name in wanted.items():
            if name not in names:
                from loom.domain.errors import UsageError

                listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise UsageError(f"--{flag} '{name}' is not a column of {dataset} (its columns: {listed})")


class MetaflowAnalysisVerbs(LifecycleRunner):
    def eda(self, dataset: str, *, target: str | None = None) -> EdaResult:
        self._check_dataset(dataset, target=target)
        p = self._run("eda_flow.py", {"dataset": dataset, "target": target or "", "seed": self.config.seed})
        a = self._read(p, ("dataset", "rows", "cols", "target", "task_type", "dtypes", "missing", "target_summary",
                           "leakage", "correlations"))
        ranked = tuple((k, v) for k, v in (a["correlations"].get("with_target") or {}).items() if v is not None)
        return EdaResult(
            pathspec=p, dataset=a["dataset"], rows=a["rows"], columns=a["cols"], target=a["target"],
            task_type=a["task_type"], dtypes=a["dtypes"], missing=a["missing"], target_summary=a["target_summary"],
            leakage=flags(a["leakage"]), top_correlations=ranked[:8], card=self._card(p),
        )

    def build_features(
        self, dataset: str, *, from_eda: str | None = None, recipe: str = "minimal", target: str | None = None
    ) -> FeaturesResult:
        self._check_dataset(dataset, target=target)
        if from_eda:
            rt.get_run(self.config, from_eda, "EdaFlow")
        p = self._run("features_flow.py", {"dataset": dataset, "from_eda": from_eda or "", "recipe": recipe,
                                           "target": target or "", "seed": self.config.seed},
                      tags=["loom:data-object"])
        a = self._read(p, ("columns_before", "columns_after", "dropped", "kept", "added", "fingerprint", "lineage", "recipe"))
        return FeaturesResult(
            pathspec=p, dataset=dataset, columns_before=a["columns_before"], columns_after=a["columns_after"],
            dropped=flags(a["dropped"]), kept=flags(a.get("kept")), added=tuple(a["added"]), fingerprint=a["fingerprint"],
            lineage={"parent": dataset, "eda": from_eda, "chain": list(a["lineage"])}, recipe=a["recipe"],
            card=self._card(p),
        )

    def validate(
        self, dataset: str, *, solution: str | None = None, target: str | None = None, sensitive: str | None = None,
        metric: str | None = None, positive: str | None = None, experiment_id: str | None = None,
    ) -> ValidateResult:
        from loom.adapters.mlops.metaflow.lifecycle import solutions

        if solution:  # a search run's solution is graded as that run graded it, unless told otherwise
            task = solutions.run_task(solution, self.config)
            metric = metric or (task.get("metric") or {}).get("name")
            positive = positive or task.get("positive")
        self._check_dataset(dataset, metric=metric, target=target, sensitive=sensitive)
        params: dict[str, Any] = {"dataset": dataset, "target": target or "", "sensitive": sensitive or "",
                                  "metric": metric or "", "positive": positive or "",
                                  "seed": self.config.seed, "holdout_fraction": self.config.holdout_fraction or 0.2,
                                  "python": self.config.python}
        tags: list[str] = [f"experiment:{experiment_id}"] if experiment_id else []  # `report --experiment` lists it
        if solution:
            label, code = solutions.resolve(solution, self.config)
            # a script re-trains per fold in its own process: 3 folds keep it affordable
            params.update(solution=label, solution_file=str(solutions.stage(code, self.config)), folds=3)
        p = self._run("validate_flow.py", params, tags=tags)
        a = self._read(p, ("solution", "target", "task_type", "metric", "greater_is_better", "cv_scores",
                           "holdout_score", "verdict", "reasons", "brier", "slices", "leakage", "split"))
        return ValidateResult(
            pathspec=p, dataset=dataset, solution=a["solution"], target=a["target"], task_type=a["task_type"],
            metric=a["metric"], greater_is_better=a["greater_is_better"], cv_scores=tuple(a["cv_scores"]),
            holdout_score=a["holdout_score"], verdict=Verdict(a["verdict"]), reasons=tuple(a["reasons"]),
            brier=a.get("brier"), slices=tuple(a.get("slices") or ()), leakage=flags(a["leakage"]),
            split=a["split"], card=self._card(p),
        )

    def report(self, *, experiment: str | None = None, runs: Sequence[str] = ()) -> ReportResult:
        for spec in runs:
            rt.get_run(self.config, spec)
        if experiment and not runs:
            self._check_runs(experiment=experiment)
        p = self._run("report_flow.py", {"runs": ",".join(runs), "experiment": experiment or "",
                                         "out_dir": str(self.config.home / "reports")})
        a = self._read(p, ("runs", "best", "leaderboard", "spread", "verdicts", "html_path", "markdown_path"))
        return ReportResult(
            pathspec=p, runs=tuple(a["runs"]), best=a["best"], leaderboard=tuple(a["leaderboard"]),
            spread=a["spread"], verdicts=a["verdicts"], html_path=a["html_path"], markdown_path=a["markdown_path"],
            card=self._card(p),
        )

    def ops(
        self,
        *,
        flow: str | None = None,
        experiment: str | None = None,
        dataset: str | None = None,
        reference: str | None = None,
    ) -> OpsResult:
        for spec in (dataset, reference):
            if spec:
                self._check_dataset(spec)
        self._check_runs(flow=flow, experiment=experiment)
        p = self._run("ops_flow.py", {"flow": flow or "", "experiment": experiment or "", "dataset": dataset or "",
                                      "reference": reference or ""})
        a = self._read(p, ("verdict", "reasons", "health", "drift", "new_columns", "missing_columns"))
        return OpsResult(
            pathspec=p, verdict=Verdict(a["verdict"]), reasons=tuple(a["reasons"]), health=a["health"],
            drift=tuple(DriftColumn(**d) for d in a["drift"]), new_columns=tuple(a["new_columns"]),
            missing_columns=tuple(a["missing_columns"]), card=self._card(p),
        )
