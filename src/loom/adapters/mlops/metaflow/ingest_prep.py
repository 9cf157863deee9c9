"""The work of IngestDataset's start step: tables in, the data object's artifacts out (`prepare`).

Arrow first (`tabular_arrow`: no pandas unless a few date strings need parsing); a table only
pandas reads faithfully (see `tabular_arrow.read`) sends the whole input down the pandas path
(`prepare_frames`, the step as it was). Both give the same artifacts: train / test /
sample_submission / test_labels as ParquetFrames (or pickled frames Parquet cannot hold), the
schema, the split, the fingerprint, and the facts the dataset card shows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loom.adapters.mlops.metaflow import arrow_columns as ac
from loom.adapters.mlops.metaflow import tabular as tb


@dataclass
class Prepared:
    """What the step stores: `stored` = (train, test, sample_submission, test_labels) artifacts."""

    stored: tuple[Any, Any, Any, Any]
    schema: dict[str, Any]
    split: dict[str, Any]
    fingerprint: str
    missing: dict[str, float] = field(default_factory=dict)  # train column -> missing share
    notes: list[str] = field(default_factory=list)  # what reading left out (a spreadsheet's blank rows)
    head: list[list[str]] = field(default_factory=list)  # train's first rows, as the card's cells
    path: str = "arrow"  # or "pandas"


def prepare(files: dict[str, Path], *, target: str | None, seed: int, test_fraction: float,
            time_column: str | None, say: Callable[[str], None] = lambda _m: None,
            keep: Callable[[Any], Any] | None = None) -> Prepared:
    """Read, split, describe, fingerprint and encode the tables of `tb.find_tables`. `keep` is given
    each encoded table as soon as it is ready, on the encoding thread (the step stores it there,
    side by side with the other tables' encoding: `tabular.keep_raw`)."""
    from loom.adapters.mlops.metaflow import tabular_arrow as ta

    tables, notes = {}, []
    for key, path in files.items():
        say(f"reading {path.name} ({path.stat().st_size / 1e6:,.1f} MB)")
        blank: list[int] = []
        table = ta.read(path, blank)
        padded = ta.padded_columns(path, table) if table is not None else ()
        if padded:  # codes written with leading zeros: read again, those columns as text
            say(f"{path.name}: {', '.join(padded[:4])} written with leading zeros: kept as text")
            blank.clear()
            table = ta.read(path, blank, text=padded)
        if table is None:  # only pandas reads this one faithfully: all tables go that way
            say(f"{path.name} needs pandas' own reading (its columns or stored pandas metadata): reading with pandas")
            return prepare_frames(files, target=target, seed=seed, test_fraction=test_fraction,
                                  time_column=time_column, say=say, keep=keep)
        _blank_said(path, sum(blank), say, notes)
        from loom.adapters.mlops.metaflow import prefetch

        early = " (parsed while the flow started)" if str(path) in prefetch.TAKEN else ""
        say(f"read {path.name}: {table.num_rows:,} rows x {table.num_columns} cols{early}")
        tables[key] = table
    split: dict[str, Any] = {"kind": "given"}  # a data dir keeps its own train/test
    labels = None
    if "single" in tables:
        whole = tables.pop("single")
        dtypes = ta.pandas_dtypes(whole)
        name = tb.infer_target_names(whole.column_names, None, None, target)
        ids_whole = ta.id_columns(whole, name)
        time_col = ta.time_column(whole, name, ids_whole, time_column)
        split = _split_said(say, time_col, test_fraction, seed)
        train, test, labels = ta.split(whole, name, test_fraction, seed, time_col)
        sample = None
        all_dtypes = {"train": dtypes, "test": dtypes, "test_labels": dtypes}
        ids = _with_named_id(ta.id_columns(train, name, unique=set(ids_whole)),  # unique in the whole: unique in a part
                             [train], name, lambda t, c: ta.is_unique(t.column(c)))
    else:
        train, test, sample = tables["train"], tables.get("test"), tables.get("sample_submission")
        _given_column(time_column, train.column_names, "train.csv")  # a dir keeps its split: only a typo is wrong
        name = tb.infer_target_names(train.column_names, None if test is None else test.column_names,
                                     None if sample is None else sample.column_names, target)
        dtypes = ta.pandas_dtypes(train)
        all_dtypes = {"train": dtypes, "test": ta.pandas_dtypes(test) if test is not None else {},
                      "sample_submission": ta.pandas_dtypes(sample) if sample is not None else {}}
        ids = _with_named_id(ta.id_columns(train, name), [train, test, sample], name,
                             lambda t, c: ta.is_unique(t.column(c)))
    kind = ta.task_type(train.column(name) if name else None)
    say("fingerprinting and encoding the tables")
    schema = {"columns": [{"name": c, "dtype": dtypes[c]} for c in train.column_names],
              "rows": {"train": train.num_rows, "test": test.num_rows if test is not None else 0},
              "target": name, "id_columns": ids, "task_type": kind}
    named = {"train": train, "test": test, "sample_submission": sample, "test_labels": labels}
    # Parquet encoding and hashing release the GIL: side by side on two threads
    with ThreadPoolExecutor(max_workers=2) as pool:
        encoded = [pool.submit(_kept, keep, ta.for_storage, t, ids) for t in (train, test, sample, labels)]
        fingerprint = pool.submit(ac.fingerprint, named, all_dtypes)
        missing, head = ta.card_facts(train)
        stored = tuple(f.result() for f in encoded)
    return Prepared(stored=stored, schema=schema, split=split, fingerprint=fingerprint.result(),  # type: ignore[arg-type]
                    missing=missing, head=head, notes=notes)


def _given_column(time_column: str | None, columns: list[str], where: str) -> None:
    """A --time-column that names no column of a data dir's train table is one LoomInputError line (a
    single file's is checked as it is split: `tabular_arrow.time_column`); 'none' is always fine."""
    if time_column and time_column.strip().lower() != "none" and time_column not in columns:
        raise tb.LoomInputError(f"--time-column '{time_column}' is not a column of {where}; "
                                f"columns: {', '.join(columns[:12])}")


def _kept(keep: Callable[[Any], Any] | None, encode: Callable[..., Any], *args: Any) -> Any:
    value = encode(*args)
    if keep is not None and value is not None:
        keep(value)
    return value


def _with_named_id(ids: list[str], tables: list[Any], target: str | None, unique: Callable[[Any, str], bool]) -> list[str]:
    """`ids` and, first, the column a run would deliver its submission by (`id_column.infer_id`: a
    sample_submission.csv's key, CustomerID, PassengerId), when it is unique in each table holding it.
    `tables`: train (or the single file), then test and sample_submission (or None)."""
    from loom.application.id_column import infer_id

    names = [None if t is None else [str(c) for c in t.columns] if hasattr(t, "iloc") else t.column_names
             for t in [*tables, None, None][:3]]
    named = infer_id(names[0], names[1], names[2], target or "") if names[0] else None
    if named is None and names[0] and names[1] and names[0][0] == names[1][0] != target:
        named = _key_by_values(names[0][0], tables[0], tables[1])
    if named is None or named in ids:
        return ids
    holding = [t for t, n in zip(tables[:2], names[:2]) if t is not None and n is not None and named in n]
    return [named, *ids] if holding and all(unique(t, named) for t in holding) else ids


def _key_by_values(name: str, train: Any, test: Any) -> str | None:
    """A first column that names rows by its values (`id_column.key_by_values`: unique short codes
    or whole numbers, none of test's seen in train), as a run finds it."""
    import pyarrow as pa

    from loom.application.id_column import key_by_values

    def text(t: Any) -> "pa.ChunkedArray":
        column = pa.chunked_array([pa.array(t[name].astype(str))]) if hasattr(t, "iloc") else t.column(name)
        return column.cast(pa.string()) if not pa.types.is_string(column.type) else column

    try:
        return name if key_by_values(name, text(train), text(test)) else None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _blank_said(path: Path, blank: int, say: Callable[[str], None], notes: list[str]) -> None:
    if blank:
        note = f"{path.name}: {blank:,} blank row{'s' if blank > 1 else ''} (every field empty) left out"
        say(note)
        notes.append(note)


def _split_said(say: Callable[[str], None], time_col: str | None, test_fraction: float, seed: int) -> dict[str, Any]:
    """Say how one file is split into train/test; the `split` artifact saying the same."""
    say("splitting train/test (" + (f"by time ('{time_col}': the latest rows are test)" if time_col
                                    else f"seed {seed}") + ")")
    return {"kind": "time" if time_col else "random", "time_column": time_col,
            "test_fraction": test_fraction, "seed": seed}


def prepare_source(source: Path, plain: Path, *, target: str | None, seed: int, test_fraction: float,
                   time_column: str | None, say: Callable[[str], None] = lambda _m: None,
                   keep: Callable[[Any], Any] | None = None) -> tuple[Prepared, list[str]]:
    """`prepare` on the tables of `source`, each as a UTF-8 CSV reader takes it: a table written
    otherwise (';'-separated, decimal commas, cp1252 / Latin-1: `loom.application.dialect`) is read
    through its plain copy in `plain`. The encoding is judged from each file's first bytes; a later
    byte that is not UTF-8 makes it read again, whole. (the prepared step, one note per table copied)."""
    found = tb.find_tables(source)
    for whole in (False, True):
        files, notes = _plain_files(found, plain, whole=whole, say=say)
        try:
            prepared = prepare(files, target=target, seed=seed, test_fraction=test_fraction, time_column=time_column,
                               say=say, keep=keep)
            return prepared, notes + prepared.notes
        except tb.LoomInputError as exc:
            if whole or "not UTF-8" not in str(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _plain_files(files: dict[str, Path], plain: Path, *, whole: bool,
                 say: Callable[[str], None]) -> tuple[dict[str, Path], list[str]]:
    from loom.application import dialect

    out, notes = {}, []
    for key, path in files.items():
        try:
            out[key], note = dialect.plain_text(path, plain, whole=whole)
        except dialect.DialectError as exc:
            raise tb.LoomInputError(f"cannot read {exc}") from None  # "train.csv: why"
        if note is not None:
            say(note)
            notes.append(note)
    return out, notes


def prepare_frames(files: dict[str, Path], *, target: str | None, seed: int, test_fraction: float,
                   time_column: str | None, say: Callable[[str], None] = lambda _m: None,
                   keep: Callable[[Any], Any] | None = None) -> Prepared:
    """The pandas path (DataFrames throughout; the fingerprint is `tabular.fingerprint`'s)."""
    tables, notes = {}, []
    for key, path in files.items():
        say(f"reading {path.name} ({path.stat().st_size / 1e6:,.1f} MB)")
        frame = tb.read_table(path)
        blank = frame.isna().all(axis=1) if frame.shape[1] > 1 else None
        if blank is not None and blank.any():
            frame = frame[~blank].reset_index(drop=True)
            _blank_said(path, int(blank.sum()), say, notes)
        tables[key] = frame
        say(f"read {path.name}: {len(tables[key]):,} rows x {tables[key].shape[1]} cols")
    labels = None
    split: dict[str, Any] = {"kind": "given"}
    if "single" in tables:
        whole = tables.pop("single")
        twice = sorted({str(c) for c in whole.columns[whole.columns.duplicated()]})
        if twice:  # the split's date detection cannot tell them apart (it failed with a traceback)
            raise tb.LoomInputError(f"{files['single'].name} names a column twice ({', '.join(twice[:5])}); "
                                    "give each column its own name")
        name = tb.infer_target(whole, None, None, target)
        time_col = tb.time_column(whole, name, tb.id_columns(whole, name), time_column)
        split = _split_said(say, time_col, test_fraction, seed)
        train, test, labels = tb.split(whole, name, test_fraction, seed, time_col)
        sample = None
    else:
        train, test, sample = tables["train"], tables.get("test"), tables.get("sample_submission")
        _given_column(time_column, [str(c) for c in train.columns], "train.csv")
        name = tb.infer_target(train, test, sample, target)
    ids = _with_named_id(tb.id_columns(train, name), [train, test, sample] if "single" not in files else [train],
                         name, lambda t, c: bool(t[c].is_unique))
    kind = tb.task_type(train[name] if name else None)
    say("fingerprinting and encoding the tables")
    schema = tb.schema_of(train, test, name, ids, kind)
    with ThreadPoolExecutor(max_workers=2) as pool:
        fingerprint = pool.submit(tb.fingerprint, {"train": train, "test": test, "sample_submission": sample})
        stored = tuple(pool.map(lambda t: _kept(keep, tb.for_storage, t), (train, test, sample, labels)))
    missing = {str(c): float(v) for c, v in train.isna().mean().items()}
    head = [[str(v)[:40] for v in row] for row in train.head(10).itertuples(index=False)]
    return Prepared(stored=stored, schema=schema, split=split, fingerprint=fingerprint.result(),  # type: ignore[arg-type]
                    missing=missing, head=head, path="pandas", notes=notes)
