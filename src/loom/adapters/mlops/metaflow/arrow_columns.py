"""Arrow columns as bytes and numpy arrays, read from their buffers, and the tables' fingerprint.

pyarrow's `to_numpy`, `pa.array(numpy)` and `fill_null(python value)` go through its pandas
layer, which imports pandas (0.2 s); the ingest step reads the buffers itself instead, so it
imports no pandas for an ordinary table. The fingerprint's definition is in `fingerprint`.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def numpy(col: "pa.ChunkedArray | pa.Array", fill: Any = 0) -> Any:
    """A fixed-width column as one numpy array read from its buffers, nulls as `fill` (pyarrow's
    to_numpy and fill_null go through its pandas layer, which imports pandas). Booleans: one byte
    each; timestamps, dates, times: their storage integers."""
    import numpy as np
    import pyarrow as pa

    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t, n, start = arr.type, len(arr), arr.offset
    if not n:
        return np.zeros(0, dtype=bool if pa.types.is_boolean(t) else "<f8" if pa.types.is_floating(t) else "<i8")
    if pa.types.is_boolean(t):
        values = _bits(arr.buffers()[1], start, n)
    else:
        kind = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
        values = np.frombuffer(arr.buffers()[1], dtype=f"<{kind}{t.bit_width // 8}")[start:start + n]
    if arr.null_count:
        values = np.where(_valid(arr), values, np.asarray(fill).astype(values.dtype))
    return values


def _bits(buf: Any, start: int, n: int) -> Any:
    import numpy as np

    return np.unpackbits(np.frombuffer(buf, dtype=np.uint8), bitorder="little")[start:start + n].view(bool)


def _valid(arr: "pa.Array") -> Any:
    """The validity of an Arrow array as a numpy bool array."""
    import numpy as np

    buf = arr.buffers()[0]
    return np.ones(len(arr), dtype=bool) if buf is None else _bits(buf, arr.offset, len(arr))


def mask(rows: Any) -> "pa.Array":
    """A numpy bool array as an Arrow one, from its packed bits (pa.array would import pandas)."""
    import numpy as np
    import pyarrow as pa

    bits = pa.py_buffer(np.packbits(rows, bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.bool_(), len(rows), [None, bits])


def fingerprint(tables: "dict[str, pa.Table | None]", dtypes: dict[str, dict[str, str]]) -> str:
    """sha256 over the tables' content; `dtypes[name]` gives each table's pandas dtype strings.

    Per table in name order (absent ones skipped): `name\\0rows\\0`, then per column
    `column\\0dtype\\0nulls\\0`, the validity bitmap when it has nulls (numpy.packbits of is_valid),
    and the values: fixed-width ones as the little-endian bytes of their storage (floats by their
    IEEE bits, timestamps, dates and times as integers; nulls as 0), booleans one byte each (nulls
    False), strings as int64 lengths then their UTF-8 bytes (nulls empty). Content only: not the
    chunking, not the file format (a CSV and the Parquet file pandas writes from it agree).
    """
    h = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        if table is None:
            continue
        h.update(f"{name}\0{table.num_rows}\0".encode())
        for col_name, col in zip(table.column_names, table.columns):
            h.update(f"{col_name}\0{dtypes[name][col_name]}\0{col.null_count}\0".encode())
            for part in _column_bytes(col):
                h.update(part)
    return h.hexdigest()


def _column_bytes(col: "pa.ChunkedArray") -> list[Any]:
    import numpy as np
    import pyarrow as pa

    arr = col.combine_chunks()
    out: list[Any] = []
    valid = _valid(arr)
    if arr.null_count:
        out.append(np.packbits(valid).tobytes())
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        wide = np.int64 if pa.types.is_large_string(t) else np.int32
        if not len(arr):
            return out
        offsets = np.frombuffer(arr.buffers()[1], dtype=wide)[arr.offset:arr.offset + len(arr) + 1]
        lengths = np.diff(offsets).astype("<i8")
        blob = arr.buffers()[2]
        data: Any = np.frombuffer(blob, dtype=np.uint8)[int(offsets[0]):int(offsets[-1])] if blob else np.zeros(0, np.uint8)
        if arr.null_count and lengths[~valid].any():  # null slots holding bytes (Arrow allows it): drop them
            data = data[np.repeat(valid, lengths)]
        lengths[~valid] = 0
        out.extend((lengths.tobytes(), np.ascontiguousarray(data).data))
    elif not pa.types.is_null(t):  # fixed width: booleans one byte each, the rest their storage bytes
        values = numpy(arr)
        out.append(np.ascontiguousarray(values.view(np.uint8) if values.dtype == bool else values).data)
    return out
