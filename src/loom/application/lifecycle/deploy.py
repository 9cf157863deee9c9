"""DeploySolution (`loom deploy`): the gate, the staged PLAN, and (--apply) batch scoring / serving.

The gate is the domain rule `deploy_gate`: ALLOW only when the upstream validate verdict is PASS
(and the holdout clears `floor`). A refusal raises RefusedError (exit 3) with every reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from loom.application.lifecycle import require_lifecycle
from loom.domain.errors import RefusedError, UsageError
from loom.domain.lifecycle import DeployResult, Verdict, deploy_gate
from loom.domain.status import Status


class DeploySolution:
    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(
        self,
        *,
        validate: str | None = None,
        solution: str | None = None,
        apply: bool = False,
        score: str | None = None,
        serve: bool = False,
        floor: float | None = None,
    ) -> DeployResult:
        if bool(validate) == bool(solution):  # both: one would be silently ignored
            raise UsageError("pass one of --validate ValidateFlow/N or --solution RUN"
                             + (", not both" if validate else ""))
        if (score or serve) and not apply:
            raise UsageError("--score and --serve perform a deployment: add --apply")
        if apply and not (score or serve):
            raise UsageError("--apply needs --score DATASET (batch scoring) and/or --serve (HTTP endpoint)")
        lifecycle = require_lifecycle(self._mlops, "deploy")
        record = lifecycle.deploy_record(validate=validate, solution=solution)
        gate, reasons = deploy_gate(
            validate_verdict=record.verdict, holdout=record.holdout_score, floor=floor,
            greater_is_better=record.greater_is_better,
        )
        if gate is Verdict.REFUSE:
            raise RefusedError(f"deploy refused by the gate: {'; '.join(reasons)}", status=Status.REFUSED_GATE.value)
        staged = lifecycle.stage_deploy(record, reasons)
        if not apply:
            return staged
        scored: dict[str, Any] = {}
        if score:
            scored = lifecycle.batch_score(staged.manifest_path, score)
        return replace(
            staged, status=Status.OK.value, score_pathspec=scored.get("pathspec"), rows_scored=scored.get("rows"),
            serve=serve, manifest={**staged.manifest, **({"predictions_path": scored["path"]} if scored else {})},
        )

    def serving_app(self, result: DeployResult) -> Any:
        """The ASGI app of an applied deployment (the CLI runs it with uvicorn)."""
        return require_lifecycle(self._mlops, "deploy").serving_app(result.manifest_path)
