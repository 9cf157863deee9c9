"""EdaFlow: profile a data object; leakage flags; an @card with distributions, heatmap, target.

Artifacts: dataset, target, task_type, rows, cols, dtypes, missing, columns (per-column stats),
target_summary, correlations, time_columns, leakage ([{column, kind, detail}]), profile (all).
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class EdaFlow(FlowSpec):
    dataset = Parameter("dataset", help="Data object pathspec (IngestDataset/N or FeaturesFlow/N)", required=True)
    target_col = Parameter("target", help="Target column (inferred when empty)", default="")
    seed = Parameter("seed", help="Seed for sampling and the single-feature CV", default=0, type=int)

    @step
    def start(self):
        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import profile

        tables = fk.read_tables(self.dataset)
        p = profile.profile(tables["train"], test=tables["test"], schema=tables["schema"],
                            target=self.target_col or None, seed=self.seed)
        self.profile = p
        for key in ("target", "task_type", "rows", "cols", "dtypes", "missing", "columns", "target_summary",
                    "correlations", "time_columns", "leakage"):
            setattr(self, key, p[key])
        self.id_columns = list(tables["schema"].get("id_columns") or [])
        self.lineage = [*tables["lineage"], f"{current.flow_name}/{current.run_id}"]
        self._card(tables["train"]).save()
        self.next(self.end)

    def _card(self, train):
        from metaflow.cards import Markdown

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import plots
        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        c = StepCard("eda")
        c.append(Markdown(f"# EDA {lit(self.dataset)}\n\n**{self.rows:,} rows x {self.cols} columns** · target "
                          f"{lit(self.target)} ({lit(self.task_type)})"))
        if self.leakage:
            c.append(Markdown(f"## Leakage flags ({len(self.leakage)})"))
            c.append(fk.markdown_table([[f["column"], f["kind"], f["detail"]] for f in self.leakage],
                                       ["column", "kind", "detail"]))
        else:
            c.append(Markdown("## Leakage flags\n\nnone"))
        c.append(Markdown("## Target"))
        c.append(fk.image(plots.target_plot(train[self.target], self.task_type)))
        corr = self.correlations
        if corr["columns"]:
            c.append(Markdown("## Correlations"))
            c.append(fk.image(plots.heatmap(corr["columns"], corr["matrix"])))
        features = [col["name"] for col in self.columns if col["name"] != self.target]
        c.append(Markdown("## Distributions"))
        c.append(fk.image(plots.distributions(train, features)))
        written = [[col["name"], ", ".join(f"'{k}' x{v:,}" for k, v in col["missing_text"].items())]
                   for col in self.columns if col.get("missing_text")]
        if written:  # counted as missing in the table below
            c.append(Markdown("## Missing values written as text"))
            c.append(fk.markdown_table(written, ["column", "values read as missing"]))
        c.append(Markdown("## Columns"))
        rows = [[col["name"], col["dtype"], f"{col['missing']:.1%}", col["unique"], col.get("mean"), col.get("std"),
                 col.get("min"), col.get("max")] for col in self.columns]
        c.append(fk.markdown_table(rows, ["column", "dtype", "missing", "unique", "mean", "std", "min", "max"]))
        return c

    @step
    def end(self):
        print(f"loom-eda: {current.flow_name}/{current.run_id} leakage={len(self.leakage)}")


if __name__ == "__main__":
    EdaFlow()
