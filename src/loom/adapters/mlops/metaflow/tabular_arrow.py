"""Arrow-first ingestion: read, split, describe, fingerprint and encode tables without pandas.

IngestDataset's start step uses this (through `ingest_prep.prepare`) for ordinary tables: CSV/TSV read with
`pyarrow.csv` (multi-threaded) using exactly the options `pandas.read_csv(engine="pyarrow")`
passes (pandas' default NA strings, blank strings null, all-null columns as float64), Parquet with
`pyarrow.parquet`. The table is then given the types pandas would give it (an int column with
blanks becomes float64), so `table.to_pandas()` is the frame `tabular.read_table` reads, and every
stored part unpickles to the frame the pandas path stores. The split uses the same row indices
(`splits.test_rows`), the target / id / task-type / time-column rules are `tabular`'s, computed on
Arrow columns. pandas is imported only to parse a few date strings (a candidate date column of
strings in the first 2,000 rows, or a `--time-column` that is not a timestamp).

`read` returns None for a table only pandas reads faithfully (duplicate column names, a Parquet
file with a stored pandas index, nullable or categorical dtypes, nested or exotic types, column
attributes): the step then takes `ingest_prep.prepare_frames`, the pandas path, for the whole input.

The fingerprint is `arrow_columns.fingerprint` (its docstring defines it): content only, so a CSV
and the Parquet file pandas writes from it have the same one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.mlops.metaflow import arrow_columns as ac
from loom.adapters.mlops.metaflow import tabular as tb
from loom.adapters.mlops.metaflow.tabular import LoomInputError

if TYPE_CHECKING:
    import pyarrow as pa

#: pandas' default NA strings (pandas._libs.parsers.STR_NA_VALUES; a test keeps them equal).
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def read(path: Path, blank: list[int] | None = None, text: "tuple[str, ...]" = ()) -> "pa.Table | None":
    """The table with the types pandas would give it; None when only pandas reads it faithfully.
    Any parse problem is one LoomInputError line (the words `tabular.read_table` uses). Rows whose
    every field is empty (a spreadsheet's blank rows) are left out before the types are settled (an
    int column stays int), and counted into `blank`. `text`: columns read as text whatever they hold
    (`padded_columns`: "002400" stays "002400")."""
    import pyarrow as pa

    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            with pq.ParquetFile(path) as fh:  # pq.read_table goes through pyarrow.dataset, which imports pandas
                table = fh.read()
        else:
            import pyarrow.csv as pcsv

            from loom.adapters.mlops.metaflow import prefetch

            _import_meanwhile()
            table = prefetch.take(path, text)  # parsed by the caller while Metaflow started (prefetch.py)
            if table is None:
                table = pcsv.read_csv(path, **csv_options(path, text))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise LoomInputError(f"cannot read {path.name}: {first}") from None
    if table.num_columns == 0 or table.num_rows == 0:
        raise LoomInputError(f"{path.name} has no rows or no columns")
    names = table.column_names
    if any(c.startswith("\ufffd") or "\x00" in c for c in names):
        raise LoomInputError(f"cannot read {path.name}: not a text CSV")
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary and path.suffix.lower() not in (".parquet", ".pq"):  # pandas got bytes here, then failed later
        raise LoomInputError(f"cannot read {path.name}: not UTF-8 text (column '{binary[0]}')")
    if len(set(names)) != len(names) or not all(_supported(t) for t in table.schema.types):
        return None
    if path.suffix.lower() in (".parquet", ".pq"):
        if not _plain_pandas_metadata(table):
            return None
        table = table.replace_schema_metadata(None)
    table, left_out = without_blank_rows(table)
    if blank is not None:
        blank.append(left_out)
    fields = []
    for field, col in zip(table.schema, table.columns):  # what to_pandas makes of them
        if pa.types.is_null(field.type) or (pa.types.is_integer(field.type) and col.null_count):
            field = field.with_type(pa.float64())
        fields.append(field)
    return table.cast(pa.schema(fields), safe=False)  # safe=False: int -> float rounds like numpy


def csv_options(path: Path, text: "tuple[str, ...]") -> dict[str, Any]:
    """pyarrow.csv.read_csv's options for `path` as pandas.read_csv(engine="pyarrow") reads it;
    `text`: columns read as strings whatever they hold."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    return {"read_options": pcsv.ReadOptions(skip_rows=0, encoding="utf-8"),
            "parse_options": pcsv.ParseOptions(delimiter="\t" if Path(path).suffix.lower() == ".tsv" else ",",
                                               quote_char='"', ignore_empty_lines=True),
            "convert_options": pcsv.ConvertOptions(null_values=list(NA_VALUES), strings_can_be_null=True,
                                                   column_types={c: pa.string() for c in text})}


