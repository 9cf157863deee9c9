"""IngestDataset: a data dir or one CSV/Parquet file -> a versioned data object.

Artifacts (the data-object contract every later data flow keeps): train, test,
sample_submission (DataFrames or None; stored as Parquet bytes that unpickle to DataFrames,
see tabular.ParquetFrame), test_labels (single-file splits only), schema
({columns:[{name,dtype}], rows:{train,test}, target, id_columns, task_type}), fingerprint
(sha256 over content), dataset_name, source.
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

    @step
    def start(self):
        import time
        from concurrent.futures import ThreadPoolExecutor
        from pathlib import Path

        from loom.adapters.mlops.metaflow import tabular as tb

        t0 = time.monotonic()
        src = Path(self.source)
        files = tb.find_tables(src)
        tables = {}
        for key, path in files.items():
            size = path.stat().st_size / 1e6
            print(f"loom-progress: reading {path.name} ({size:,.1f} MB)", flush=True)
            tables[key] = tb.read_table(path)
            print(f"loom-progress: read {path.name}: {len(tables[key]):,} rows x {tables[key].shape[1]} cols", flush=True)
        explicit = self.target_col or None
        labels = None
        self.split = {"kind": "given"}  # a data dir keeps its own train/test
        if "single" in tables:
            whole = tables.pop("single")
            target = tb.infer_target(whole, None, None, explicit)
            time_col = tb.time_column(whole, target, tb.id_columns(whole, target), self.time_column or None)
            how = f"by time ('{time_col}': the latest rows are test)" if time_col else f"seed {self.seed}"
            print(f"loom-progress: splitting train/test ({how})", flush=True)
            train, test, labels = tb.split(whole, target, self.test_fraction, self.seed, time_col)
            self.split = {"kind": "time" if time_col else "random", "time_column": time_col,
                          "test_fraction": self.test_fraction, "seed": self.seed}
            sample = None
        else:
            train, test, sample = tables["train"], tables.get("test"), tables.get("sample_submission")
            target = tb.infer_target(train, test, sample, explicit)
        ids = tb.id_columns(train, target)
        kind = tb.task_type(train[target] if target else None)
        print("loom-progress: fingerprinting and encoding the tables", flush=True)
        self.schema = tb.schema_of(train, test, target, ids, kind)
        # the content hash and the Parquet encodings release the GIL: run them side by side
        with ThreadPoolExecutor(max_workers=2) as pool:
            fingerprint = pool.submit(tb.fingerprint, {"train": train, "test": test, "sample_submission": sample})
            stored = list(pool.map(tb.for_storage, (train, test, sample, labels)))
        self.fingerprint = fingerprint.result()
        self.train, self.test, self.sample_submission, self.test_labels = stored
        tb.keep_raw(self, stored)  # Parquet is compressed already: no gzip at step end
        self.dataset_name = self.dataset or (src.stem if src.is_file() else src.name)
        self.ingest_seconds = round(time.monotonic() - t0, 3)
        print("loom-progress: rendering the dataset card", flush=True)
        self._card(train).save()
        print("loom-progress: storing artifacts", flush=True)
        self.next(self.end)

    def _card(self, train):
        from metaflow.cards import Markdown, Table

        from loom.adapters.shared.metaflow_card import StepCard

        card = StepCard("dataset")
        s = self.schema
        card.append(Markdown(f"# Dataset `{self.dataset_name}`\n\n"
                             f"rows: train {s['rows']['train']:,}, test {s['rows']['test']:,} · "
                             f"target: `{s['target']}` ({s['task_type']}) · ids: {s['id_columns']}\n\n"
                             f"fingerprint `{self.fingerprint[:16]}`"))
        missing = train.isna().mean()
        card.append(Table(
            [[c["name"], c["dtype"], f"{100 * float(missing.get(c['name'], 0.0)):.1f}%"] for c in s["columns"][:200]],
            headers=["column", "dtype", "missing (train)"],
        ))
        head = train.head(10)
        card.append(Markdown("## Preview (train)"))
        card.append(Table([[str(v)[:40] for v in row] for row in head.itertuples(index=False)],
                          headers=[str(c) for c in head.columns]))
        return card

    @step
    def end(self):
        print(f"loom-dataset: {current.flow_name}/{current.run_id} {self.fingerprint}")


if __name__ == "__main__":
    IngestDataset()
