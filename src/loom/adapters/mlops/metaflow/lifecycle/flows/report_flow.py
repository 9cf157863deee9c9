"""ReportFlow: a model card (HTML + Markdown) over runs: best, spread, leaderboard, lineage, verdicts.

Runs come from `--runs P1,P2,...` or every run tagged with the experiment (`experiment:ID`).
Artifacts: runs, rows (one per run), leaderboard, best, spread, verdicts, markdown, html,
html_path, markdown_path.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)

#: Artifacts read from each run, whatever its flow (candidate, validate, search, ...).
SCORE_NAMES = ("holdout_score", "metric_value", "score", "valid_metric", "metric")
READ = ("verdict", "metric", "metric_name", "greater_is_better", "dataset", "lineage", "solution", "holdout_score",
        "metric_value", "score", "valid_metric", "cv_mean", "lower_is_better", "node_id", "is_buggy")


class ReportFlow(FlowSpec):
    runs_csv = Parameter("runs", help="Comma-separated pathspecs", default="")
    experiment = Parameter("experiment", help="Experiment id (runs tagged experiment:ID)", default="")
    out_dir = Parameter("out-dir", help="Directory for model_card.html / model_card.md", required=True)
    title = Parameter("title", help="Card title", default="")

    @step
    def start(self):
        from pathlib import Path

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import model_card
        from loom.domain.errors import UsageError

        if self.runs_csv:
            runs = [fk.client_run(p.strip()) for p in self.runs_csv.split(",") if p.strip()]
        elif self.experiment:
            runs = fk.experiment_runs(self.experiment)
            if not runs:
                raise UsageError(f"no runs are tagged with experiment '{self.experiment}'")
        else:
            raise UsageError("pass --experiment ID or --runs P1,P2,...")
        self.runs = [r.pathspec for r in runs]
        self.rows = [self._row(r, fk) for r in runs]
        summary = model_card.summarize([dict(r) for r in self.rows])
        self.leaderboard, self.best, self.spread = summary["leaderboard"], summary["best"], summary["spread"]
        self.verdicts = {r["pathspec"]: r["verdict"] for r in self.rows if r.get("verdict")}
        title = self.title or (f"experiment {self.experiment}" if self.experiment else f"{len(self.runs)} runs")
        self.markdown = model_card.markdown(title, summary, self.verdicts)
        self.html = model_card.to_html(title, summary, self.verdicts)
        out = Path(self.out_dir) / f"{current.flow_name}-{current.run_id}"
        out.mkdir(parents=True, exist_ok=True)
        (out / "model_card.md").write_text(self.markdown)
        (out / "model_card.html").write_text(self.html)
        self.html_path, self.markdown_path = str(out / "model_card.html"), str(out / "model_card.md")
        self._card().save()
        self.next(self.end)

    @staticmethod
    def _row(run, fk):
        a = fk.artifacts(run, READ)
        score = next((a[n] for n in SCORE_NAMES if isinstance(a.get(n), (int, float)) and not isinstance(a.get(n), bool)), None)
        greater = a.get("greater_is_better")
        if greater is None and "lower_is_better" in a:
            greater = not a["lower_is_better"]
        metric = a.get("metric") if isinstance(a.get("metric"), str) else a.get("metric_name")
        return {
            "pathspec": run.pathspec,
            "kind": run.pathspec.split("/")[0],
            "status": "ok" if run.successful else ("failed" if run.finished else "running"),
            "score": None if score is None or score != score else float(score),
            "metric": metric,
            "greater_is_better": True if greater is None else bool(greater),
            "verdict": a.get("verdict"),
            "dataset": a.get("dataset"),
            "lineage": [str(x) for x in a.get("lineage") or []],
            "created_at": str(run.created_at),
        }

    def _card(self):
        from metaflow.cards import Markdown

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import plots
        from loom.adapters.shared.metaflow_card import StepCard

        card = StepCard("report")
        card.append(Markdown(self.markdown))
        scored = [r for r in self.leaderboard if r.get("score") is not None]
        if scored:
            card.append(fk.image(plots.bars([r["pathspec"] for r in scored], [r["score"] for r in scored],
                                            "score per run (leaderboard order)")))
        return card

    @step
    def end(self):
        print(f"loom-report: {self.html_path}")


if __name__ == "__main__":
    ReportFlow()
