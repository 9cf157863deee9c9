"""Prepare a task: check the data, infer target/id, seal two slices, screen for leaks, write the input.

The labelled rows of train.csv are cut three ways (`evaluation.splits`): the candidates' train,
a sealed selection slice (grades every node; ranks them) and a sealed final slice (scores the
chosen best once: the estimate Loom reports). Candidates get `train.csv` without the sealed
rows, and a `test.csv` holding the user's test rows plus both slices' features, shuffled
together; the labels stay under the run store's `sealed_dir`, outside anything a brain or a
candidate sees. With a time column the sealed rows are the latest ones. The leak screen runs on
a sample of the labelled rows in a child process; `--leaks drop` removes what it flags and
`--leaks fail` stops, so both wait for it before any candidate. With `--leaks warn` nothing the
candidates see depends on it: the caller may take it unfinished (`defer_screen`) and collect its
flags at the end of the search (`Prepared.collect_screen`), so it no longer delays the first one.

Columnar throughout: pyarrow streams the CSVs as text (values reach candidates unchanged),
numpy does the index math, pandas only sees a few thousand sampled rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.evaluation import splits
from loom.application import dialect
from loom.application.run_search import columns, copies, grading, sealing, tables, targets
from loom.domain.errors import ExecutionFailed, LeaksFound, UsageError
from loom.domain.lifecycle import LeakageFlag
from loom.domain.metrics import MetricSpec
from loom.domain.positive import choose as choose_positive
from loom.domain.search import Task

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)
LAYOUT = "train.csv, test.csv [, sample_submission.csv]"
LEAK_MODES = ("warn", "drop", "fail")


@dataclass
class Prepared:
    """What task preparation produced: the task, how rows were split, and the leak screen's flags."""

    task: Task
    split: dict[str, Any]
    leaks: list[LeakageFlag] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    train_only: list[str] = field(default_factory=list)  # train.csv columns test.csv lacks: left out
    row_numbers: list[str] = field(default_factory=list)  # a written pandas index (`columns.row_numbering`): left out
    notes: list[str] = field(default_factory=list)  # what else was done to the user's data, in a sentence each
    screen_error: str | None = None  # the leak screen could not run (said in the run's warnings)
    pending: "sealing.Screen | None" = None  # --leaks warn, deferred: still screening (collect_screen)

    def collect_screen(self, timeout: float = 600.0) -> None:
        """Wait for a deferred screen and fill `leaks` / `screen_error` (no-op when none is pending)."""
        if self.pending is None:
            return
        screen, self.pending = self.pending, None
        try:
            flags, self.screen_error = screen.result(timeout)  # (flags, None) or ([], why)
        finally:
            screen.stop()
        self.leaks = flags

    def discard_screen(self) -> None:
        """Stop a deferred screen that will not be collected (the run failed or was interrupted)."""
        if self.pending is not None:
            self.pending.stop()
            self.pending = None


# ---- the data the user points at ------------------------------------------------------------------
def check_data(path: Path | None) -> Path:
    """A data dir (train.csv, ...) or one table file; UsageError with one actionable line otherwise.

    Tables may be written as CSV (any usual separator and encoding), TSV or Parquet: the run reads
    them through `dialect.normalize`."""
    if path is None:
        raise UsageError("no data: pass --data DIR (holding " + LAYOUT + "), --data FILE.csv or --dataset PATHSPEC")
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"data dir {path} does not exist; it should hold {LAYOUT} (or pass one CSV file)")
    if path.is_file():
        if not dialect.is_table_file(path):
            raise UsageError(f"--data {path} is not a table file; pass a .csv, .tsv or .parquet file (or .csv.gz, "
                             f".csv.zip, ...) or a dir "
                             f"holding {LAYOUT}")
        return path.resolve()
    if not any(path.iterdir()):
        raise UsageError(f"data dir {path} is empty; it should hold {LAYOUT}")
    if "train" not in dialect.table_files(path):
        excel = next((p.name for p in path.iterdir() if p.stem == "train" and p.suffix.lower() in (".xls", ".xlsx")), None)
        raise UsageError(f"no train.csv in {path}; a data dir holds {LAYOUT} (or train.tsv / train.parquet, ...)",
                         hint=f"save {excel} as CSV (e.g. pandas.read_excel(path).to_csv('train.csv', index=False))"
                         if excel else None)
    return path.resolve()


