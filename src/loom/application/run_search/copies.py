"""Rows of train.csv that repeat another row's features exactly, when test.csv's rows do not.

A scrape that ran twice, an export appended to itself, or a table joined once too often gives
train.csv copies of its own rows. Sealed at random, one copy lands in the sealed slices and another
in the candidates' train: a model that memorises rows then scores on the sealed copy what it will
never score on the user's test rows, which are not copies. (Held out: RMSE 0.81 against an
estimate of 0.38 [0.24, 0.50], each row there 1 to 4 times.) When train.csv's rows repeat and
test.csv's rows do not repeat train.csv's rows as often, each set of copies is sealed whole, as a
group split seals a patient's rows together; when test.csv repeats train.csv just as much, copies
are what the user's rows look like and the split stays as it was.

A row's key is a hash of its feature values (the columns train.csv and test.csv share,
without the id and the target), computed in the first pass over train.csv: a column of numbers by
their float bits ("1.50" and "1.5" are one value), other text by its trimmed bytes. The first
64k rows pick the columns that tell rows apart as well as all of them do; the rest hash only
those. 4 bytes a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loom.application.run_search.tables import MISSING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: rows of train.csv, as a share of its labelled rows, that must have a copy before the split changes
MIN_SHARE = 0.01
#: rows hashed at once (the scan's batches are ~256 KB: per-call costs would dominate)
CHUNK_ROWS = 65536
_MARKERS = frozenset(MISSING) | {"?"}  # missing in a column of numbers (the UCI files write "?")
_MIX = 0x9E3779B97F4A7C15
_BASE = 1_000_003


class RowKeys:
    """Row keys over `names`; one instance hashes train.csv's chunks and then test.csv alike.

    The first chunk picks the columns: the most varied first, as few as tell its rows apart exactly
    as all of them do (two or three float columns, usually); later chunks hash only those."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.used: list[str] | None = None  # the columns a key hashes, in order (set by the first chunk)
        self.numeric: dict[str, bool] = {}  # a column's way of hashing, fixed by its first values
        self._powers: Any = None

    def rows(self, table: "pa.Table | pa.RecordBatch") -> "np.ndarray":
        import numpy as np

        if self.used is None:
            return self._first(table)
        out = np.zeros(table.num_rows, np.uint64)
        for name in self.used:
            out = _mixed(out, self._column(name, _array(table.column(name))))
        return _folded(out)

    def _first(self, table: "pa.Table | pa.RecordBatch") -> "np.ndarray":
        import numpy as np

        each = {name: self._column(name, _array(table.column(name))) for name in self.names}
        every = np.zeros(table.num_rows, np.uint64)
        for name in self.names:
            every = _mixed(every, each[name])
        distinct = _distinct(every)
        self.used, out = [], np.zeros(table.num_rows, np.uint64)
        for name in sorted(self.names, key=lambda n: -_distinct(each[n])):
            self.used.append(name)
            out = _mixed(out, each[name])
            if _distinct(out) == distinct:
                break
        return _folded(out)

    def _column(self, name: str, column: "pa.Array") -> "np.ndarray":
        import pyarrow as pa
        import pyarrow.compute as pc

        if name not in self.numeric:  # decided on a few values: a failed cast of a whole chunk costs ~20 ms
            try:
                _float_bits(_blanks_null(pc.utf8_trim_whitespace(column.slice(0, 100))))
                self.numeric[name] = True
            except pa.ArrowInvalid:
                self.numeric[name] = False
        if not self.numeric[name]:
            return self._by_text(pc.utf8_trim_whitespace(column))
        try:
            return _float_bits(column)
        except pa.ArrowInvalid:
            pass
        trimmed = pc.utf8_trim_whitespace(column)
        try:  # spaces around the numbers, blanks, or missing-value markers ("NA", "?")
            return _float_bits(_blanks_null(trimmed))
        except pa.ArrowInvalid:  # other text among the numbers: the same number must still get the same key
            return self._by_value(trimmed)

    def _by_text(self, text: "pa.Array") -> "np.ndarray":
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(text)
        return self._bytes(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)]

    def _by_value(self, text: "pa.Array") -> "np.ndarray":
        """Numbers by their float bits, other text by its bytes (a stray "n/a" in a numeric column)."""
        import numpy as np
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(text)
        keys = self._bytes(encoded.dictionary)
        for i, value in enumerate(encoded.dictionary.to_pylist()):
            try:
                keys[i] = np.float64(np.nan if value in _MARKERS else float(value)).view(np.uint64)
            except ValueError:
                pass
        return keys[encoded.indices.to_numpy(zero_copy_only=False)]

    def _bytes(self, strings: "pa.Array") -> "np.ndarray":
        """A polynomial hash of each string's bytes (prefix sums of byte x base^position), xor its length."""
        import numpy as np
        import pyarrow as pa

        strings = strings.cast(pa.large_string())
        offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[strings.offset:strings.offset + len(strings) + 1]
        lengths = np.diff(offsets).astype(np.int64)
        keys = lengths.astype(np.uint64) * np.uint64(_MIX)
        if strings.buffers()[2] is None or offsets[-1] == offsets[0]:
            return keys
        data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
        starts = offsets[:-1] - offsets[0]
        position = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths)
        with np.errstate(over="ignore"):
            weighted = (data.astype(np.uint64) + np.uint64(1)) * self._power_table(int(lengths.max()))[position]
            sums = np.zeros(len(data) + 1, np.uint64)
            np.cumsum(weighted, out=sums[1:])
            return (sums[starts + lengths] - sums[starts]) ^ keys

    def _power_table(self, longest: int) -> "np.ndarray":
        import numpy as np

        if self._powers is None or len(self._powers) <= longest:
            with np.errstate(over="ignore"):
                self._powers = np.cumprod(np.full(max(longest + 1, 4096), _BASE, dtype=np.uint64), dtype=np.uint64)
        return self._powers


