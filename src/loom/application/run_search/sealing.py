"""The streaming half of task preparation: scan train.csv, screen a sample for leaks in a child
process, write the candidates' input and the sealed slices.

Two passes over train.csv, one batch in memory at a time: `scan` keeps the target (and time)
column and a seeded uniform sample for the leak screen; `write_input` writes the candidates'
rows as they stream by and keeps only the sealed ones. The screen (pandas + scikit-learn) runs in
its own interpreter while the second pass streams.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.run_search import tables
from loom.application.run_search.grading import FINAL, FINAL_GROUPS, META, SELECTION, TEST_IDS
from loom.domain.errors import UsageError
from loom.domain.lifecycle import LeakageFlag
from loom.domain.metrics import MetricSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)
SCREEN_ROWS = 5000  # rows the leak screen looks at
HEAD_ROWS = 2000  # rows that decide which column is the time column
_SIDE_SUFFIXES = (".txt", ".md", ".json")


def _read_error(path: Path, exc: Exception) -> UsageError:
    return UsageError(f"cannot read {path.name} {path}: {exc}")


# ---- pass 1: scan -------------------------------------------------------------------------------
@dataclass
class Scan:
    """What the first pass keeps: the target and time columns, the head, a uniform sample."""

    rows: int
    target: "pa.Array"
    time_column: str | None
    times: "pa.Array | None"
    head: "pa.Table"
    sample: "pa.Table"
    keys: "np.ndarray | None" = None  # each row's `copies.RowKeys` key


def scan(path: Path, *, target: str, time_column: Any, seed: int, keys: Any = None) -> Scan:
    """Stream train.csv once. `time_column(head) -> column | None` picks the time column from the
    first rows (a text table). The sample: every row draws a seeded uniform key, rows under a
    threshold sized from the file (about 1.5x SCREEN_ROWS) are kept, then the SCREEN_ROWS
    smallest keys: a uniform draw without replacement, with one filter per batch. With `keys` (a
    `copies.RowKeys`) each row's key too, hashed in chunks of `copies.CHUNK_ROWS` rows."""
    from loom.application.run_search.copies import CHUNK_ROWS

    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed + 7)
    size = max(path.stat().st_size, 1)
    targets: list[Any] = []
    times: list[Any] = []
    parts: list[Any] = []
    keys_u: list[Any] = []
    row_keys: list[Any] = []
    pending: list[Any] = []  # batches not hashed yet
    head = None
    column: str | None = None
    threshold = 1.0
    rows = 0
    try:
        for batch in tables.batches(path):
            if head is None:
                head = pa.Table.from_batches([batch]).slice(0, HEAD_ROWS)
                column = time_column(head)
                guess = size / max(batch.nbytes / max(batch.num_rows, 1), 1.0)  # rows, from this batch's width
                threshold = min(1.0, 1.5 * SCREEN_ROWS / max(guess, 1.0))
            targets.append(batch.column(target))
            if column:
                times.append(batch.column(column))
            u = rng.random(batch.num_rows)
            chosen = u < threshold
            if chosen.any():
                parts.append(batch.filter(pa.array(chosen)))
                keys_u.append(u[chosen])
            rows += batch.num_rows
            if keys is not None:
                pending.append(batch)
                if sum(b.num_rows for b in pending) >= CHUNK_ROWS:
                    row_keys.append(keys.rows(pa.Table.from_batches(pending)))
                    pending = []
    except tables.TableError as exc:
        raise _read_error(path, exc) from None
    if pending:
        row_keys.append(keys.rows(pa.Table.from_batches(pending)))
    if head is None:
        raise UsageError(f"train.csv {path} is empty; it needs a header row and at least one data row")
    sample = pa.Table.from_batches(parts, schema=head.schema) if parts else head.slice(0, 0)
    u = np.concatenate(keys_u) if keys_u else np.zeros(0)
    if len(u) > SCREEN_ROWS:
        sample = sample.take(pa.array(np.sort(np.argpartition(u, SCREEN_ROWS)[:SCREEN_ROWS])))
    return Scan(rows=rows, target=pa.chunked_array(targets).combine_chunks(), time_column=column,
                times=pa.chunked_array(times).combine_chunks() if column else None, head=head,
                sample=sample.combine_chunks(), keys=np.concatenate(row_keys) if keys is not None else None)


def frame(table: "pa.Table") -> "pd.DataFrame":
    """Text columns -> a typed pandas frame, inferred as a candidate's pandas would read the CSV."""
    import pandas as pd
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, low_memory=False)