def _import_meanwhile() -> None:
    """Import what comes after the read on a thread while pyarrow's CSV reader, which releases
    the GIL, parses (pyarrow.compute alone is 50 ms of Python in a fresh step process)."""
    import sys
    import threading

    if "pyarrow.parquet" not in sys.modules:
        threading.Thread(target=lambda: [__import__(m) for m in ("numpy", "pyarrow.compute", "pyarrow.parquet")],
                         name="loom-imports", daemon=True).start()


def _supported(t: "pa.DataType") -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(t) or pa.types.is_timestamp(t) or pa.types.is_time(t)
            or t in (pa.float32(), pa.float64(), pa.bool_(), pa.string(), pa.large_string(), pa.date32(), pa.null()))


def _plain_pandas_metadata(table: "pa.Table") -> bool:
    """A Parquet file's stored pandas metadata changes nothing to_pandas would not do alone."""
    import pyarrow as pa

    raw = table.schema.metadata or {}
    if b"PANDAS_ATTRS" in raw:
        return False
    if any(pa.types.is_null(t) or (pa.types.is_timestamp(t) and t.tz) for t in table.schema.types):
        return False  # pandas reads a null column as objects; zones: leave them to pandas
    meta = table.schema.pandas_metadata
    if meta is None:
        return True
    for index in meta.get("index_columns") or []:
        if not (isinstance(index, dict) and index.get("kind") == "range" and index.get("name") is None
                and index.get("start") == 0 and index.get("step") == 1 and index.get("stop") == table.num_rows):
            return False
    if any(c.get("name") is not None or c.get("pandas_type") not in ("unicode", "string")
           for c in meta.get("column_indexes") or []):
        return False
    stored = {c.get("field_name"): c.get("numpy_type") for c in meta.get("columns") or []}
    dtypes = pandas_dtypes(table)
    return set(stored) == set(dtypes) and all(stored[name] == dtypes[name] for name in dtypes)


def pandas_dtypes(table: "pa.Table") -> dict[str, str]:
    """{column: the dtype string of its pandas column}, as `DataFrame.dtypes` prints it."""
    import pyarrow as pa

    out = {}
    for field, col in zip(table.schema, table.columns):
        t = field.type
        if pa.types.is_integer(t):
            out[field.name] = "float64" if col.null_count else str(t)
        elif pa.types.is_floating(t):
            out[field.name] = "float32" if t == pa.float32() else "float64"
        elif pa.types.is_boolean(t):
            out[field.name] = "object" if col.null_count else "bool"
        elif pa.types.is_timestamp(t):
            out[field.name] = f"datetime64[{t.unit}, {t.tz}]" if t.tz else f"datetime64[{t.unit}]"
        elif pa.types.is_null(t):
            out[field.name] = "float64"
        else:  # strings, dates, times of day
            out[field.name] = "object"
    return out


