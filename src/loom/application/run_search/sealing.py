"""The writing half of task preparation: stream train.csv into the candidates' input and the
sealed slices, screen a sample for leaks, assemble test.csv and sample_submission.csv.

Memory stays near one batch plus the sealed rows and the user's test table: the candidates'
train rows are written as they stream by.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.run_search import tables
from loom.application.run_search.grading import FINAL, META, SELECTION, TEST_IDS
from loom.domain.errors import UsageError
from loom.domain.lifecycle import LeakageFlag
from loom.domain.metrics import MetricSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

SCREEN_ROWS = 5000  # labelled rows the leak screen looks at
_SIDE_SUFFIXES = (".txt", ".md", ".json")


@dataclass
class Written:
    """What streaming train.csv produced (the candidates' train.csv is already on disk)."""

    id_col: str
    synthetic_id: bool
    target: str
    names: list[str]  # train columns as written (a synthetic id first)
    kept: int
    sealed: "pa.Table"  # the sealed rows, every train column
    sealed_slice: "np.ndarray"  # 1 (selection) or 2 (final) per sealed row
    kept_ids: "pa.Array"
    sample: "pa.Table"  # rows for the leak screen (the user's columns only)
    user_test: "pa.Table | None"
    user_test_rows: int


def _string_ids(start: int, count: int) -> "pa.Array":
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pa.array(np.arange(start, start + count, dtype=np.int64)), pa.string())


def write_input(train_path: Path, test_path: Path | None, task_dir: Path, sealed_dir: Path, *, target: str,
                id_col: str | None, slice_of: "np.ndarray", sample_rows: "np.ndarray", seed: int) -> Written:
    """Stream train.csv: the candidates' rows to task_dir/input/train.csv, the sealed rows and the
    screen's sample into memory."""
    import numpy as np
    import pyarrow as pa

    input_dir = task_dir / "input"
    input_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "working").mkdir(exist_ok=True)
    sealed_dir.mkdir(parents=True, exist_ok=True)
    user_test = None
    if test_path is not None:
        try:
            user_test = tables.read(test_path)
        except tables.TableError as exc:
            raise UsageError(f"cannot read test.csv {test_path}: {exc}") from None
    if id_col is not None and user_test is not None and id_col in user_test.column_names:
        import pyarrow.compute as pc

        if pc.count_distinct(user_test.column(id_col)).as_py() != user_test.num_rows:
            id_col = None  # not a key after all: Loom numbers the rows itself
    synthetic = id_col is None
    if synthetic:
        taken = set(tables.header(train_path)) | set(user_test.column_names if user_test is not None else ())
        id_col = "id"
        while id_col in taken:
            id_col = "_" + id_col
    assert id_col is not None
    writer: tables.Writer | None = None
    sealed_parts: list[Any] = []
    slices: list[Any] = []
    sample_parts: list[Any] = []
    kept_ids: list[Any] = []
    offset = 0
    try:
        for batch in tables.batches(train_path):
            m = batch.num_rows
            rows = slice_of[offset:offset + m]
            local = sample_rows[(sample_rows >= offset) & (sample_rows < offset + m)] - offset
            if len(local):
                sample_parts.append(batch.take(pa.array(local)))
            if synthetic:
                batch = pa.RecordBatch.from_arrays([_string_ids(offset, m), *batch.columns], [id_col, *batch.schema.names])
            if writer is None:
                writer = tables.Writer(input_dir / "train.csv", batch.schema)
            keep = pa.array(rows == 0)
            kept = batch.filter(keep)
            writer.write(kept)
            kept_ids.append(kept.column(id_col))
            if (rows > 0).any():
                sealed_parts.append(batch.filter(pa.array(rows > 0)))
                slices.append(rows[rows > 0])
            offset += m
    except tables.TableError as exc:
        raise UsageError(f"cannot read train.csv {train_path}: {exc}") from None
    finally:
        if writer is not None:
            writer.close()
    if writer is None or offset != len(slice_of):
        raise UsageError(f"train.csv {train_path} changed while Loom read it; run again")
    schema = writer.schema
    return Written(
        id_col=id_col, synthetic_id=synthetic, target=target, names=list(schema.names), kept=writer.rows,
        sealed=pa.Table.from_batches(sealed_parts, schema=schema),
        sealed_slice=np.concatenate(slices) if slices else np.zeros(0, dtype=np.int8),
        kept_ids=pa.chunked_array(kept_ids, type=pa.string()).combine_chunks(),
        sample=pa.Table.from_batches(sample_parts) if sample_parts else pa.table({}),
        user_test=user_test, user_test_rows=0 if user_test is None else user_test.num_rows,
    )


def _frame(table: "pa.Table") -> "pd.DataFrame":
    """Text columns -> a typed pandas frame, inferred as a candidate's pandas would read the CSV."""
    import pandas as pd
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, low_memory=False)


