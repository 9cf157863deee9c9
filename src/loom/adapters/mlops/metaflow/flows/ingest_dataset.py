"""IngestDataset: a data dir or one CSV/Parquet file -> a versioned data object.

Artifacts (the data-object contract every later data flow keeps): train, test,
sample_submission (DataFrames or None; stored as Parquet bytes that unpickle to DataFrames,
see tabular.ParquetFrame), test_labels (single-file splits only), schema
({columns:[{name,dtype}], rows:{train,test}, target, id_columns, task_type}), split,
fingerprint (sha256 over content, defined in arrow_columns.fingerprint), dataset_name, source,
read_as (one sentence per table written otherwise and read through its plain CSV copy: ';'-separated,
decimal commas, cp1252). The step's work is `ingest_prep.prepare_source`: Arrow first, pandas only
where a table needs it.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class IngestDataset(FlowSpec):
    source = Parameter("source", help="Data dir or CSV/Parquet file (absolute path)", required=True)
    dataset = Parameter("dataset", help="Dataset name (default: the source's name)", default="")
    target_col = Parameter("target", help="Target column (inferred when empty)", default="")
    seed = Parameter("seed", help="Seed of the train/test split of a single file", default=0, type=int)
    test_fraction = Parameter("test-fraction", help="Test share of a single file", default=0.2, type=float)
    time_column = Parameter("time-column", help="Split a single file by this column's time (\"none\": never; "
                            "empty: a detected date column)", default="")
    prefetch = Parameter("prefetch", help="Folder of the caller's parse of the source's CSVs (prefetch.py; "
                         "empty: the step parses them)", default="")

    @step
    def start(self):
        import tempfile
        import time
        from pathlib import Path

        from loom.adapters.mlops.metaflow import ingest_prep, prefetch
        from loom.adapters.mlops.metaflow import tabular as tb
        from loom.application.dialect import stem_of

        t0 = time.monotonic()
        prefetch.use(self.prefetch)
        src = Path(self.source)
        with tempfile.TemporaryDirectory(prefix="loom-plain-") as plain:  # tables written otherwise, as plain CSV
            prepared, self.read_as = ingest_prep.prepare_source(
                src, Path(plain), target=self.target_col or None, seed=self.seed, test_fraction=self.test_fraction,
                time_column=self.time_column or None, say=lambda m: print(f"loom-progress: {m}", flush=True),
                keep=lambda table: tb.keep_raw(self, (table,)))  # stored as encoded; Parquet: no gzip at step end
        self.split, self.schema, self.fingerprint = prepared.split, prepared.schema, prepared.fingerprint
        self.train, self.test, self.sample_submission, self.test_labels = prepared.stored
        self.dataset_name = self.dataset or (stem_of(src) if src.is_file() else src.name)
        self.ingest_seconds = round(time.monotonic() - t0, 3)
        print("loom-progress: rendering the dataset card", flush=True)
        self._card(prepared).save()
        print("loom-progress: storing artifacts", flush=True)
        self.next(self.end)

    def _card(self, prepared):
        from metaflow.cards import Markdown, Table

        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        card = StepCard("dataset")
        s = self.schema
        card.append(Markdown(f"# Dataset {lit(self.dataset_name)}\n\n"
                             f"rows: train {s['rows']['train']:,}, test {s['rows']['test']:,} · "
                             f"target: {lit(s['target'])} ({lit(s['task_type'])}) · ids: {lit(s['id_columns'])}\n\n"
                             f"fingerprint {lit(self.fingerprint[:16])}"
                             + "".join(f"\n\n{lit(note)}" for note in self.read_as)))
        card.append(Table(
            [[c["name"], c["dtype"], f"{100 * prepared.missing.get(c['name'], 0.0):.1f}%"] for c in s["columns"][:200]],
            headers=["column", "dtype", "missing (train)"],
        ))
        card.append(Markdown("## Preview (train)"))
        card.append(Table(prepared.head, headers=[c["name"] for c in s["columns"]]))
        return card

    @step
    def end(self):
        print(f"loom-dataset: {current.flow_name}/{current.run_id} {self.fingerprint}")


if __name__ == "__main__":
    IngestDataset()