# --------------------------------------------------------------------------------------------
# the rules of `tabular`, on Arrow columns
# --------------------------------------------------------------------------------------------
def padded_columns(path: Path, table: "pa.Table") -> tuple[str, ...]:
    """Integer columns of a CSV whose first rows write a value with a leading zero ("002400", a class
    "04", a zip code "02134"): codes, which pandas would turn into 2400, 4 and 2134. One look at the
    first 64 KB; a submission keyed or labelled by them must spell them as the user does."""
    import csv
    import io
    import re

    import pyarrow as pa

    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        return ()
    ints = {f.name for f in table.schema if pa.types.is_integer(f.type)}
    if not ints:
        return ()
    with Path(path).open("rb") as handle:
        head = handle.read(64 << 10).decode("utf-8-sig", errors="ignore")
    rows = list(csv.reader(io.StringIO(head.rsplit("\n", 1)[0] if "\n" in head else head),
                           delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    if len(rows) < 2:
        return ()
    padded = re.compile(r"^\s*[+-]?0\d")
    at = {name: i for i, name in enumerate(rows[0]) if name.strip() in ints}
    return tuple(name.strip() for name, i in at.items()
                 if any(len(r) > i and padded.match(r[i]) for r in rows[1:]))


def without_blank_rows(table: "pa.Table") -> tuple["pa.Table", int]:
    """`table` without the rows whose every field is missing (",,,,": a spreadsheet's blank row,
    which pandas reads as a row of NaN), with two columns or more; (table, rows left out)."""
    import pyarrow.compute as pc

    if table.num_columns < 2 or not table.num_rows or not table.column(0).null_count:
        return table, 0
    blank = pc.is_null(table.column(0), nan_is_null=True)
    for column in table.columns[1:]:
        if not column.null_count:  # a blank field reads as null
            return table, 0
        blank = pc.and_(blank, pc.is_null(column, nan_is_null=True))
    count = pc.sum(blank).as_py() or 0
    return (table.filter(pc.invert(blank)), count) if count else (table, 0)


def is_unique(col: "pa.ChunkedArray") -> bool:
    """pandas' Series.is_unique: nunique(dropna=False) == len (all NaN one value, 0.0 == -0.0)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(col.type) and not col.null_count:
        a = ac.numpy(col)
        if len(a) < 2 or bool((a[1:] > a[:-1]).all()):  # a row counter: no hashing needed
            return True
    if pa.types.is_floating(col.type):
        a = ac.numpy(col, float("nan"))  # nulls -> NaN, which np.unique counts once, like pandas
        return len(np.unique(a)) == len(a)
    return pc.count_distinct(col, mode="all").as_py() == len(col)


def id_columns(table: "pa.Table", target: str | None, unique: set[str] | None = None) -> list[str]:
    """`tabular.id_columns` on a table; `unique` names columns known unique already (a superset's)."""
    ids = []
    for name in table.column_names:
        low = name.lower()
        if name == target or not (low == "id" or low.endswith("_id") or low.endswith("id") and len(low) <= 6):
            continue
        if (unique is not None and name in unique) or is_unique(table.column(name)):
            ids.append(name)
    return ids


def task_type(col: "pa.ChunkedArray | None") -> str | None:
    """`tabular.task_type` on an Arrow column (of the types `read` gives)."""
    if col is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_floating(t):
        col = col.filter(pc.invert(pc.is_null(col, nan_is_null=True)))
    else:
        col = col.drop_null()
    if len(col) == 0:
        return None
    if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return "classification"  # bool, strings, dates, times (pandas: bool or not numeric)
    if pa.types.is_floating(t):
        if not pc.all(pc.equal(col, pc.round(col))).as_py():
            return "regression"
        values = ac.numpy(col).astype("<f8") + 0.0  # -0.0 + 0.0 is 0.0: pandas counts them as one value
        col = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
    return "classification" if pc.count_distinct(col).as_py() <= max(2, min(20, len(col) // 20)) else "regression"


def time_column(table: "pa.Table", target: str | None, ids: list[str], explicit: str | None) -> str | None:
    """`tabular.time_column` on a table: timestamps are found from their type; a string (or date)
    column is parsed by pandas (`frames.time_columns` on at most 200 values) only when its name
    hints at time or its first values read like ISO dates."""
    import re

    import pyarrow as pa

    from loom.application.evaluation import frames

    if explicit:
        if explicit.strip().lower() == "none":
            return None
        if explicit not in table.column_names:
            raise LoomInputError(f"--time-column '{explicit}' is not a column; "
                                 f"columns: {', '.join(table.column_names[:12])}")
        return explicit
    dtypes = pandas_dtypes(table)
    head = table.slice(0, 2000)
    for name in table.column_names:
        if name == target or name in ids:
            continue
        if pa.types.is_timestamp(table.schema.field(name).type):
            return name
        if dtypes[name] != "object":
            continue
        values = [str(v) for v in head.column(name).drop_null().slice(0, 200).to_pylist()]
        named = any(h in name.lower() for h in frames.TIME_HINTS)
        iso = sum(1 for v in values if re.match(frames.ISO_DATE, v)) / len(values) if values else 0.0
        if values and (named or iso > 0.95) and frames.time_columns(head.select([name]).to_pandas()):
            return name
    return None


def _times(col: "pa.ChunkedArray", name: str) -> Any:
    """The split's datetime64[ns] times of a column (`tabular.split_times`'s rule)."""
    import pyarrow as pa

    if pa.types.is_timestamp(col.type):  # zones: the UTC instants, as tz_convert(None)
        nat = -(2**63)  # NaT's int64
        times = ac.numpy(col.cast(pa.timestamp(col.type.unit)).cast(pa.timestamp("ns")), nat).view("datetime64[ns]")
        share = 1 - col.null_count / max(1, len(col))
        if share >= 0.5:
            return times
        raise LoomInputError(f"--time-column '{name}': only {share:.0%} of its values read as dates")
    return tb.split_times(col.to_pandas(), name)


def split(table: "pa.Table", target: str | None, fraction: float, seed: int,
          time_col: str | None = None) -> "tuple[pa.Table, pa.Table, pa.Table | None]":
    """`tabular.split` on a table: (train, test without the target, test labels), same rows."""
    import numpy as np
    import pyarrow as pa

    from loom.application.evaluation import splits

    n = table.num_rows
    if n < 5:
        raise LoomInputError(f"only {n} rows: too few to split into train and test")
    times = _times(table.column(time_col), time_col) if time_col else None
    mask = np.zeros(n, dtype=bool)
    mask[splits.test_rows(n, fraction, seed, times)] = True
    with ThreadPoolExecutor(max_workers=2) as pool:  # Arrow's filter releases the GIL: both parts at once
        test, train = pool.map(lambda keep: table.filter(ac.mask(keep)), (mask, ~mask))
    labels = None
    if target:
        labels = test.select([target])
        test = test.drop_columns([target])
    return train, test, labels


def for_storage(table: "pa.Table | None", unique: "list[str] | tuple[str, ...]" = ()) -> Any:
    """A table artifact: its Parquet (zstd) bytes as a ParquetFrame (reads back as `to_pandas()`).

    Dictionaries where values repeat (strings, ints, flags; for floats and the `unique` columns they
    are built and dropped), unique integers delta-encoded, no column statistics (the blob is read
    whole): 25% less encoding time than the defaults for the same content, and fewer bytes.
    """
    if table is None:
        return None
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    coded = [f.name for f in table.schema if not pa.types.is_floating(f.type) and f.name not in unique]
    delta = {f.name: "DELTA_BINARY_PACKED" for f in table.schema
             if f.name in unique and pa.types.is_integer(f.type)}
    pq.write_table(table, buf, compression="zstd", use_dictionary=coded, column_encoding=delta or None,
                   write_statistics=False)
    return tb.ParquetFrame(buf.getvalue())


def card_facts(table: "pa.Table") -> tuple[dict[str, float], list[list[str]]]:
    """({column: missing share}, the first 10 rows as the card's cells) of a table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = max(1, table.num_rows)
    missing = {name: (pc.sum(pc.is_null(col, nan_is_null=True)).as_py() or 0) / rows
               for name, col in zip(table.column_names, table.columns)}
    head = table.slice(0, 10)
    cells = []
    for col in head.columns:
        t = col.type
        if pa.types.is_timestamp(t):  # as text like pandas' (Python datetimes with a zone import pandas)
            whole = t.unit == "s" or not (ac.numpy(col) % {"ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]).any()
            text = pc.strftime(col.cast(pa.timestamp("s", t.tz), safe=False) if whole else col,
                               format="%Y-%m-%d %H:%M:%S" + ("%z" if t.tz else "")).to_pylist()
            cells.append(["NaT" if v is None else (f"{v[:-2]}:{v[-2:]}" if t.tz else v)[:40] for v in text])
            continue
        blank = "nan" if pa.types.is_floating(t) else "None"
        cells.append([blank if v is None else str(v)[:40] for v in col.to_pylist()])
    return missing, [list(r) for r in zip(*cells)]
