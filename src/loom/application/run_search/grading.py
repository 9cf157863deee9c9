"""Grade a candidate's submission on the sealed holdout, and cut the user's test predictions."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from loom.domain.metrics import score
from loom.domain.search import Task


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