# ---- the leak screen, in a child process --------------------------------------------------------
class Screen:
    """The leak screen in a child process (`screen_job`): started first, so its imports overlap
    the scan; `send` hands it the sample; `result()` waits for its flags."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with (workdir / "out.json").open("wb") as out, (workdir / "err.txt").open("wb") as err:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "loom.application.evaluation.screen_job"],
                stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
        self.sent = False

    def send(self, sample: "pa.Table", test: "pa.Table | None", *, target: str, kind: str, id_column: str | None,
             seed: int) -> None:
        import pyarrow.csv as pacsv

        if self.proc is None or sample.num_rows < 10:
            self.stop()
            return
        spec: dict[str, Any] = {"train": str(self.workdir / "sample.csv"), "test": None, "target": target,
                                "kind": kind, "id_column": id_column, "seed": seed}
        pacsv.write_csv(sample, self.workdir / "sample.csv")
        if test is not None and test.num_rows:
            pacsv.write_csv(test.slice(0, SCREEN_ROWS), self.workdir / "test.csv")
            spec["test"] = str(self.workdir / "test.csv")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(spec).encode("utf-8"))
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the child died early: result() reports why
        self.sent = True

    def result(self, timeout: float = 600.0) -> tuple[list[LeakageFlag], str | None]:
        """(flags, None), or ([], why) when the screen could not run."""
        if self.proc is None or not self.sent:
            return [], None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return [], f"the leak screen did not finish in {timeout:.0f} s"
        out = (self.workdir / "out.json").read_text(encoding="utf-8", errors="replace")
        err = (self.workdir / "err.txt").read_text(encoding="utf-8", errors="replace")
        self.stop()
        if code != 0:
            last = (err.strip().splitlines() or ["no output"])[-1][:200]
            log.warning("leak screen failed", extra={"error": last})
            return [], f"the leak screen could not run: {last}"
        return [LeakageFlag(f["column"], f["kind"], f["detail"]) for f in json.loads(out or "[]")], None

    def stop(self) -> None:
        """End the child (if it still runs) and remove its files."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
        self.proc = None
        _remove(self.workdir)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---- pass 2: write ------------------------------------------------------------------------------
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
    user_test: "pa.Table | None"
    quoted: bool  # a source file held quotes: values may need quoting when written


def string_ids(start: int, count: int) -> "pa.Array":
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pa.array(np.arange(start, start + count, dtype=np.int64)), pa.string())


def write_input(train_path: Path, user_test: "pa.Table | None", task_dir: Path, *, target: str, id_col: str,
                synthetic: bool, slice_of: "np.ndarray", quoted: bool) -> Written:
    """Stream train.csv: the candidates' rows to task_dir/input/train.csv, the sealed rows into memory."""
    import numpy as np
    import pyarrow as pa

    input_dir = task_dir / "input"
    input_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "working").mkdir(exist_ok=True)
    writer: tables.Writer | None = None
    sealed_parts: list[Any] = []
    slices: list[Any] = []
    kept_ids: list[Any] = []
    offset = 0
    try:
        for batch in tables.batches(train_path):
            m = batch.num_rows
            rows = slice_of[offset:offset + m]
            if synthetic:
                batch = pa.RecordBatch.from_arrays([string_ids(offset, m), *batch.columns], [id_col, *batch.schema.names])
            if writer is None:
                writer = tables.Writer(input_dir / "train.csv", batch.schema, check_quotes=quoted)
            kept = batch.filter(pa.array(rows == 0))
            writer.write(kept)
            kept_ids.append(kept.column(id_col))
            if (rows > 0).any():
                sealed_parts.append(batch.filter(pa.array(rows > 0)))
                slices.append(rows[rows > 0])
            offset += m
    except tables.TableError as exc:
        raise _read_error(train_path, exc) from None
    finally:
        if writer is not None:
            writer.close()
    if writer is None or offset != len(slice_of):
        raise UsageError(f"train.csv {train_path} changed while Loom read it; run again")
    return Written(
        id_col=id_col, synthetic_id=synthetic, target=target, names=list(writer.schema.names), kept=writer.rows,
        sealed=pa.Table.from_batches(sealed_parts, schema=writer.schema),
        sealed_slice=np.concatenate(slices) if slices else np.zeros(0, dtype=np.int8),
        kept_ids=pa.chunked_array(kept_ids, type=pa.string()).combine_chunks(),
        user_test=user_test, quoted=quoted,
    )