def screen(written: Written, *, target: str, kind: str, seed: int) -> list[LeakageFlag]:
    """The leak screen over a sample of the labelled rows (and of the user's test rows)."""
    from loom.application.evaluation import leakage

    if written.sample.num_rows < 10:
        return []
    test = None
    if written.user_test is not None and written.user_test.num_rows:
        test = _frame(written.user_test.slice(0, SCREEN_ROWS))
    return leakage.screen(_frame(written.sample), target, kind, test=test,
                          id_column=None if written.synthetic_id else written.id_col, seed=seed)


def drop_columns(path: Path, dropped: list[str]) -> None:
    """Rewrite a CSV without `dropped` (streamed)."""
    keep = [c for c in tables.header(path) if c not in set(dropped)]
    tmp = path.with_name(path.name + ".tmp")
    writer: tables.Writer | None = None
    try:
        for batch in tables.batches(path, keep):
            if writer is None:
                writer = tables.Writer(tmp, batch.schema)
            writer.write(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        os.replace(tmp, path)


def _sealed_ids(written: Written) -> "pa.Array":
    """Ids for the sealed rows as test rows: their own, unless they would clash with another row's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    own = written.sealed.column(written.id_col).combine_chunks()
    keys = tables.canon_keys(own)
    others = [tables.canon_keys(written.kept_ids)]
    if written.user_test is not None and written.id_col in written.user_test.column_names:
        others.append(tables.canon_keys(written.user_test.column(written.id_col)))
    other = pa.chunked_array(others, type=pa.string())
    clash = pc.count_distinct(keys).as_py() != len(keys) or pc.any(pc.is_in(keys, value_set=other.combine_chunks())).as_py()
    if not clash:
        return own
    try:
        top = max(int(pc.max(pc.cast(k, pa.int64())).as_py() or 0) for k in [keys, *others] if len(k))
        return _string_ids(top + 1, len(own))
    except (pa.ArrowInvalid, ValueError):
        return pa.array([f"sealed-{i}" for i in range(len(own))], pa.string())


def write_test(written: Written, task_dir: Path, sealed_dir: Path, *, metric: MetricSpec, classes: list[str],
               dropped: list[str], seed: int) -> int:
    """test.csv (user test rows + sealed features, shuffled), sample_submission.csv and the sealed labels."""
    import numpy as np
    import pyarrow as pa

    id_col, sealed, user, target_col = written.id_col, written.sealed, written.user_test, written.target
    if user is not None and written.synthetic_id:
        user = user.add_column(0, id_col, _string_ids(len(written.kept_ids) + sealed.num_rows, user.num_rows))
    names = user.column_names if user is not None else [c for c in written.names if c != target_col]
    names = [c for c in names if c not in set(dropped)]
    ids = _sealed_ids(written)
    empty = pa.array([""] * sealed.num_rows, pa.string())
    features = pa.table({c: ids if c == id_col else (sealed.column(c) if c in sealed.column_names else empty)
                         for c in names})
    parts = [features] if user is None else [user.select(names), features]
    combined = pa.concat_tables(parts).combine_chunks()
    combined = combined.take(pa.array(np.random.default_rng(seed + 1).permutation(combined.num_rows)))
    input_dir = task_dir / "input"
    tables.write(input_dir / "test.csv", combined)
    _sample_submission(input_dir / "sample_submission.csv", combined.column(id_col), id_col, target_col, metric, classes)
    for name, code in ((SELECTION, 1), (FINAL, 2)):
        mask = pa.array(written.sealed_slice == code)
        tables.write(sealed_dir / name, pa.table({id_col: ids.filter(mask), target_col: sealed.column(target_col).filter(mask)}))
    user_ids = user.column(id_col) if user is not None and id_col in user.column_names else pa.array([], pa.string())
    tables.write(sealed_dir / TEST_IDS, pa.table({id_col: user_ids}))
    return combined.num_rows


def _sample_submission(path: Path, ids: "pa.ChunkedArray", id_col: str, target: str, metric: MetricSpec,
                       classes: list[str]) -> None:
    import pyarrow as pa

    n = len(ids)
    if metric.needs_probabilities and len(classes) > 2:
        share = f"{1 / len(classes):.6g}"
        columns = {id_col: ids, **{c: pa.array([share] * n, pa.string()) for c in classes}}
    else:
        value = "0.5" if metric.needs_probabilities else (classes[0] if classes else "0")
        columns = {id_col: ids, target: pa.array([value] * n, pa.string())}
    tables.write(path, pa.table(columns))


def write_meta(sealed_dir: Path, *, id_col: str, synthetic_id: bool, split: dict[str, Any]) -> None:
    (sealed_dir / META).write_text(json.dumps({"id_column": id_col, "synthetic_id": synthetic_id, "split": split}),
                                   encoding="utf-8")


def copy_side_files(data_dir: Path, input_dir: Path) -> None:
    """Small side files (descriptions) go along as-is."""
    for extra in sorted(data_dir.iterdir()):
        if extra.is_file() and extra.suffix.lower() in _SIDE_SUFFIXES and extra.stat().st_size < 1_000_000:
            (input_dir / extra.name).write_bytes(extra.read_bytes())