def plain_source(path: Path, dest: Path) -> dialect.Source:
    """The checked data as UTF-8 comma CSV (`dialect.normalize`); bad tables as one UsageError line."""
    try:
        return dialect.normalize(path, dest)
    except dialect.DialectError as exc:
        raise UsageError(f"cannot read the data in {path}: {exc}") from None


def check_data_dir(data_dir: Path | None) -> Path:
    """A data dir (not a file); kept for callers that need the dir layout."""
    path = check_data(data_dir)
    if path.is_file():
        raise UsageError(f"--data {path} is a file here; point it at a dir holding {LAYOUT}")
    return path


def _read(path: Path, what: str, columns: list[str] | None = None) -> "pa.Table":
    try:
        return tables.read(path, columns)
    except tables.TableError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None


def _header(path: Path, what: str) -> list[str]:
    try:
        names = tables.header(path)
    except tables.TableError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None
    if not names or names == [""]:
        raise UsageError(f"{what} {path} is empty; it needs a header row and at least one data row")
    if len(names) == 1:
        sep = next((c for c in (";", "\t", "|") if c in names[0]), None)
        if sep is not None:
            shown = "tab" if sep == "\t" else f"'{sep}'"
            raise UsageError(f"{what} {path} looks {shown}-separated (its header is one column: {names[0][:60]!r}); "
                             "Loom reads comma-separated CSV",
                             hint=f"convert it, e.g. pandas.read_csv(path, sep={sep!r}).to_csv(path, index=False)")
    return names


def split_file(path: Path, dest: Path, *, target: str | None, time_column: str | None, seed: int,
               fraction: float = 0.2) -> tuple[Path, str]:
    """One CSV -> dest/train.csv + dest/test.csv (the target held back), as `loom ingest` splits a file:
    the latest `fraction` of rows by time when there is a time column, else a seeded draw."""
    names = _header(path, "--data file")
    if target is not None and target not in names:
        raise UsageError(f"--target '{target}' is not a column of {path.name}; columns: {', '.join(names[:12])}")
    if target is None:
        lowered = {n.lower(): n for n in names}
        target = next((lowered[t] for t in splits.TARGET_NAMES if t in lowered), names[-1])
    if len(names) < 2:
        raise UsageError(f"{path.name} needs at least one feature column and a target column")
    table = _read(path, "--data file")
    column = columns.time_column(names, target, None, time_column, table.slice(0, sealing.HEAD_ROWS))
    if table.num_rows < 5:
        raise UsageError(f"{path.name} has {table.num_rows} rows: too few to split into train and test")
    times = columns.times(table.column(column), column, explicit=time_column is not None) if column else None
    import numpy as np
    import pyarrow as pa

    mask = np.zeros(table.num_rows, dtype=bool)
    mask[splits.test_rows(table.num_rows, fraction, seed, times)] = True
    dest.mkdir(parents=True, exist_ok=True)
    quoted = tables.has_quotes(path)
    tables.write(dest / "train.csv", table.filter(pa.array(~mask)), check_quotes=quoted)
    tables.write(dest / "test.csv", table.filter(pa.array(mask)).drop_columns([target]), check_quotes=quoted)
    return dest, target


def pandas_name(column: str, names: list[str]) -> str:
    """A column as pandas (a candidate, the leak screen) names it: an empty header is 'Unnamed: i'."""
    return column or f"Unnamed: {names.index(column)}"

