"""ValidateFlow: sealed holdout + K-fold CV of a solution (or a gradient-boosted baseline).

Calibration (Brier + curve) for binary targets, per-slice metrics for `--sensitive`, leakage
checks, and a VERDICT (PASS / REVIEW / FAIL) with its reasons.
Artifacts: dataset, solution, solution_code, target, task_type, metric, greater_is_better,
split, cv_scores, cv_mean, holdout_score, trivial_baseline, brier, calibration, slices,
slice_gap, leakage, verdict, reasons, id_columns, lineage.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class ValidateFlow(FlowSpec):
    dataset = Parameter("dataset", help="Data object pathspec", required=True)
    solution_ref = Parameter("solution", help="Solution reference (empty: the baseline)", default="")
    solution_file = Parameter("solution-file", help="Path of the solution script to run", default="")
    target_col = Parameter("target", help="Target column (inferred when empty)", default="")
    sensitive = Parameter("sensitive", help="Column for per-slice metrics", default="")
    metric_name = Parameter("metric", help="Catalog metric to grade by (empty: ROC-AUC, accuracy or RMSE by task)",
                            default="")
    positive = Parameter("positive", help="The class a binary metric scores (empty: 1 / true / yes, else the last)",
                         default="")
    folds = Parameter("folds", help="CV folds", default=5, type=int)
    holdout_fraction = Parameter("holdout-fraction", help="Sealed holdout share", default=0.2, type=float)
    seed = Parameter("seed", help="Seed of the splits and the baseline", default=0, type=int)
    python = Parameter("python", help="Interpreter that runs the solution", default="")

    @step
    def start(self):
        import sys
        from pathlib import Path

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import predictors, validation
        from loom.application.evaluation import frames, leakage
        from loom.domain.lifecycle import DROP_KINDS, LeakageFlag, validate_verdict

        t = fk.read_tables(self.dataset)
        train, schema = frames.check_table(t["train"]), t["schema"]
        target = frames.infer_target(train, t["test"], schema, self.target_col or None)
        frames.check_target(train, target)
        kind = frames.task_type(train[target], schema)
        _, classes = frames.encode_target(train[target].dropna(), kind)
        validation.check_positive(self.positive or None, kind, classes, target)  # before the solution runs
        ids = frames.id_columns(schema, train)
        if self.solution_file:
            self.solution_code = Path(self.solution_file).read_text()
            spec = validation.metric_spec(self.metric_name or None, kind, classes, target)
            predictor = predictors.ScriptPredictor(self.solution_code, target, kind, classes, id_columns=ids,
                                                   python=self.python or sys.executable,
                                                   probabilities=spec.needs_probabilities,
                                                   positive=self.positive or None)
            self.solution = self.solution_ref or self.solution_file
        else:
            self.solution_code = None
            predictor = predictors.BaselinePredictor(target, kind, classes, drop=ids, seed=self.seed)
            self.solution = predictor.name
        times = [c for c in frames.time_columns(train) if c != target]
        flags = [f for f in leakage.detect(train, target, kind, test=t["test"], schema=schema, seed=self.seed)
                 if f.kind in DROP_KINDS and f.column not in ids]
        r = validation.cross_validate(train, target, kind, predictor, time_column=times[0] if times else None,
                                      sensitive=self.sensitive or None, folds=self.folds,
                                      holdout_fraction=self.holdout_fraction, seed=self.seed, test=t["test"], ids=ids,
                                      metric=self.metric_name or None, positive=self.positive or None)
        gap = r.get("slice_gap")
        if gap is not None and not r["greater_is_better"]:
            gap = gap / max(abs(r["holdout_score"]), 1e-9)  # an error (RMSE, log loss): judge the relative gap
        verdict, reasons = validate_verdict(
            metric=r["metric"], greater_is_better=r["greater_is_better"], cv_scores=r["cv_scores"],
            holdout=r["holdout_score"], baseline=r["trivial_baseline"], leakage=flags, slice_gap=gap,
            near_perfect=r["near_perfect"],
        )
        self.target, self.task_type, self.id_columns = target, kind, ids
        for key in ("metric", "greater_is_better", "split", "cv_scores", "holdout_score", "trivial_baseline", "classes"):
            setattr(self, key, r[key])
        self.cv_mean = round(sum(r["cv_scores"]) / len(r["cv_scores"]), 6)
        self.brier, self.calibration = r.get("brier"), r.get("calibration")
        self.positive_class = r.get("positive_class")  # a binary target's scored class: deploy labels by it
        self.slices, self.slice_gap = r.get("slices") or [], r.get("slice_gap")
        self.leakage = [f.as_dict() for f in flags]
        self.verdict, self.reasons = verdict.value, reasons
        self.lineage = [*t["lineage"], f"{current.flow_name}/{current.run_id}"]
        self._card(r).save()
        self.next(self.end)

    def _card(self, r):
        from metaflow.cards import Markdown

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import plots
        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        c = StepCard("validate")
        c.append(Markdown(f"# Validate {lit(self.solution)} on {lit(self.dataset)}\n\n"
                          f"target {lit(self.target)} ({lit(self.task_type)}) · metric {lit(self.metric)} · split {lit(self.split)}, "
                          f"{len(self.cv_scores)} folds + sealed holdout ({r['holdout_rows']} rows)"))
        c.append(Markdown(fk.verdict_md(self.verdict, self.reasons)))
        c.append(fk.markdown_table([["CV mean", self.cv_mean], ["holdout", self.holdout_score],
                                    ["trivial baseline", self.trivial_baseline], ["Brier", self.brier]],
                                   ["measure", self.metric]))
        c.append(fk.image(plots.cv_scores(self.cv_scores, self.holdout_score, self.metric)))
        if self.calibration:
            c.append(Markdown("## Calibration (holdout)"))
            cal = self.calibration
            c.append(fk.image(plots.calibration_curve(cal["mean_predicted"], cal["fraction_positive"], self.brier)))
        if self.task_type == "regression":
            c.append(fk.image(plots.predicted_vs_actual(r["holdout_truth"], r["holdout_pred"])))
        if self.slices:
            c.append(Markdown(f"## Slices by {lit(self.sensitive)} (gap {self.slice_gap})"))
            c.append(fk.markdown_table([[s["slice"], s["rows"], s[self.metric]] for s in self.slices],
                                       ["slice", "rows", self.metric]))
            scored = [s for s in self.slices if s[self.metric] is not None]
            c.append(fk.image(plots.bars([s["slice"] for s in scored], [s[self.metric] for s in scored],
                                         f"{self.metric} per slice")))
        c.append(Markdown("## Leakage checks"))
        c.append(fk.markdown_table([[f["column"], f["kind"], f["detail"]] for f in self.leakage] or [["none", "", ""]],
                                   ["column", "kind", "detail"]))
        return c

    @step
    def end(self):
        print(f"loom-validate: {current.flow_name}/{current.run_id} {self.verdict}")


if __name__ == "__main__":
    ValidateFlow()
