"""Table logic of ingestion: read, split, infer target/ids/task, schema, content fingerprint.

Used inside the IngestDataset flow (and by anything else that stores the same artifacts). Only
stdlib + pandas/numpy (imported in functions) + loom.domain/application, so it runs under
LOOM_PYTHON. The split is `loom run`'s own (`evaluation.splits`): the same file splits the same.
Bad input raises `LoomInputError` (its name marks the flow failure as a usage error, exit 2).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from loom.application.evaluation.splits import TARGET_NAMES as _TARGET_NAMES


class LoomInputError(ValueError):
    """Bad input data; a flow failing with this exception is reported as exit 2, one line."""


def find_tables(source: Path) -> dict[str, Path]:
    """{'train': path, ['test': ..., 'sample_submission': ...]} for a data dir, or {'single': file}
    (`dialect.table_files`: CSV, TSV or Parquet, or one of them compressed)."""
    from loom.application import dialect

    source = Path(source)
    if source.is_file():
        if not dialect.is_table_file(source):
            raise LoomInputError(f"{source} is not a CSV or Parquet file")
        return {"single": source}
    if not source.is_dir():
        raise LoomInputError(f"{source} does not exist")
    found = dialect.table_files(source)
    if "train" not in found:
        raise LoomInputError(f"{source} has no train.csv (or train.parquet); a data dir needs at least train.csv")
    return found


def sniff(path: Path, size: int = 64 * 1024) -> None:
    """A cheap look at a table file (its first bytes, stdlib only) before any flow starts.

    Catches what is plainly not a table (binary, no header, not Parquet) as one LoomInputError
    line; whatever only a full read finds, the flow reports the same way (exit 2). Text that is not
    UTF-8 is fine: the step reads it as cp1252 / Latin-1 (`loom.application.dialect`).
    """
    from loom.application.table_files import compression

    path = Path(path)
    if compression(path):
        return  # the step decompresses it first (dialect.plain_text), and says what it found
    try:
        with path.open("rb") as fh:
            head = fh.read(size)
            if path.suffix.lower() in (".parquet", ".pq"):
                fh.seek(max(0, path.stat().st_size - 4))
                if not (head.startswith(b"PAR1") and fh.read(4) == b"PAR1"):
                    raise LoomInputError(f"cannot read {path.name}: not a Parquet file")
                return
    except OSError as exc:
        raise LoomInputError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text (Excel's "Unicode Text"): the step reads it through a UTF-8 copy
    if b"\x00" in head:
        raise LoomInputError(f"cannot read {path.name}: not a text CSV")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a character cut at the end of the sample, or cp1252 / Latin-1 text (latin-1 decodes any byte)
        text = head[:exc.start].decode("utf-8") if exc.start >= len(head) - 4 else head.decode("latin-1")
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if not header.strip().strip(",\t"):
        raise LoomInputError(f"{path.name} has no rows or no columns")


def read_table(path: Path, nrows: int | None = None) -> "pd.DataFrame":
    """Read a CSV/TSV/Parquet file; any parse problem becomes one LoomInputError line."""
    import pandas as pd

    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            return df.head(nrows) if nrows else df
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        if nrows is None:
            try:
                df = pd.read_csv(path, sep=sep, engine="pyarrow")
            except ImportError:
                df = pd.read_csv(path, sep=sep, low_memory=False)
        else:
            df = pd.read_csv(path, sep=sep, nrows=nrows)
    except LoomInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise LoomInputError(f"cannot read {path.name}: {first}") from None
    if df.shape[1] == 0 or (nrows is None and len(df) == 0):
        raise LoomInputError(f"{path.name} has no rows or no columns")
    if any(str(c).startswith("\ufffd") or "\x00" in str(c) for c in df.columns):
        raise LoomInputError(f"cannot read {path.name}: not a text CSV")
    return df


def infer_target(train: "pd.DataFrame", test: "pd.DataFrame | None",
                 sample: "pd.DataFrame | None", explicit: str | None) -> str | None:
    """--target wins; then the sample submission's non-id column; then the one train column not
    in test; then a usual name; a single file falls back to its last column."""
    return infer_target_names([str(c) for c in train.columns],
                              None if test is None else list(test.columns),
                              None if sample is None else [str(c) for c in sample.columns], explicit)


def infer_target_names(cols: list[str], test: list[Any] | None, sample: list[str] | None,
                       explicit: str | None) -> str | None:
    """`infer_target` from the tables' column names alone (train's and the sample's as strings)."""
    if explicit:
        if explicit not in cols:
            raise LoomInputError(f"target column '{explicit}' is not in train; columns: {', '.join(cols[:12])}")
        return explicit
    if sample is not None:
        candidates = [c for c in sample if c in cols and (test is None or c not in test)]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise LoomInputError(f"sample_submission asks for {len(candidates)} target columns "
                                 f"({', '.join(candidates[:5])}); pass --target COL (a run predicts one target)")
    if test is not None:
        extra = [c for c in cols if c not in {str(t) for t in test}]
        if len(extra) == 1:
            return extra[0]
    lowered = {c.lower(): c for c in cols}
    for name in _TARGET_NAMES:
        if name in lowered:
            return lowered[name]
    return cols[-1] if test is None and len(cols) > 1 else None