# ---- the task -------------------------------------------------------------------------------------
def prepare_task(
    data_dir: Path,
    task_dir: Path,
    sealed_dir: Path,
    *,
    goal: str,
    metric: MetricSpec,
    seed: int,
    dataset: str | None = None,
    target: str | None = None,
    time_column: str | None = None,
    group_column: str | None = None,
    share: float | None = None,
    leaks: str = "warn",
    defer_screen: bool = False,
) -> Prepared:
    """Write task_dir/input (the candidates' view) and sealed_dir (slice labels, test ids).

    With `defer_screen` and `leaks == "warn"` the leak screen is handed over still running in
    `Prepared.pending`: the caller collects it (`collect_screen`) or discards it."""
    import pyarrow.compute as pc

    train_path = data_dir / "train.csv"
    test_path, sample_path = data_dir / "test.csv", data_dir / "sample_submission.csv"
    train_names = _header(train_path, "train.csv")
    test_names = _header(test_path, "test.csv") if test_path.is_file() else None
    sample_names = _header(sample_path, "sample_submission.csv") if sample_path.is_file() else None
    target = columns.infer_target(train_names, test_names, sample_names, target)
    id_col = columns.infer_id(train_names, test_names, sample_names, target)
    user_test = _read(test_path, "test.csv") if test_path.is_file() else None
    if id_col is not None and user_test is not None and id_col in user_test.column_names:
        if pc.count_distinct(user_test.column(id_col)).as_py() != user_test.num_rows:
            _repeated_key(id_col, user_test.column(id_col), sample_names)
            id_col = None  # not a key after all: Loom numbers the rows itself
    elif id_col is None and user_test is not None and test_names and test_names[0] in train_names[:1] \
            and test_names[0] != target:
        first = test_names[0]  # the usual place of a key named otherwise ("key", "ref", "PID")
        if columns.key_by_values(first, _read(train_path, "train.csv", [first]).column(0), user_test.column(first)):
            id_col = first

    screen = sealing.Screen(sealed_dir / ".screen")  # its imports overlap the scan and the checks
    defer = defer_screen and leaks == "warn"
    try:
        prepared = _prepare(data_dir, task_dir, sealed_dir, screen, goal=goal, metric=metric, seed=seed,
                            dataset=dataset, target=target, id_col=id_col, time_column=time_column,
                            group_column=group_column, share=share,
                            leaks=leaks, names=(train_names, test_names), user_test=user_test, defer=defer,
                            sample_names=sample_names)
    except BaseException:
        screen.stop()
        raise
    if prepared.pending is None:
        screen.stop()
    return prepared


