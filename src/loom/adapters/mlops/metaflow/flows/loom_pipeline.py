"""LoomPipeline: `loom pipeline` as one schedulable flow (what `loom pipeline --schedule CRON --deploy argo`
compiles to an Argo Workflows CronWorkflow through Metaflow's Deployer).

Its one working step runs `loom --json pipeline ...` (ingest -> eda -> features -> run -> validate ->
report) in the step's own environment: on a cluster that is the pod (an image with Loom installed
and the same Metaflow profile), so every stage is its own versioned run in the same datastore and
metadata service, and this run records what they were. Everything the schedule needs is compiled
in through the `pipeline` Config (`--config-value pipeline '{"cron": ..., "dataset": ..., ...}'`):
the cron expression, the data, the goal, the metric, the brain, the steps, the experiment id.
Artifacts: result (the pipeline's JSON), status, stages ([{stage, status, pathspec}]), exit_code.
"""

from metaflow import Config, FlowSpec, config_expr, schedule, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)

DEFAULTS = {"cron": "0 6 * * *", "dataset": "", "source": "", "goal": "", "metric": "", "target": "",
            "search": "baseline", "steps": 0, "experiment": ""}


@schedule(cron=config_expr("pipeline.cron"))
class LoomPipeline(FlowSpec):
    settings = Config("pipeline", default_value=DEFAULTS, help="The pipeline's schedule and arguments (JSON)")

    @step
    def start(self):
        import json
        import subprocess
        import sys

        p = {**DEFAULTS, **dict(self.settings)}
        argv = [sys.executable, "-m", "loom.entrypoints.cli.app", "--json", "pipeline", "--search", p["search"]]
        for flag in ("dataset", "source", "goal", "metric", "target"):
            if p[flag]:
                argv += [f"--{flag}", str(p[flag])]
        if p["steps"]:
            argv += ["--steps", str(int(p["steps"]))]
        if p["experiment"]:
            argv += ["--experiment-id", p["experiment"]]
        done = subprocess.run(argv, capture_output=True, text=True)
        print(done.stderr[-4000:], file=sys.stderr)
        self.exit_code = done.returncode
        self.result = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
        self.status = self.result.get("status", "FAILED")
        self.stages = [{k: s.get(k) for k in ("stage", "status", "pathspec")} for s in self.result.get("stages", [])]
        if done.returncode != 0:
            raise RuntimeError(f"loom pipeline exited {done.returncode}: {self.result.get('failed_stage') or done.stderr[-300:]}")
        self.next(self.end)

    @step
    def end(self):
        print(f"loom-pipeline: {self.status} " + " ".join(f"{s['stage']}={s['pathspec']}" for s in self.stages))


if __name__ == "__main__":
    LoomPipeline()
