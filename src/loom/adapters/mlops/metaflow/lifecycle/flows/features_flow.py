"""FeaturesFlow: a derived feature set as a new data object (same artifact names as IngestDataset).

Leaky columns come from an EDA run (`--from-eda EdaFlow/N`) or are recomputed here.
Artifacts: train, test, sample_submission, schema, fingerprint, dataset_name, source (the
data-object contract) + dropped ([{column, kind, detail}]), kept (flagged, not dropped: a strong
predictor short of CERTAIN_LEAK), added, columns_before,
columns_after, recipe, parent, eda_run, lineage.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class FeaturesFlow(FlowSpec):
    dataset = Parameter("dataset", help="Input data object pathspec", required=True)
    from_eda = Parameter("from-eda", help="EdaFlow/N whose leakage flags to apply (recomputed when empty)", default="")
    recipe = Parameter("recipe", help="minimal | full", default="minimal")
    target_col = Parameter("target", help="Target column (inferred when empty)", default="")
    seed = Parameter("seed", help="Seed for the leakage checks", default=0, type=int)

    @step
    def start(self):
        from loom.adapters.mlops.metaflow import tabular
        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.mlops.metaflow.lifecycle.analysis import recipes
        from loom.application.evaluation import frames, leakage
        from loom.domain.errors import UsageError

        if self.recipe not in recipes.RECIPES:
            raise UsageError(f"unknown recipe '{self.recipe}'; use minimal or full")
        t = fk.read_tables(self.dataset)
        train, test, schema = frames.check_table(t["train"]), t["test"], dict(t["schema"])
        if self.from_eda:
            eda = fk.artifacts(fk.client_run(self.from_eda), ("leakage", "target", "dataset"))
            if "leakage" not in eda:
                raise UsageError(f"{self.from_eda} is not a finished EdaFlow run (no leakage artifact)")
            target = self.target_col or eda["target"]
            flags = eda["leakage"]
            self.eda_run = self.from_eda
        else:
            target = frames.infer_target(train, test, schema, self.target_col or None)
            frames.check_target(train, target)
            kind = frames.task_type(train[target], schema)
            flags = [f.as_dict() for f in leakage.detect(train, target, kind, test=test, schema=schema, seed=self.seed)]
            self.eda_run = None
        keep = list(schema.get("id_columns") or [])
        self.dropped, self.kept = recipes.columns_to_drop(flags, target, keep)
        drop = [f["column"] for f in self.dropped]
        new_train, new_test, self.added = recipes.apply(train, test, target=target, drop=drop, recipe=self.recipe)
        self.columns_before, self.columns_after = int(train.shape[1]), int(new_train.shape[1])
        # stored as Parquet bytes that unpickle to DataFrames (tabular.ParquetFrame)
        self.train, self.test = tabular.for_storage(new_train), tabular.for_storage(new_test)
        self.sample_submission = tabular.for_storage(t["sample_submission"])
        tabular.keep_raw(self, (self.train, self.test, self.sample_submission))  # no gzip of Parquet
        self.fingerprint = recipes.fingerprint(new_train, new_test)
        self.schema = {
            **schema,
            "columns": [{"name": str(c), "dtype": str(d)} for c, d in new_train.dtypes.items()],
            "rows": {"train": int(len(new_train)), "test": int(len(new_test)) if new_test is not None else 0},
            "target": target,
            "id_columns": [c for c in keep if c in new_train.columns],
        }
        self.dataset_name = f"{t['dataset_name'] or 'dataset'}-features"
        self.source = self.dataset
        self.parent = self.dataset
        self.lineage = [*t["lineage"], *([self.eda_run] if self.eda_run else []), f"{current.flow_name}/{current.run_id}"]
        self._card().save()
        self.next(self.end)

    def _card(self):
        from metaflow.cards import Markdown

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        c = StepCard("features")
        c.append(Markdown(f"# Features from {lit(self.dataset)} (recipe {lit(self.recipe)})\n\n"
                          f"**columns {self.columns_before} -> {self.columns_after}** · "
                          f"dropped {len(self.dropped)} · added {len(self.added)} · fingerprint {lit(self.fingerprint[:16])}\n\n"
                          f"lineage: {' -> '.join(lit(x) for x in self.lineage)}"))
        c.append(Markdown("## Dropped (leakage)"))
        c.append(fk.markdown_table([[f["column"], f["kind"], f["detail"]] for f in self.dropped] or [["—", "", ""]],
                                   ["column", "kind", "detail"]))
        if self.kept:
            c.append(Markdown("## Kept, for review (a strong predictor, not certainly a leak)"))
            c.append(fk.markdown_table([[f["column"], f["kind"], f["detail"]] for f in self.kept], ["column", "kind", "detail"]))
        c.append(Markdown("## Added\n\n" + (", ".join(lit(a) for a in self.added) or "none")))
        return c

    @step
    def end(self):
        print(f"loom-dataset: {current.flow_name}/{current.run_id} {self.fingerprint}")


if __name__ == "__main__":
    FeaturesFlow()