def _repeated_key(id_col: str, ids: "pa.ChunkedArray", sample_names: list[str] | None) -> None:
    """test.csv repeats values of the key sample_submission.csv names: a submission holds one row per
    id, so no file Loom writes would match the user's grader. UsageError naming the repeats."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not sample_names or id_col not in sample_names:
        return  # a column named like a key, without a sample saying so: Loom numbers the rows itself
    text = ids.cast(pa.string())
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    missing = int(pc.sum(blank).as_py() or 0)
    counts = pc.value_counts(text.filter(pc.invert(blank)))
    repeats = [(str(v["values"]), int(v["counts"])) for v in counts.to_pylist() if v["counts"] > 1]
    shown = ", ".join(f"{value} ({n} rows)" for value, n in sorted(repeats, key=lambda r: -r[1])[:3])
    what = (f"repeats {len(repeats):,} value{'s' if len(repeats) != 1 else ''} of '{id_col}' ({shown})" if repeats
            else "") + (" and " if repeats and missing else "") + (f"leaves '{id_col}' empty in {missing:,} row{'s' if missing != 1 else ''}" if missing else "")
    raise UsageError(f"test.csv {what}, the key sample_submission.csv names; a submission holds one row per "
                     f"{id_col}: give each test row its own {id_col} (or drop the repeated rows)")


def _prepare(data_dir: Path, task_dir: Path, sealed_dir: Path, screen: "sealing.Screen", *, goal: str,
             metric: MetricSpec, seed: int, dataset: str | None, target: str, id_col: str | None,
             time_column: str | None, group_column: str | None, share: float | None, leaks: str, names: tuple[list[str], list[str] | None],
             user_test: "pa.Table | None", defer: bool = False, sample_names: list[str] | None = None) -> Prepared:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    train_names, test_names = names
    train_path, test_path = data_dir / "train.csv", data_dir / "test.csv"
    shared = [c for c in train_names if c not in (id_col, target) and c in (test_names or ())]
    keys = copies.RowKeys(shared) if shared and user_test is not None and user_test.num_rows else None
    found = sealing.scan(train_path, target=target, seed=seed, keys=keys,
                         time_column=lambda head: columns.time_column(train_names, target, id_col, time_column, head))
    n = found.rows
    truth = pc.utf8_trim_whitespace(found.target)
    missing = pc.is_in(truth, value_set=pa.array(tables.MISSING, pa.string()))  # as a candidate's pandas reads them
    label_notes = targets.read_as_missing(target, truth, missing, found.sample) \
        if metric.task_type == "classification" and pc.any(missing).as_py() else []
    labelled = np.flatnonzero(pc.invert(missing).to_numpy(zero_copy_only=False))
    if len(labelled) == 0:
        raise UsageError(f"target '{target}' is empty in every row of train.csv")
    known = truth.take(labelled)
    classes = targets.classes(metric, target, known, len(labelled)) if metric.task_type == "classification" else []
    if not classes:
        targets.check_values(metric, target, known)
    column = found.time_column
    times = columns.times(found.times, column, explicit=time_column is not None) if found.times is not None and column else None
    not_later = columns.test_is_later(column, times, user_test) if times is not None and time_column is None else None
    if times is None or not_later:
        column, times = None, None
    strata = tables.codes(known, classes) if classes else None
    read: dict[str, Any] = {}  # a train column read whole: by the group check, then for the group codes

    def train_column(name: str) -> Any:
        if name not in read:
            read[name] = _read(train_path, "train.csv", [name]).column(0)
        return read[name]

    group = None if column else columns.group_column(
        [c for c in train_names if c not in (id_col, target)], found.sample, user_test, train_column, group_column)
    unseen = columns.unseen_levels(train_names, found.sample, user_test, train_column, skip=(id_col, target, group, column))
    numbering = columns.row_numbering(train_names, user_test, train_column, id_col)
    row_numbers = [numbering] if numbering is not None else []
    codes, copied = None, None
    if group is not None:
        values = pc.utf8_trim_whitespace(train_column(group)).combine_chunks()
        codes = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)[labelled]
    elif column is None and keys is not None and found.keys is not None:
        copied = copies.judge(found.keys if len(labelled) == n else found.keys[labelled], keys.rows(user_test))  # type: ignore[arg-type]
        codes = copied.codes
    found.keys = None
    slice_of = np.zeros(n, dtype=np.int8)
    slice_of[labelled] = splits.sealed_slices(len(labelled), seed, strata=strata, groups=codes,
                                              times=None if times is None else times[labelled], share=share)
    unlabelled = n - len(labelled)
    copy_codes = None
    if copied is not None and copied.sealed_whole:  # per sealed row, for the final slice's cluster bootstrap
        every = np.full(n, -1, dtype=np.int64)
        every[labelled] = codes
        copy_codes = every[slice_of > 0]
    del truth, known, labelled, strata, times, codes, read  # 8 bytes a row each: not held while the tables are written

    synthetic = id_col is None
    if synthetic:
        taken = set(train_names) | set(test_names or ())
        id_col = "id"
        while id_col in taken:
            id_col = "_" + id_col
    assert id_col is not None
    screen.send(found.sample, user_test, target=target, kind=metric.task_type,
                id_column=None if synthetic else id_col, seed=seed)
    del found
    quoted = tables.has_quotes(train_path) or (test_path.is_file() and tables.has_quotes(test_path))
    written = sealing.write_input(train_path, user_test, task_dir, target=target, id_col=id_col,
                                  synthetic=synthetic, slice_of=slice_of, quoted=quoted)
    flags, screen_error = ([], None) if defer else screen.result()
    if screen_error and leaks == "fail":
        raise ExecutionFailed(f"{screen_error}; --leaks fail stops rather than run unscreened")
    # a column test.csv lacks cannot feed a prediction; in the candidates' train.csv it would only
    # lend the model a feature the sealed and test rows never have
    train_only = [c for c in train_names if test_names is not None and c not in test_names and c not in (id_col, target)]
    left_out = [*train_only, *row_numbers, *(pandas_name(c, train_names) for c in row_numbers)]
    acted = [f for f in flags if f.column not in (id_col, target, *left_out)]
    dropped: list[str] = []
    if acted and leaks == "fail":
        listed = "; ".join(f"{f.column} ({f.kind}: {f.detail})" for f in acted)
        raise LeaksFound(f"the leak screen flagged {len(acted)} column(s) and --leaks fail stops here, "
                         f"before any candidate: {listed}",
                         hint="drop them with --leaks drop, or fix the data",
                         flags=[f.as_dict() for f in acted])
    if acted and leaks == "drop":
        dropped = list(dict.fromkeys(f.column for f in acted))
    if dropped or train_only or row_numbers:
        sealing.drop_columns(task_dir / "input" / "train.csv", dropped + train_only + row_numbers, quoted=quoted)
    sample_path = data_dir / "sample_submission.csv"
    sample_ids = _read(sample_path, "sample_submission.csv", [id_col]).column(0) \
        if not synthetic and sample_names and id_col in sample_names else None
    test_rows = sealing.write_test(written, task_dir, sealed_dir, metric=metric, classes=classes,
                                   dropped=dropped + row_numbers, seed=seed, group=group if (slice_of > 0).any() else None,
                                   sample_ids=sample_ids, group_codes=copy_codes if (slice_of > 0).any() else None)
    sealing.copy_side_files(data_dir, task_dir / "input")

    split_kind = "none" if not (slice_of > 0).any() else (
        "time" if column else "group" if group else "copies" if copy_codes is not None else
        "stratified" if classes else "random")
    split = {
        "kind": split_kind, "time_column": column, "group_column": group,
        "rows": {"train": written.kept, "selection": int((slice_of == 1).sum()), "final": int((slice_of == 2).sum()),
                 "test": 0 if user_test is None else user_test.num_rows, "unlabelled": int(unlabelled)},
    }
    sealing.write_meta(sealed_dir, id_col=id_col, synthetic_id=synthetic, split=split, sample_columns=sample_names)
    positive = choose_positive(classes, goal, target) if len(classes) == 2 else None
    task = Task(
        goal=goal, metric=metric, input_dir=str(task_dir / "input"), target=target, id_column=id_col,
        task_type=metric.task_type,
        columns=tuple(c for c in train_names if c not in (id_col, target, *dropped, *train_only, *row_numbers)),
        n_train=written.kept, n_test=test_rows, classes=tuple(classes), dataset=dataset, time_column=column,
        group_column=group, copies=copy_codes is not None, positive=None if positive is None else positive.label,
    )
    log.info("task prepared", extra={"rows": n, "split": split, "flags": len(flags), "dropped": dropped})
    notes = label_notes + ([copied.said()] if copy_codes is not None and copied is not None else [])
    notes += [not_later] if not_later else []
    if unlabelled and not label_notes:
        notes.append(f"{unlabelled:,} of the {n:,} rows of train.csv have no value of '{target}': left out "
                     "(nothing to learn from or to score)")
    notes += targets.positive_notes(positive, metric, target, classes)
    notes += [said for name, said in unseen.items() if name in task.columns]
    if test_names is not None and target in test_names:
        notes.append(f"test.csv holds the target column '{target}': left out of the candidates' test.csv, which "
                     "never carries labels")
    if grading.one_hot_asked(task, sample_names):
        notes.append(f"sample_submission.csv has one column per class ({', '.join((sample_names or [])[1:][:4])}"
                     f"{', ...' if len(sample_names or []) > 5 else ''}); {metric.label} scores the predicted class, "
                     "so submission.csv marks it with 1 in its column and 0 in the others (for probabilities, "
                     "name a probability metric such as log loss)")
    return Prepared(task=task, split=split, leaks=flags, dropped=dropped, train_only=train_only,
                    row_numbers=[pandas_name(c, train_names) for c in row_numbers], notes=notes,
                    screen_error=screen_error, pending=screen if defer else None)
