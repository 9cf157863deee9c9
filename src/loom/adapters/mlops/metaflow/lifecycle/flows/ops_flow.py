"""OpsFlow: run health of a flow or an experiment, and data drift of a batch vs a reference.

Artifacts: mode (health | drift | both), health ({total, succeeded, failed, running,
success_rate, failures:[pathspec], last}), drift ([{column, kind, psi, ks, drifted}]),
histograms, new_columns, missing_columns, verdict (HEALTHY | ATTENTION), reasons.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class OpsFlow(FlowSpec):
    flow_name = Parameter("flow", help="Flow whose runs to check", default="")
    experiment = Parameter("experiment", help="Experiment id whose runs to check", default="")
    dataset = Parameter("dataset", help="Batch data object to check for drift", default="")
    reference = Parameter("reference", help="Reference data object", default="")
    limit = Parameter("limit", help="Most recent runs to consider", default=100, type=int)

    @step
    def start(self):
        from loom.domain.errors import UsageError

        reasons, attention = [], False
        self.health, self.drift, self.histograms = None, [], {}
        self.new_columns, self.missing_columns = [], []
        if self.flow_name or self.experiment:
            verdict, why = self._health()
            attention |= verdict == "ATTENTION"
            reasons += why
        if self.dataset or self.reference:
            if not (self.dataset and self.reference):
                raise UsageError("drift needs both --dataset and --reference")
            verdict, why = self._drift()
            attention |= verdict == "ATTENTION"
            reasons += why
        if self.health is None and not self.drift and not self.new_columns and not self.missing_columns and not self.dataset:
            raise UsageError("pass --flow F, --experiment ID, or --dataset P --reference P0")
        self.mode = "+".join(m for m, on in (("health", self.health is not None), ("drift", bool(self.dataset))) if on)
        self.verdict, self.reasons = ("ATTENTION" if attention else "HEALTHY"), reasons
        self._card().save()
        self.next(self.end)

    def _health(self):
        from metaflow import Flow, namespace
        from metaflow.exception import MetaflowNotFound

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.domain.errors import UsageError
        from loom.domain.lifecycle import health_verdict

        namespace(None)
        if self.flow_name:
            try:
                runs = list(Flow(self.flow_name).runs())[: self.limit]
            except MetaflowNotFound:
                raise UsageError(f"flow '{self.flow_name}' has no runs in this datastore") from None
        else:
            runs = sorted(fk.experiment_runs(self.experiment, self.limit), key=lambda r: r.created_at, reverse=True)
        runs = [r for r in runs if r.pathspec != f"{current.flow_name}/{current.run_id}"]
        ok = [r for r in runs if r.successful]
        # a run whose step raised never reaches its end step: Metaflow calls it unfinished, but it failed
        failed = [r for r in runs if not r.successful and (r.finished or _task_failed(r))]
        running = [r for r in runs if not r.finished and r not in failed]
        # an unfinished run without a failed task, older than this one, of another process, crashed without a trace
        total = len(runs)
        self.health = {
            "total": total, "succeeded": len(ok), "failed": len(failed), "running": len(running),
            "success_rate": round(len(ok) / total, 4) if total else None,
            "failures": [r.pathspec for r in failed + running][:50],
            "last": runs[0].pathspec if runs else None,
        }
        last_failed = bool(runs) and not runs[0].successful
        verdict, reasons = health_verdict(total, len(ok), len(failed) + len(running), last_failed)
        return verdict.value, reasons

    def _drift(self):
        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import drift as dr
        from loom.application.evaluation import frames
        from loom.domain.lifecycle import drift_verdict

        cur, ref = fk.read_tables(self.dataset), fk.read_tables(self.reference)
        frames.check_table(cur["train"], "batch")
        frames.check_table(ref["train"], "reference")
        ids = list(ref["schema"].get("id_columns") or []) + list(cur["schema"].get("id_columns") or [])
        result = dr.compare(ref["train"], cur["train"], skip=ids)
        self.drift = [vars(c) for c in result["columns"]]
        self.histograms = result["histograms"]
        self.new_columns, self.missing_columns = result["new_columns"], result["missing_columns"]
        verdict, reasons = drift_verdict(result["columns"], self.new_columns, self.missing_columns)
        return verdict.value, reasons

    def _card(self):
        from metaflow.cards import Markdown, VegaChart

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import plots
        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        c = StepCard("ops")
        c.append(Markdown(f"# Ops ({lit(self.mode)})"))
        c.append(Markdown(fk.verdict_md(self.verdict, self.reasons)))
        if self.health is not None:
            h = self.health
            c.append(Markdown(f"## Run health ({lit(self.flow_name) if self.flow_name else 'experiment ' + lit(self.experiment)})"))
            c.append(fk.markdown_table([[k, h[k]] for k in ("total", "succeeded", "failed", "running", "success_rate", "last")],
                                       ["measure", "value"]))
            if h["failures"]:
                c.append(Markdown("Failures: " + ", ".join(lit(p) for p in h["failures"])))
        if self.dataset:
            c.append(Markdown(f"## Drift of {lit(self.dataset)} vs {lit(self.reference)}"))
            c.append(fk.markdown_table([[d["column"], d["kind"], d["psi"], d["ks"], "yes" if d["drifted"] else ""]
                                        for d in self.drift], ["column", "kind", "PSI", "KS", "drifted"]))
            # Vega-Lite charts, drawn by the card's bundled JavaScript (offline): no matplotlib in this flow
            if self.drift:
                c.append(VegaChart(plots.vega_bars([d["column"] for d in self.drift], [d["psi"] for d in self.drift],
                                                   "PSI per column")))
            for d in [d for d in self.drift if d["drifted"]][:6]:
                c.append(VegaChart(plots.vega_drift_hist(d["column"], self.histograms[d["column"]])))
            if self.new_columns or self.missing_columns:
                c.append(Markdown(f"new columns: {', '.join(lit(x) for x in self.new_columns) or 'none'} · "
                                  f"missing columns: {', '.join(lit(x) for x in self.missing_columns) or 'none'}"))
        return c

    @step
    def end(self):
        print(f"loom-ops: {current.flow_name}/{current.run_id} {self.verdict}")


def _task_failed(run) -> bool:
    """A task of `run` ended unsuccessfully: its step raised (Metaflow records `attempt_ok` False
    and calls the task unfinished)."""
    try:
        return any(str(task.metadata_dict.get("attempt_ok")) == "False" for step in run for task in step)
    except Exception:  # noqa: BLE001 - a run being written: not known to have failed
        return False


if __name__ == "__main__":
    OpsFlow()