def drop_columns(path: Path, dropped: list[str], *, quoted: bool) -> None:
    """Rewrite a CSV without `dropped` (streamed)."""
    keep = [c for c in tables.header(path) if c not in set(dropped)]
    tmp = path.with_name(path.name + ".tmp")
    writer: tables.Writer | None = None
    try:
        for batch in tables.batches(path, keep):
            if writer is None:
                writer = tables.Writer(tmp, batch.schema, check_quotes=quoted)
            writer.write(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        os.replace(tmp, path)


def _sealed_ids(written: Written, user: "pa.Table | None") -> "pa.Array":
    """Ids for the sealed rows as test rows: their own, unless one repeats or matches another row's
    (the user's test ids in canonical form: "7" and "7.0" would be one submission row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    own = written.sealed.column(written.id_col).combine_chunks()
    clash = pc.count_distinct(own).as_py() != len(own) or pc.any(pc.is_in(own, value_set=written.kept_ids)).as_py()
    user_ids = user.column(written.id_col).combine_chunks() if user is not None and written.id_col in user.column_names else None
    if not clash and user_ids is not None and len(user_ids) and len(own):
        clash = pc.any(pc.is_in(tables.canon_keys(own), value_set=tables.canon_keys(user_ids))).as_py()
    if not clash:
        return own
    pools = [own, written.kept_ids] + ([user_ids] if user_ids is not None else [])
    try:
        top = max(int(pc.max(pc.cast(tables.canon_keys(k), pa.int64())).as_py() or 0) for k in pools if len(k))
        return string_ids(top + 1, len(own))
    except (pa.ArrowInvalid, ValueError):
        return pa.array([f"sealed-{i}" for i in range(len(own))], pa.string())


def write_test(written: Written, task_dir: Path, sealed_dir: Path, *, metric: MetricSpec, classes: list[str],
               dropped: list[str], seed: int, group: str | None = None,
               sample_ids: "pa.ChunkedArray | None" = None, group_codes: "np.ndarray | None" = None) -> int:
    """test.csv (user test rows + sealed features, shuffled), sample_submission.csv and the sealed labels.

    The user's test ids are kept in the order the delivered submission.csv lists them: the user's
    sample_submission.csv's (`sample_ids`) when it lists exactly test.csv's ids, else test.csv's. The
    final rows' groups, for the cluster bootstrap: `group`'s values, or `group_codes` (one per sealed
    row: its set of copies)."""
    import numpy as np
    import pyarrow as pa

    id_col, sealed, user, target = written.id_col, written.sealed, written.user_test, written.target
    if user is not None and written.synthetic_id:
        user = user.add_column(0, id_col, string_ids(len(written.kept_ids) + sealed.num_rows, user.num_rows))
    names = user.column_names if user is not None else [c for c in written.names if c != target]
    # never the target: a test.csv that carries it would hand the candidates the sealed rows' labels
    names = [c for c in names if c not in set(dropped) and c != target]
    ids = _sealed_ids(written, user)
    empty = pa.array([""] * sealed.num_rows, pa.string())
    features = pa.table({c: ids if c == id_col else (sealed.column(c) if c in sealed.column_names else empty)
                         for c in names})
    parts = [features] if user is None else [user.select(names), features]
    combined = pa.concat_tables(parts)  # chunks that point into the tables above: the shuffle is the one copy
    combined = combined.take(pa.array(np.random.default_rng(seed + 1).permutation(combined.num_rows)))
    input_dir = task_dir / "input"
    tables.write(input_dir / "test.csv", combined, check_quotes=written.quoted)
    _sample_submission(input_dir / "sample_submission.csv", combined.column(id_col), id_col, target, metric, classes)
    sealed_dir.mkdir(parents=True, exist_ok=True)
    for name, code in ((SELECTION, 1), (FINAL, 2)):
        mask = pa.array(written.sealed_slice == code)
        tables.write(sealed_dir / name, pa.table({id_col: ids.filter(mask), target: sealed.column(target).filter(mask)}),
                     check_quotes=written.quoted)
        if group is not None and name == FINAL:
            tables.write(sealed_dir / FINAL_GROUPS, pa.table({group: sealed.column(group).filter(mask)}),
                         check_quotes=written.quoted)
        elif group_codes is not None and name == FINAL:
            tables.write(sealed_dir / FINAL_GROUPS, pa.table({"copies": pa.array(group_codes).filter(mask).cast(pa.string())}))
    user_ids = user.column(id_col) if user is not None and id_col in user.column_names else pa.array([], pa.string())
    if sample_ids is not None:
        user_ids = in_sample_order(user_ids, sample_ids)
    tables.write(sealed_dir / TEST_IDS, pa.table({id_col: user_ids}), check_quotes=written.quoted)
    return combined.num_rows


def in_sample_order(ids: "pa.ChunkedArray | pa.Array", sample_ids: "pa.ChunkedArray | pa.Array") -> Any:
    """`ids` (spelled as test.csv spells them) in `sample_ids`' order when that lists each of them
    exactly once ("007" and "7" being one id), else `ids` as they are."""
    import pyarrow.compute as pc

    if len(sample_ids) != len(ids) or not len(ids):
        return ids
    at = pc.index_in(tables.canon_keys(sample_ids), value_set=tables.canon_keys(ids))
    if at.null_count or pc.count_distinct(at).as_py() != len(ids):
        return ids
    return ids.take(at)


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


def write_meta(sealed_dir: Path, *, id_col: str, synthetic_id: bool, split: dict[str, Any],
               sample_columns: list[str] | None = None) -> None:
    """meta.json; `sample_columns`: the user's sample_submission.csv header (the delivered one follows it)."""
    (sealed_dir / META).write_text(json.dumps({"id_column": id_col, "synthetic_id": synthetic_id, "split": split,
                                               "sample_columns": sample_columns}), encoding="utf-8")


def copy_side_files(data_dir: Path, input_dir: Path) -> None:
    """Small side files (descriptions) go along as-is."""
    for extra in sorted(data_dir.iterdir()):
        if extra.is_file() and extra.suffix.lower() in _SIDE_SUFFIXES and extra.stat().st_size < 1_000_000:
            (input_dir / extra.name).write_bytes(extra.read_bytes())
