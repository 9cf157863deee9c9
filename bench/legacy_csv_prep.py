"""The csv-module task preparation and grading Loom used before issue 14, frozen for bench/task_prep.py.

A verbatim copy (commit b7caa77) of run_search/task_prep.py, run_search/grading.py and the
pure-Python scoring of domain/metrics.py: the side-by-side baseline the columnar rewrite is
measured against. Not imported by Loom.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loom.domain.errors import UsageError
from loom.domain.metrics import MetricSpec
from loom.domain.search import Task

REGRESSION = frozenset({"rmse", "mae", "mse", "r2"})

# ---- pure-Python scoring (grading the sealed holdout) -------------------------------------


def _floats(values: Sequence[object]) -> list[float]:
    return [float(v) for v in values]  # type: ignore[arg-type]


def _positive_label(labels: Sequence[str]) -> str:
    uniq = sorted(set(labels))
    for cand in ("1", "1.0", "true", "True", "yes", "Yes", "positive"):
        if cand in uniq:
            return cand
    return uniq[-1]


def roc_auc(y_true: Sequence[str], scores: Sequence[float]) -> float:
    """Binary ROC-AUC by ranks (ties get the average rank)."""
    pos = _positive_label(y_true)
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = sum(1 for y in y_true if y == pos)
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs both classes in the holdout")
    rank_sum = sum(r for r, y in zip(ranks, y_true) if y == pos)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    return sum(1 for a, b in zip(y_true, y_pred) if a == b) / len(y_true)


def f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    labels = sorted(set(y_true))
    targets = [_positive_label(y_true)] if len(labels) <= 2 else labels
    scores = []
    for label in targets:
        tp = sum(1 for a, b in zip(y_true, y_pred) if a == label and b == label)
        fp = sum(1 for a, b in zip(y_true, y_pred) if a != label and b == label)
        fn = sum(1 for a, b in zip(y_true, y_pred) if a == label and b != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def log_loss(y_true: Sequence[str], probs: Sequence[float]) -> float:
    pos = _positive_label(y_true)
    eps = sys.float_info.epsilon  # as scikit-learn clips float64 probabilities
    total = 0.0
    for y, p in zip(y_true, probs):
        p = min(max(float(p), eps), 1 - eps)
        total += -math.log(p) if y == pos else -math.log(1 - p)
    return total / len(y_true)


def rmse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return math.sqrt(mse(y_true, y_pred))


def mse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return sum((a - b) ** 2 for a, b in zip(_floats(y_true), _floats(y_pred))) / len(y_true)


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    return sum(abs(a - b) for a, b in zip(_floats(y_true), _floats(y_pred))) / len(y_true)


def r2(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    t, p = _floats(y_true), _floats(y_pred)
    mean = sum(t) / len(t)
    ss_tot = sum((a - mean) ** 2 for a in t)
    ss_res = sum((a - b) ** 2 for a, b in zip(t, p))
    return 1.0 - ss_res / ss_tot if ss_tot else 0.0


def _as_number(value: str) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _canon_label(value: str) -> str:
    """"1.0" and "1" are the same class label; "yes" stays "yes"."""
    num = _as_number(value)
    if num is not None and num == int(num):
        return str(int(num))
    return str(value).strip()


def score(spec: MetricSpec, y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Grade predictions (strings from CSV) against labels with `spec`'s metric."""
    if not y_true or len(y_true) != len(y_pred):
        raise ValueError("predictions and labels differ in length")
    if spec.name in REGRESSION:
        preds = [_as_number(v) for v in y_pred]
        if any(p is None for p in preds):
            raise ValueError("non-numeric predictions")
        fn = {"rmse": rmse, "mae": mae, "mse": mse, "r2": r2}[spec.name]
        return fn(_floats(y_true), preds)  # type: ignore[arg-type]
    labels = [_canon_label(v) for v in y_true]
    nums = [_as_number(v) for v in y_pred]
    if spec.needs_probabilities:
        if any(n is None for n in nums):
            pos = _positive_label(labels)
            nums = [1.0 if _canon_label(v) == pos else 0.0 for v in y_pred]
        return (roc_auc if spec.name == "roc_auc" else log_loss)(labels, nums)  # type: ignore[arg-type]
    # accuracy / f1 take labels; probabilities in [0, 1] on 0/1 labels are thresholded at 0.5
    binary01 = set(labels) <= {"0", "1"}
    label_preds: list[str]
    if binary01 and all(n is not None and 0.0 <= n <= 1.0 for n in nums):
        label_preds = ["1" if (n or 0.0) >= 0.5 else "0" for n in nums]
    else:
        label_preds = [_canon_label(v) for v in y_pred]
    return (accuracy if spec.name == "accuracy" else f1)(labels, label_preds)




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





class GradingError(Exception):
    """The submission cannot be graded (missing rows, wrong columns); recorded on the node."""


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = [{h: (v or "") for h, v in zip(header, r.values())} for r in reader]
    return header, rows


def _columns(task: Task, header: list[str]) -> tuple[str, str]:
    if not header:
        raise GradingError("submission.csv is empty")
    id_col = task.id_column if task.id_column in header else header[0]
    if task.target in header:
        return id_col, task.target
    others = [c for c in header if c != id_col]
    if not others:
        raise GradingError(f"submission.csv has no prediction column (expected '{task.target}')")
    return id_col, others[-1]


def _key(value: str) -> str:
    value = value.strip()
    try:
        num = float(value)
        return str(int(num)) if num == int(num) else value
    except (ValueError, OverflowError):
        return value


def grade(task: Task, sealed_dir: Path, submission: Path | None) -> float | None:
    """The holdout metric of `submission`, None when there is no sealed holdout."""
    labels_path = sealed_dir / "holdout.csv"
    if not labels_path.is_file():
        return None
    _, labels = _read(labels_path)
    if not labels:
        return None
    if submission is None or not Path(submission).is_file():
        raise GradingError("no submission.csv was written")
    header, rows = _read(Path(submission))
    id_col, pred_col = _columns(task, header)
    preds = {_key(r.get(id_col, "")): r.get(pred_col, "") for r in rows}
    y_true, y_pred, missing = [], [], 0
    for row in labels:
        key = _key(row[task.id_column])
        if key not in preds:
            missing += 1
            continue
        y_true.append(row[task.target])
        y_pred.append(preds[key])
    if missing:
        raise GradingError(f"submission.csv lacks {missing} of the {len(labels)} test rows Loom grades")
    try:
        return float(score(task.metric, y_true, y_pred))
    except (ValueError, ZeroDivisionError) as exc:
        raise GradingError(f"cannot score the submission: {exc}") from None


def user_submission(task: Task, sealed_dir: Path, submission: Path, dest: Path) -> int:
    """Write the rows of `submission` for the user's own test rows, in their order. Returns rows."""
    meta = json.loads((sealed_dir / "test_ids.json").read_text())
    header, rows = _read(submission)
    id_col, _ = _columns(task, header)
    by_id = {_key(r.get(id_col, "")): r for r in rows}
    out = [by_id[_key(i)] for i in meta["ids"] if _key(i) in by_id]
    with dest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(out)
    return len(out)
