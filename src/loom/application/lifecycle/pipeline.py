"""RunPipeline (`loom pipeline`): ingest -> eda -> features -> run -> validate -> report.

Each stage runs only when the one before passed its gate: eda must finish (its leakage flags
feed features), the run stage must return a working best candidate, validate must not FAIL.
The first stage that fails is named; every later stage is SKIPPED. The run stage is the search
use-case (RunSearch): the baseline brain needs no LLM key, the aide brain does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loom.application.lifecycle.profile import BuildFeatures, ProfileDataset
from loom.application.lifecycle.report import WriteReport
from loom.application.lifecycle.validate import ValidateSolution
from loom.domain.errors import EXIT_FAILURE, EXIT_INTERRUPTED, LoomError, UsageError
from loom.domain.lifecycle import PipelineResult, StageResult, Verdict
from loom.domain.pathspec import Pathspec

log = logging.getLogger(__name__)

STAGES = ("ingest", "eda", "features", "run", "validate", "report")


class _StageFailed(Exception):
    def __init__(self, detail: str, exit_code: int = EXIT_FAILURE, verdict: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.exit_code, self.verdict = detail, exit_code, verdict


class RunPipeline:
    def __init__(self, mlops: Any, ingest: Any, run_search: Callable[[], Any] | None = None) -> None:
        self._mlops = mlops
        self._ingest = ingest
        self._run_search = run_search

    def __call__(
        self,
        *,
        dataset: str | None = None,
        source: Path | None = None,
        goal: str | None = None,
        metric: str | None = None,
        target: str | None = None,
        experiment_id: str | None = None,
        metric_name: str | None = None,
        on_stage: Callable[[StageResult], None] | None = None,
        stop: Any = None,
    ) -> PipelineResult:
        """Run the stages in order. Setting `stop` (a threading.Event) stops the run stage like
        Ctrl-C (journal saved) and skips the stages after the current one."""
        if bool(dataset) == bool(source):
            raise UsageError("pass exactly one of --dataset IngestDataset/N or --source DIR")
        if dataset:
            Pathspec.parse(dataset)
        state: dict[str, Any] = {"dataset": dataset, "target": target, "experiment_id": experiment_id}
        search = state["search"] = self._run_search() if self._run_search is not None else None
        precheck = getattr(search, "precheck", None)
        if precheck is not None:  # a metric or a key the run stage would refuse: before ingest, eda, features
            precheck(metric=metric, metric_name=metric_name)
        stages: list[StageResult] = []
        steps: list[tuple[str, Callable[[], StageResult]]] = [
            ("ingest", lambda: self._ingest_stage(state, source)),
            ("eda", lambda: self._eda(state)),
            ("features", lambda: self._features(state)),
            ("run", lambda: self._search(state, goal, metric, metric_name, experiment_id, stop)),
            ("validate", lambda: self._validate(state)),
            ("report", lambda: self._report(state)),
        ]
        failed: str | None = None
        stopped = False
        exit_code = 0
        for name, call in steps:
            if not failed and not stopped and stop is not None and stop.is_set():
                stopped, exit_code = True, EXIT_INTERRUPTED
            if failed or stopped:
                why = "the pipeline was stopped" if stopped else f"stage '{failed}' failed"
                stage = StageResult(name, "SKIPPED", detail=f"skipped: {why}")
            else:
                try:
                    stage = call()
                except _StageFailed as exc:
                    stage = StageResult(name, "FAILED", state.get(f"{name}_pathspec"), exc.verdict, exc.detail)
                    exit_code = exc.exit_code
                except LoomError as exc:
                    stage = StageResult(name, "FAILED", None, None, exc.line())
                    exit_code = exc.exit_code
                if stage.status == "FAILED":
                    failed = name
            stages.append(stage)
            if on_stage is not None:
                on_stage(stage)
        return PipelineResult(
            status="FAILED" if failed else ("INTERRUPTED" if stopped else "OK"), stages=tuple(stages), failed_stage=failed,
            extras={"exit_code": exit_code, "search_run": state.get("search_run"), "report": state.get("report_html")},
        )

    # ---- stages --------------------------------------------------------------------------
    def _ingest_stage(self, state: dict[str, Any], source: Path | None) -> StageResult:
        if source is None:
            return StageResult("ingest", "OK", state["dataset"], detail="given: --dataset")
        info = self._ingest(Path(source), target=state.get("target"))
        state["dataset"] = info.pathspec
        return StageResult("ingest", "OK", info.pathspec, detail=f"{sum(info.rows.values()):,} rows, {info.columns} columns")

    def _eda(self, state: dict[str, Any]) -> StageResult:
        r = ProfileDataset(self._mlops)(state["dataset"], target=state.get("target"))
        state["eda"], state["target"] = r.pathspec, r.target
        detail = f"{r.rows:,} x {r.columns}, target {r.target}; {len(r.leakage)} leakage flag(s)"
        return StageResult("eda", "OK", r.pathspec, r.verdict.value, detail)

    def _features(self, state: dict[str, Any]) -> StageResult:
        r = BuildFeatures(self._mlops)(state["dataset"], from_eda=state["eda"], target=state.get("target"))
        state["features"] = r.pathspec
        dropped = ", ".join(f.column for f in r.dropped) or "none"
        kept = "".join(f"; kept {f.column} for review ({f.detail})" for f in r.kept)
        return StageResult("features", "OK", r.pathspec, None,
                           f"columns {r.columns_before} -> {r.columns_after}; dropped {dropped}{kept}")

    def _search(self, state: dict[str, Any], goal: str | None, metric: str | None, metric_name: str | None,
                experiment_id: str | None, stop: Any = None) -> StageResult:
        search = state.get("search")
        if search is None:
            raise _StageFailed("the search use-case (RunSearch) is not available in this build")
        from loom.application.run_search.usecase import RunRequest

        goal = goal or f"Predict {state.get('target') or 'the target'}"
        request = RunRequest(dataset=state["features"], goal=goal, metric=metric, metric_name=metric_name,
                             experiment_id=experiment_id)
        result = search(request, stop=stop) if stop is not None else search(request)
        if result.status.value == "INTERRUPTED":
            state["search_run"] = result.run_id
            raise _StageFailed(f"search run {result.run_id} stopped: {result.message}", EXIT_INTERRUPTED)
        state["search_run"], state["metric"], state["positive"] = result.run_id, result.metric.name, result.positive
        best = result.best
        if best is None:
            raise _StageFailed(f"search run {result.run_id}: {result.message or 'no working candidate'}")
        state["candidates"] = [n.pathspec for n in result.leaderboard if n.pathspec][:20]
        score = f"{best.metric:.4f}" if best.metric is not None else "n/a"
        hold = f", selection {best.selection:.4f}" if best.selection is not None else ""
        est = result.estimate
        if est is not None:
            hold += f", estimate {est.value:.4f}" + (f" [{est.low:.4f}, {est.high:.4f}]" if est.low is not None and est.high is not None else "")
        return StageResult("run", "OK", best.pathspec, None,
                           f"search run {result.run_id} ({result.status.value}): best {score}{hold}")

    def _validate(self, state: dict[str, Any]) -> StageResult:
        r = ValidateSolution(self._mlops)(state["features"], solution=state["search_run"], target=state.get("target"),
                                          metric_name=state.get("metric"), positive=state.get("positive"),
                                          experiment_id=state.get("experiment_id"))
        state["validate"] = r.pathspec
        state["validate_pathspec"] = r.pathspec
        detail = "; ".join(r.reasons)
        if r.verdict is Verdict.FAIL:
            raise _StageFailed(f"VERDICT FAIL: {detail}", verdict=r.verdict.value)
        return StageResult("validate", "OK", r.pathspec, r.verdict.value, detail)

    def _report(self, state: dict[str, Any]) -> StageResult:
        runs = [state["validate"], *state.get("candidates", [])]
        r = WriteReport(self._mlops)(runs=runs)
        state["report_html"] = r.html_path
        return StageResult("report", "OK", r.pathspec, None, f"model card: {r.html_path}")