def _distinct(keys: "np.ndarray") -> int:
    """How many distinct values (a sort: numpy's hash-based unique is 20x slower on uint64)."""
    import numpy as np

    ordered = np.sort(keys)
    return int(len(ordered) > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _folded(keys: "np.ndarray") -> "np.ndarray":
    """32 bits a row (4 MB at 1M rows): at 1M rows about 230 rows share a key by chance, 0.02%,
    far under MIN_SHARE; such a pair sealed together changes nothing."""
    import numpy as np

    return ((keys >> np.uint64(32)) ^ keys).astype(np.uint32)


def _mixed(keys: "np.ndarray", column: "np.ndarray") -> "np.ndarray":
    import numpy as np

    with np.errstate(over="ignore"):
        return (keys ^ column) * np.uint64(_MIX)


def _array(column: Any) -> "pa.Array":
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _float_bits(column: "pa.Array") -> "np.ndarray":
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).view(np.uint64)


def _blanks_null(text: "pa.Array") -> "pa.Array":
    """Blanks and missing-value markers as nulls (NaN keys): what a candidate's pandas reads as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = pc.is_in(text, value_set=pa.array(sorted(_MARKERS), pa.string()))
    return pc.if_else(blank, pa.scalar(None, pa.string()), text) if pc.any(blank).as_py() else text


@dataclass
class Copies:
    """How train.csv repeats itself, and test.csv repeats train.csv."""

    rows: int  # labelled rows with a copy among the labelled rows
    share: float  # ... as a share of them
    test_share: float  # test.csv rows whose features are some train.csv row's
    codes: "np.ndarray | None" = field(default=None, repr=False)  # per labelled row: its set of copies

    @property
    def sealed_whole(self) -> bool:
        return self.codes is not None

    def said(self) -> str:
        return (f"{self.rows:,} labelled rows of train.csv ({100 * self.share:.1f}%) repeat another row's features "
                f"exactly, while {100 * self.test_share:.1f}% of test.csv's rows repeat a train.csv row: each set of "
                "copies is sealed whole, so a model that memorised a row is not graded on its copy (your test rows "
                "are not copies)")


def judge(keys: "np.ndarray", test_keys: "np.ndarray") -> Copies:
    """`keys`: the labelled train rows'; `test_keys`: test.csv's. Copies sealed whole (`codes`) when at
    least MIN_SHARE of the labelled rows have a copy and test.csv repeats train.csv at under half that rate."""
    import numpy as np

    ordered = np.sort(keys)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return Copies(rows=0, share=0.0, test_share=0.0)
    copied = np.zeros(len(ordered), dtype=bool)
    copied[1:] |= same
    copied[:-1] |= same
    rows = int(copied.sum())
    share = rows / max(len(keys), 1)
    found = np.searchsorted(ordered, test_keys).clip(0, len(ordered) - 1)
    test_share = float((ordered[found] == test_keys).mean()) if len(test_keys) else 0.0
    out = Copies(rows=rows, share=share, test_share=test_share)
    if share >= MIN_SHARE and test_share < share / 2:
        out.codes = np.unique(keys, return_inverse=True)[1].reshape(-1)
    return out
