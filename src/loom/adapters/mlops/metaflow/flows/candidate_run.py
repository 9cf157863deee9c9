"""CandidateRun: one search candidate = one run of this ONE static flow.

The candidate's code enters as data (IncludeFile `code`), its input as the pathspec of a
CandidateInput data object materialized to ./input inside the step. The step runs the code inside
the candidate sandbox (LOOM_SANDBOX: bwrap or none), exactly as the local executor does: the
bootstrap caps memory and records an uncaught exception, the wall timeout and a cancel kill the
whole process tree, and the environment is an allowlist without secrets. Artifacts: code, stdout,
stderr, exit_code, timed_out, exec_time, exc_type, exc_message, exc_trace, metric (parsed from
stdout, best effort), submission (the text of working/submission.csv or None), outputs (the other
files it wrote in ./working, e.g. out-of-fold predictions), sandbox (which one ran it). Output is redacted by the digests of the secrets Loom knows (the step never holds the
secrets themselves). A crashing candidate is a successful run of this flow with exc_type set.

One card per run (id `candidate`: code, output, metric), rendered inside the step by
loom.adapters.shared.metaflow_card (no `card create` processes); the step's body lives in
loom.adapters.mlops.metaflow.candidate_step.
"""

from metaflow import FlowSpec, IncludeFile, Parameter, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class CandidateRun(FlowSpec):
    code = IncludeFile("code", help="The candidate's Python source", is_text=True, encoding="utf-8", required=True)
    input_ref = Parameter("input", help="Pathspec of the CandidateInput holding ./input", required=True)
    exec_timeout = Parameter("timeout", help="Seconds before the candidate is killed", default=600.0, type=float)
    node = Parameter("node", help="Search node id", default="")
    search_run = Parameter("search-run", help="Search run id", default="")
    metric_name = Parameter("metric-name", help="The search's metric (roc_auc, rmse, ...)", default="")
    direction = Parameter("direction", help="maximize | minimize", default="maximize")
    sandbox_spec = Parameter("sandbox", help="JSON: sandbox choice, LOOM_HOME, memory_bytes, cpus, network, env "
                                             "names, input_cache (a local folder to materialize ./input once)",
                             default="{}")
    workspace = Parameter("workspace", help="Folder to run in (created and removed by the caller; "
                                            "empty: a temp folder)", default="")
    sweep_id = Parameter("sweep-id", help="Marker of the candidate's process tree (the caller sweeps it)",
                         default="")
    redact_spec = Parameter("redact", help="JSON [[length, sha256, NAME], ...] of secrets to redact",
                            default="[]")

    @step
    def start(self):
        from loom.adapters.mlops.metaflow import candidate_step

        self.greater_is_better = self.direction != "minimize"  # read by `loom report`
        card = candidate_step.run(self)
        card.save()
        print("loom-progress: storing results", flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CandidateRun()
