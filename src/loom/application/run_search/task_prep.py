"""Prepare a task: check the data dir, infer target/id, seal a holdout, write the candidate input.

Candidates get `train.csv` minus the sealed holdout, and a `test.csv` holding the user's test
rows plus the holdout's features (shuffled together); the holdout labels stay under
`runs/<id>/sealed/`, outside the task dir any brain or candidate ever sees.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from loom.domain.errors import UsageError
from loom.domain.metrics import MetricSpec
from loom.domain.search import Task

LAYOUT = "train.csv, test.csv [, sample_submission.csv]"
_ID_NAMES = ("id", "row_id", "customer_id", "customerid", "index")


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]]


def read_csv(path: Path, *, what: str, allow_no_rows: bool = False) -> Table:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = [
                {h: (v if v is not None else "") for h, v in zip(header, row.values())}
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None
    if not header or (not rows and not allow_no_rows):
        raise UsageError(f"{what} {path} is empty; it needs a header row and at least one data row")
    return Table(header, rows)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def check_data_dir(data_dir: Path | None) -> Path:
    """The data dir, or UsageError with one actionable line."""
    if data_dir is None:
        raise UsageError("no data: pass --data DIR (holding " + LAYOUT + ") or --dataset PATHSPEC")
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise UsageError(f"data dir {path} does not exist; it should hold {LAYOUT}")
    if not path.is_dir():
        raise UsageError(f"--data {path} is not a directory; point it at a dir holding {LAYOUT}")
    if not any(path.iterdir()):
        raise UsageError(f"data dir {path} is empty; it should hold {LAYOUT}")
    if not (path / "train.csv").is_file():
        raise UsageError(f"no train.csv in {path}; a data dir holds {LAYOUT}")
    return path.resolve()


def _infer_target(train: Table, test: Table | None, sample: Table | None) -> str:
    if sample is not None:
        for col in sample.header[1:]:
            if col in train.header:
                return col
    if test is not None:
        extra = [c for c in train.header if c not in test.header]
        if len(extra) == 1:
            return extra[0]
        if len(extra) > 1:
            raise UsageError(
                f"cannot tell the target: train.csv has {len(extra)} columns test.csv lacks "
                f"({', '.join(extra[:5])}); add sample_submission.csv with the id and target columns"
            )
    if len(train.header) < 2:
        raise UsageError("train.csv needs at least one feature column and a target column")
    return train.header[-1]


def _infer_id(train: Table, test: Table | None, sample: Table | None, target: str) -> str | None:
    if sample is not None and sample.header and sample.header[0] != target:
        if sample.header[0] in train.header or (test and sample.header[0] in test.header):
            return sample.header[0]
    for col in (test.header if test else train.header):
        if col.lower() in _ID_NAMES and col != target:
            return col
    return None


def _split(rows: list[dict[str, str]], target: str, fraction: float, seed: int, stratify: bool):
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row[target] if stratify else "", []).append(i)
    held: set[int] = set()
    for key in sorted(groups):
        idx = groups[key]
        rng.shuffle(idx)
        held.update(idx[: int(round(len(idx) * fraction))])
    keep = [r for i, r in enumerate(rows) if i not in held]
    hold = [r for i, r in enumerate(rows) if i in held]
    return keep, hold


def prepare_task(
    data_dir: Path,
    task_dir: Path,
    sealed_dir: Path,
    *,
    goal: str,
    metric: MetricSpec,
    holdout_fraction: float,
    seed: int,
    dataset: str | None = None,
) -> Task:
    """Write task_dir/input (the candidates' view) and sealed_dir (holdout labels, test ids)."""
    train = read_csv(data_dir / "train.csv", what="train.csv")
    test = read_csv(data_dir / "test.csv", what="test.csv", allow_no_rows=True) if (data_dir / "test.csv").is_file() else None
    sample_path = data_dir / "sample_submission.csv"
    sample = read_csv(sample_path, what="sample_submission.csv", allow_no_rows=True) if sample_path.is_file() else None
    target = _infer_target(train, test, sample)
    id_col = _infer_id(train, test, sample, target)
    classes = sorted({r[target] for r in train.rows})
    if metric.task_type == "classification" and len(classes) < 2:
        raise UsageError(f"target '{target}' in train.csv has a single value; nothing to classify")
    test_rows = list(test.rows) if test else []
    test_header = list(test.header) if test else [c for c in train.header if c != target]

    synthetic_id = id_col is None
    if synthetic_id:
        id_col = "id"
        while id_col in train.header:
            id_col = "_" + id_col
        train.rows = [{id_col: str(i), **r} for i, r in enumerate(train.rows)]
        offset = len(train.rows)
        test_rows = [{id_col: str(offset + i), **r} for i, r in enumerate(test_rows)]
        train.header = [id_col, *train.header]
        test_header = [id_col, *test_header]
    assert id_col is not None

    n = len(train.rows)
    k = int(round(n * holdout_fraction))
    sealed = k >= 2 and n - k >= 2
    if sealed:
        keep, hold = _split(train.rows, target, holdout_fraction, seed, metric.task_type == "classification")
    else:
        keep, hold = train.rows, []

    test_ids = [r.get(id_col, "") for r in test_rows]
    taken = set(test_ids) | {r.get(id_col, "") for r in keep}
    hold_ids = [r.get(id_col, "") for r in hold]
    if len(set(hold_ids)) != len(hold_ids) or taken & set(hold_ids):
        numeric = [int(float(v)) for v in taken if _is_number(v)]
        base = (max(numeric) + 1) if numeric else 0
        hold_ids = [str(base + i) if numeric or not taken else f"h{i}" for i in range(len(hold))]

    input_dir = task_dir / "input"
    input_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "working").mkdir(exist_ok=True)
    sealed_dir.mkdir(parents=True, exist_ok=True)
    write_csv(input_dir / "train.csv", train.header, keep)
    holdout_as_test = [{**{c: r.get(c, "") for c in test_header}, id_col: hid} for r, hid in zip(hold, hold_ids)]
    combined = test_rows + holdout_as_test
    random.Random(seed + 1).shuffle(combined)
    write_csv(input_dir / "test.csv", test_header, combined)
    placeholder = "0.5" if metric.needs_probabilities else (classes[0] if metric.task_type == "classification" else "0")
    write_csv(input_dir / "sample_submission.csv", [id_col, target], [{id_col: r[id_col], target: placeholder} for r in combined])
    write_csv(sealed_dir / "holdout.csv", [id_col, target], [{id_col: hid, target: r[target]} for r, hid in zip(hold, hold_ids)])
    (sealed_dir / "test_ids.json").write_text(json.dumps({"id_column": id_col, "synthetic_id": synthetic_id, "ids": test_ids}))
    for extra in sorted(data_dir.iterdir()):  # small side files (descriptions) go along as-is
        if extra.is_file() and extra.suffix.lower() in (".txt", ".md", ".json") and extra.stat().st_size < 1_000_000:
            (input_dir / extra.name).write_bytes(extra.read_bytes())

    return Task(
        goal=goal,
        metric=metric,
        input_dir=str(input_dir),
        target=target,
        id_column=id_col,
        task_type=metric.task_type,
        columns=tuple(c for c in train.header if c not in (id_col, target)),
        n_train=len(keep),
        n_test=len(combined),
        classes=tuple(classes) if metric.task_type == "classification" else (),
        dataset=dataset,
    )


def _is_number(value: str) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError, OverflowError):
        return False
