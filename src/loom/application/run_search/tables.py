"""Columnar CSV I/O for task preparation and grading (pyarrow, imported in functions).

Every cell is read as text, so what candidates see is byte-for-byte the user's values (no
"007" -> 7, no "3" -> "3.0"); an empty cell is "". Ids and labels are compared in canonical
form ("1.0" == "1"), computed column-wise.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: What pandas' read_csv reads as missing (its default na_values): a label written so is no label.
MISSING = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
           "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
BLOCK = 256 << 10  # bytes per streamed batch: pyarrow reads ~35 blocks ahead, so this bounds the memory
_POOL_SET = False


def _release_memory_promptly() -> None:
    """Use pyarrow's jemalloc pool with no decay when the build has it: the default pool keeps
    freed pages, and the Loom process lives as long as the search (once per process)."""
    global _POOL_SET
    if _POOL_SET:
        return
    _POOL_SET = True
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, AttributeError):
        return
    pa.set_memory_pool(pool)


class TableError(ValueError):
    """A CSV cannot be read (callers turn it into their own one-line error)."""


def header(path: Path) -> list[str]:
    """The column names of a CSV (its first line), stripped."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            first = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(str(exc)) from None
    return [h.strip() for h in first]


def _options(path: Path, columns: list[str] | None) -> tuple["pa.csv.ReadOptions", "pa.csv.ConvertOptions"]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    _release_memory_promptly()
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        raw = next(csv.reader(handle), [])
    if not raw:
        raise TableError("no header row")
    if len({r.strip() for r in raw}) != len(raw):
        raise TableError("duplicate column names in the header")
    wanted = None if columns is None else [r for r in raw if r.strip() in set(columns)]
    read = pacsv.ReadOptions(block_size=BLOCK, skip_rows=1, column_names=[r.strip() for r in raw], use_threads=False)
    convert = pacsv.ConvertOptions(
        column_types={r.strip(): pa.string() for r in raw}, strings_can_be_null=False,
        quoted_strings_can_be_null=False, include_columns=None if wanted is None else [w.strip() for w in wanted],
    )
    return read, convert


def read(path: Path, columns: list[str] | None = None) -> "pa.Table":
    """The whole CSV (or `columns` of it) as text columns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        read_opts, convert = _options(path, columns)
        return pacsv.read_csv(path, read_options=read_opts, convert_options=convert)
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise TableError(_first_line(exc)) from None


def batches(path: Path, columns: list[str] | None = None) -> Iterator["pa.RecordBatch"]:
    """The CSV streamed as batches of text columns (memory: one batch at a time)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        read_opts, convert = _options(path, columns)
        reader = pacsv.open_csv(path, read_options=read_opts, convert_options=convert)
        for batch in reader:
            yield batch
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise TableError(_first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def has_quotes(path: Path) -> bool:
    """True when the file holds a double quote: only then can a value hold a comma or a newline."""
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if b'"' in chunk:
                return True
    return False


class Writer:
    """Streams batches into one CSV; values are quoted only when they must be (`"a, b"`).

    `check_quotes=False` says no value can need quoting (its source file held no double quote),
    which skips scanning every batch.
    """

    def __init__(self, path: Path, schema: "pa.Schema", *, check_quotes: bool = True) -> None:
        import io

        self.path, self.schema, self.rows, self.check_quotes = Path(path), schema, 0, check_quotes
        self._handle = self.path.open("wb")
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(schema.names)
        self._handle.write(line.getvalue().encode("utf-8"))

    def write(self, data: "pa.Table | pa.RecordBatch") -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if data.num_rows == 0:
            return
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        if self.check_quotes and _needs_quotes(table):  # pyarrow would quote every text value: quote minimally
            text = table.to_pandas(types_mapper=None).to_csv(index=False, header=False, lineterminator="\n")
            self._handle.write(text.encode("utf-8"))
        else:
            pacsv.write_csv(table, self._handle, write_options=pacsv.WriteOptions(
                include_header=False, quoting_style="none"))
        self.rows += table.num_rows

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _needs_quotes(table: "pa.Table") -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, r'[,"\r\n]')).as_py():
                return True
    return False


def write(path: Path, table: "pa.Table", *, check_quotes: bool = True) -> None:
    with Writer(path, table.schema, check_quotes=check_quotes) as out:
        out.write(table)


# ---- canonical forms ------------------------------------------------------------------------------
def canon_keys(values: "pa.Array | pa.ChunkedArray") -> "pa.Array":
    """Ids as comparable text: integral numbers as ints ("7.0" -> "7"), anything else stripped."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    try:
        numbers = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        return text
    if len(numbers) == 0 or not pc.all(pc.and_(pc.is_finite(numbers), pc.equal(numbers, pc.floor(numbers)))).as_py():
        return text
    return pc.cast(pc.cast(numbers, pa.int64()), pa.string())


def codes(values: "pa.Array | pa.ChunkedArray", classes: list[str]) -> "np.ndarray":
    """Labels -> positions in `classes` (canonical); an unknown label gets its own code >= len(classes)."""
    import numpy as np
    import pyarrow as pa

    from loom.domain.metrics import canon_label

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    index = {c: i for i, c in enumerate(classes)}
    lookup = []
    for raw in encoded.dictionary.to_pylist():
        label = canon_label(raw)
        if label not in index:
            index[label] = len(index)
        lookup.append(index[label])
    table = np.asarray(lookup, dtype=np.int64)
    return table[encoded.indices.to_numpy(zero_copy_only=False)] if len(table) else np.zeros(0, dtype=np.int64)


def floats(values: "pa.Array | pa.ChunkedArray") -> "np.ndarray":
    """Text -> float64; raises TableError when any value is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        out = pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
    except pa.ArrowInvalid as exc:
        raise TableError(_first_line(exc)) from None
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out.to_numpy(zero_copy_only=False)