def id_columns(df: "pd.DataFrame", target: str | None) -> list[str]:
    """Columns that name rows: called id / *_id / ID, unique per row, not the target."""
    ids = []
    for col in df.columns:
        name = str(col)
        if name == target:
            continue
        low = name.lower()
        if (low == "id" or low.endswith("_id") or low.endswith("id") and len(low) <= 6) and df[col].is_unique:
            ids.append(name)
    return ids


def task_type(series: "pd.Series | None") -> str | None:
    """classification | regression from the target column (None without a target)."""
    if series is None:
        return None
    import pandas as pd

    s = series.dropna()
    if s.empty:
        return None
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "classification"
    if pd.api.types.is_integer_dtype(s) or (s == s.round()).all():
        return "classification" if s.nunique() <= max(2, min(20, len(s) // 20)) else "regression"
    return "regression"


def time_column(df: "pd.DataFrame", target: str | None, ids: list[str], explicit: str | None) -> str | None:
    """--time-column (or "none"), else the first column that reads as dates (never the target or an id)."""
    from loom.application.evaluation import frames

    if explicit:
        if explicit.strip().lower() == "none":
            return None
        if explicit not in df.columns:
            raise LoomInputError(f"--time-column '{explicit}' is not a column; columns: {', '.join(map(str, df.columns[:12]))}")
        return explicit
    found = [c for c in frames.time_columns(df.head(2000)) if c != target and c not in ids]
    return found[0] if found else None


def split(df: "pd.DataFrame", target: str | None, fraction: float, seed: int,
          time_col: str | None = None) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame | None"]:
    """Train/test split of one table: (train, test without the target, test labels). With a time
    column the test rows are the latest ones; else a seeded draw."""
    import numpy as np
    import pandas as pd

    from loom.application.evaluation import splits

    if len(df) < 5:
        raise LoomInputError(f"only {len(df)} rows: too few to split into train and test")
    times = split_times(df[time_col], time_col) if time_col else None
    mask = np.zeros(len(df), dtype=bool)
    mask[splits.test_rows(len(df), fraction, seed, times)] = True
    test, train = df.take(mask.nonzero()[0]), df.take((~mask).nonzero()[0])
    for part in (test, train):  # a fresh 0..n-1 index without reset_index's copy of every column
        part.index = pd.RangeIndex(len(part))
    labels = None
    if target:
        labels = test[[target]].copy()
        test = test.drop(columns=[target])
    return train, test, labels


def split_times(series: "pd.Series", name: str) -> Any:
    """A time column's datetime64[ns] times for the split (zones: their UTC instants); refused
    when fewer than half of its values read as dates."""
    from loom.application.evaluation import frames

    parsed = frames.as_datetime(series)
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert(None)
    if parsed.notna().mean() >= 0.5:
        return parsed.to_numpy(dtype="datetime64[ns]")
    raise LoomInputError(f"--time-column '{name}': only {parsed.notna().mean():.0%} of its values read as dates")


def schema_of(train: "pd.DataFrame", test: "pd.DataFrame | None", target: str | None,
              ids: list[str], kind: str | None) -> dict[str, Any]:
    return {
        "columns": [{"name": str(c), "dtype": str(t)} for c, t in train.dtypes.items()],
        "rows": {"train": int(len(train)), "test": int(len(test)) if test is not None else 0},
        "target": target,
        "id_columns": ids,
        "task_type": kind,
    }


def fingerprint(tables: dict[str, "pd.DataFrame | None"]) -> str:
    """sha256 over the content (names, column names, dtypes, row hashes) of the tables: the pandas
    path's fingerprint (IngestDataset's Arrow path uses `arrow_columns.fingerprint`)."""
    import pandas as pd

    h = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        if df is None:
            continue
        h.update(f"{name}\0{len(df)}\0".encode())
        for col, dtype in df.dtypes.items():
            h.update(f"{col}\0{dtype}\0".encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# storing tables as artifacts
# --------------------------------------------------------------------------------------------
class ParquetFrame:
    """A DataFrame artifact stored as Parquet (zstd) bytes; it unpickles to a plain DataFrame.

    Metaflow pickles every artifact and gzips the pickle. A pickled frame is large and slow to
    gzip; its Parquet bytes are about half the size, and `keep_raw` spares them the gzip. `__reduce__`
    names `pandas.read_parquet`, so `Run(...).data.train` is a DataFrame for any reader with
    pandas and pyarrow, Loom installed or not.
    """

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        import io

        return _ReadParquet(), (io.BytesIO(self.blob),)


class _ReadParquet:
    """Stands for `pandas.read_parquet` in a pickle without importing pandas where it is written
    (the ingest step has no other use for pandas): it pickles as
    `getattr(importlib.import_module("pandas"), "read_parquet")`, stdlib names only."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import pandas as pd

        return pd.read_parquet(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return getattr, (_Module("pandas"), "read_parquet")


class _Module:
    """A module in a pickle: unpickles to `importlib.import_module(name)`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        import importlib

        return importlib.import_module, (self.name,)


def for_storage(df: "pd.DataFrame | None") -> Any:
    """What to assign to a table artifact: a ParquetFrame, or the frame itself when Parquet cannot
    hold it exactly (mixed-type object columns, non-string column names): then it is pickled."""
    if df is None:
        return None
    import io

    if not all(isinstance(c, str) for c in df.columns):
        return df
    buf = io.BytesIO()
    try:
        df.to_parquet(buf, engine="pyarrow", compression="zstd")
    except Exception:  # noqa: BLE001 - pyarrow raises several types for what it cannot type
        return df
    return ParquetFrame(buf.getvalue())


def keep_raw(flow: Any, values: "list[Any] | tuple[Any, ...]") -> int:
    """Pre-store the ParquetFrames among `values` in the run's content-addressed store, ungzipped.

    Metaflow gzips every artifact blob (level 3) when the step ends. Parquet is compressed already:
    the gzip gains ~4% and costs ~0.5 s per 27 MB (1M rows). The store is content-addressed and
    skips a blob it holds, so the same pickle saved first with the flow datastore's `save_data`
    (Metaflow's own raw save, as for code packages: `cas_raw` in the blob's metadata) is found at
    step end and not packed again. The artifact is unchanged: the same pickle under the same key,
    read back by any Client as a DataFrame. Returns how many blobs were pre-stored (0 when this
    Metaflow has no such store: then the step stores them as usual).
    """
    import pickle

    store = getattr(getattr(flow, "_datastore", None), "parent_datastore", None)
    blobs = [pickle.dumps(v, protocol=4) for v in values if isinstance(v, ParquetFrame)]
    if store is None or not hasattr(store, "save_data") or not blobs:
        return 0
    store.save_data(blobs, len_hint=len(blobs))
    return len(blobs)
