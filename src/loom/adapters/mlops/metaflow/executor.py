"""The `metaflow` executor: every candidate is one run of the static CandidateRun flow.

The prepared candidate input of a search is stored once as a CandidateInput data object
(cached per input dir content) and materialized to ./input inside the step, so the same run
works remotely: `LOOM_METAFLOW_WITH` (e.g. `kubernetes`, `batch`, several separated by `;`)
is passed through as `--with` to candidate runs — Metaflow scales out, Loom never emulates it
(remote runs need a Metaflow profile with a shared datastore and metadata service).

`execute` returns once the run's `start` step has stored the candidate's results; the run's
`end` step then finishes in the background while the search moves on (its next LLM call), and
`drain()` waits for those tails (RunSearch calls it before returning; it also runs at exit).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.shared import metaflow_runtime as rt
from loom.adapters.shared.metaflow_tails import end_step_started
from loom.application.ports.mlops import ExecRequest, ExecResult
from loom.domain.errors import ExecutionFailed

if TYPE_CHECKING:
    from loom.adapters.sandbox.warm import WarmPool
    from loom.application.config import LoomConfig

log = logging.getLogger(__name__)

FLOWS = Path(__file__).resolve().parent / "flows"
CANDIDATE_FLOW = FLOWS / "candidate_run.py"
INPUT_FLOW = FLOWS / "candidate_input.py"
#: Extra wall time allowed for the flow around the candidate's own timeout (start-up, storing);
#: remote steps (`--with kubernetes`) also wait for scheduling and image pulls.
FLOW_OVERHEAD_S = 180.0
REMOTE_OVERHEAD_S = 1800.0

_CACHE_INIT = threading.Lock()

RESULT_ARTIFACTS = ("stdout", "stderr", "exit_code", "timed_out", "exec_time", "exc_type",
                    "exc_message", "exc_trace", "submission", "metric", "outputs")


def _digest(input_dir: Path) -> str:
    """Cheap identity of a directory's content: relative paths, sizes, mtimes."""
    h = hashlib.sha256()
    for p in sorted(input_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(input_dir)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


class MetaflowExecutorMixin:
    """Executor protocol (name, execute) over Metaflow runs; needs `self.config`."""

    config: "LoomConfig"
    name = "metaflow"

    def _input_cache(self) -> dict[tuple[str, str], str]:
        with _CACHE_INIT:
            if not hasattr(self, "_inputs"):
                self._inputs: dict[tuple[str, str], str] = {}
                self._inputs_lock = threading.Lock()
        return self._inputs

    def drain(self) -> None:
        """Wait until every candidate run returned early has finished its `end` step.

        `execute` returns as soon as the candidate's results are stored (the `start` step): the
        run's `end` step finishes in the background, overlapping whatever the caller does next (the
        next LLM call, the next candidate). RunSearch calls this before it returns; Loom's own reads
        (the Client API views) and any flow that reads earlier runs wait for it too, and it runs at
        exit (loom.adapters.shared.metaflow_tails.drain).
        """
        rt.drain()

    def candidate_input(self, input_dir: Path, run_id: str = "") -> str:
        """Pathspec of the CandidateInput holding `input_dir` (stored once per content)."""
        cache = self._input_cache()
        input_dir = Path(input_dir).resolve()
        key = (str(input_dir), _digest(input_dir))
        with self._inputs_lock:
            if key not in cache:
                cache[key] = rt.run_flow(
                    INPUT_FLOW, {"input-dir": str(input_dir), "search-run": run_id}, self.config,
                    tags=self._tags(run_id=run_id),
                )
            return cache[key]

    def _tags(self, *, run_id: str = "", experiment_id: str | None = None,
              node_id: str | None = None, extra: dict[str, str] | None = None) -> list[str]:
        tags = {"loom_run": run_id, "experiment": experiment_id or "", "node": node_id or "",
                "tenant": self.config.tenant, "owned_by": self.config.owned_by, **(extra or {})}
        return [f"{k}:{v}" for k, v in tags.items() if v]

    def preflight(self) -> None:
        """Before a search's first candidate: LOOM_METAFLOW_WITH must name step decorators this
        Metaflow knows (a ConfigError, exit 2, instead of every CandidateRun failing)."""
        rt.with_specs(self.config.metaflow_with, self.config)

    def sandbox_warning(self) -> str | None:
        """Said once per run when candidates will not be isolated (remote steps: the pod's business)."""
        from loom.adapters.sandbox import announce, select

        if self.config.metaflow_with:
            return None
        self._warm_address()  # the fork server imports the ML stack while the brain writes the first candidate
        return announce(select(self.config))

    def warm_pool(self, ws: Path) -> "WarmPool | None":
        """Loom's fork server for local steps: the one the local executor shares (None when off or remote)."""
        if self.config.metaflow_with:
            return None
        from loom.adapters.sandbox import warm

        return warm.for_config(self.config, ws)

    def _warm_address(self) -> str:
        """Where a local step asks for a warm candidate ("" when there is no pool).

        The fork server lives in this process; a step is its grandchild (Loom → Metaflow runtime →
        step), so it reaches the server through a relay (sandbox/warm_relay.py).
        """
        pool = self.warm_pool(Path(tempfile.gettempdir()))
        return pool.relay_address() if pool is not None else ""

    def _sandbox_params(self, input_dir: Path) -> dict[str, str]:
        """The sandbox the step must use, and the digests of the secrets its output is redacted by.

        A local step gets the sandbox already chosen here (bwrap | none: no second probe) and a
        folder next to the search's input where it materializes the CandidateInput once; a remote
        step (`--with ...`) chooses on its own machine and materializes per step.
        """
        from loom.adapters.sandbox import limits, select
        from loom.application.redaction import digests, secret_values

        choice, cache = self.config.sandbox, ""
        if not self.config.metaflow_with:
            # a forced bwrap that cannot run fails here, before the flow starts
            choice, cache = select(self.config).name, str(Path(input_dir).resolve().parent / "metaflow_input")
        lim = limits(self.config)
        spec = {"sandbox": choice, "home": str(self.config.home), "memory_bytes": lim.memory_bytes,
                "cpus": lim.cpus, "network": lim.network, "env": self.config.sandbox_env or "",
                "input_cache": cache, "warm": self._warm_address()}
        return {"sandbox": json.dumps(spec), "redact": json.dumps(digests(secret_values()))}

    def execute(self, request: ExecRequest) -> ExecResult:
        """Run one candidate as a CandidateRun; a crash/timeout is a result, never an exception.

        Only a Metaflow that cannot store the search's input at all raises (ExecutionFailed).
        """
        from loom.adapters.sandbox import process

        t0 = time.monotonic()
        workspace = self.config.home / "metaflow_workspaces" / request.run_id / request.node_id
        workspace.mkdir(parents=True, exist_ok=True)
        sweep = process.new_token()
        # where the step runs the candidate: outside LOOM_HOME, removed here whatever happens
        scratch = None if self.config.metaflow_with else Path(tempfile.mkdtemp(prefix="loom-candidate-"))
        input_ref = self.candidate_input(request.input_dir, request.run_id)
        code_file = workspace / "runfile.py"
        code_file.write_text(request.code, encoding="utf-8")
        extra = {k: str(v) for k, v in request.tags.items() if k not in ("tenant", "owned_by")}
        if request.dataset:
            extra["dataset"] = request.dataset
        tags = self._tags(run_id=request.run_id, experiment_id=request.experiment_id,
                          node_id=request.node_id, extra=extra)
        for key in ("tenant", "owned_by"):
            if key in request.tags:
                tags = [t for t in tags if not t.startswith(key + ":")] + [f"{key}:{request.tags[key]}"]
        params = {"code": str(code_file), "input": input_ref, "timeout": request.timeout,
                  "node": request.node_id, "search-run": request.run_id, "sweep-id": sweep,
                  "workspace": str(scratch) if scratch else None, **self._sandbox_params(request.input_dir)}
        if request.metric_name:  # so a report over candidate runs ranks them the right way round
            params["metric-name"] = request.metric_name
            params["direction"] = "maximize" if request.greater_is_better is not False else "minimize"
        try:
            pathspec = rt.run_flow(
                CANDIDATE_FLOW, params, self.config, tags=tags, with_=self.config.metaflow_with,
                timeout=request.timeout + (REMOTE_OVERHEAD_S if self.config.metaflow_with else FLOW_OVERHEAD_S),
                cancel=request.cancel, detach_when=end_step_started,
                drain_first=False,  # a candidate reads only its CandidateInput, never an earlier candidate
            )
        except ExecutionFailed as err:  # the flow itself failed (OOM of the step, infra, cancel)
            log.warning("candidate flow failed", extra={"node": request.node_id, "error": err.line()})
            return ExecResult(
                stdout="", stderr=err.line(), exec_time=time.monotonic() - t0, exit_code=None,
                timed_out=bool(getattr(err, "timed_out", False)),
                exc_type="Cancelled" if getattr(err, "cancelled", False) else "MetaflowRunFailed",
                exc_message=err.line(), pathspec=getattr(err, "pathspec", None), workspace=workspace,
            )
        finally:  # also on Ctrl-C: a killed step leaves no candidate process and no temp folder behind
            process.kill_tree(None, sweep)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        art = rt.read_step_artifacts(pathspec, "start", RESULT_ARTIFACTS, self.config)
        submission = None
        if art.get("submission") is not None:
            submission = workspace / "submission.csv"
            submission.write_text(art["submission"], encoding="utf-8")
        outputs = _write_outputs(workspace / "working", art.get("outputs"))
        return ExecResult(
            stdout=art.get("stdout") or "",
            stderr=art.get("stderr") or "",
            exec_time=float(art.get("exec_time") or 0.0),
            exit_code=art.get("exit_code"),
            timed_out=bool(art.get("timed_out")),
            exc_type=art.get("exc_type"),
            exc_message=art.get("exc_message"),
            exc_trace=art.get("exc_trace"),
            submission=submission,
            pathspec=pathspec,
            workspace=workspace,
            outputs=outputs,
        )


def _write_outputs(dest: Path, files: object) -> Path | None:
    """The candidate's kept ./working files (an artifact of its run) as Loom's local copy."""
    if not isinstance(files, dict) or not files:
        return None
    if dest.exists():
        shutil.rmtree(dest)
    for rel, blob in files.items():
        parts = Path(str(rel)).parts
        if not parts or Path(str(rel)).is_absolute() or ".." in parts or not isinstance(blob, bytes):
            continue
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return dest if dest.is_dir() else None
