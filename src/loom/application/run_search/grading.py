"""Grade submissions on the sealed slices, estimate the best, and cut the user's predictions.

Every node is graded on the selection slice (`grade`), which ranks the nodes. The chosen best
alone is scored on the final slice (`final_estimate`), with a bootstrap 95% interval: rows that
played no part in choosing it. Columnar throughout (pyarrow + numpy): a 1M-row submission is
read, joined on its ids and scored in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.evaluation.metrics import Scorer, ScoringError
from loom.application.run_search import tables
from loom.domain.metrics import canon_label
from loom.domain.search import Estimate, Task

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

SELECTION, FINAL, TEST_IDS, META = "selection.csv", "final.csv", "test_ids.csv", "meta.json"
FINAL_GROUPS = "final_groups.csv"  # a group split: each final row's group, for the cluster bootstrap


class GradingError(Exception):
    """The submission cannot be graded (missing rows, wrong columns); recorded on the node."""


def _read_submission(submission: Path | None) -> "pa.Table":
    if submission is None or not Path(submission).is_file():
        raise GradingError("no submission.csv was written")
    if Path(submission).is_symlink():  # executors keep a copy of a regular file: a link was planted
        raise GradingError("submission.csv is a symbolic link, not a file the candidate wrote")
    try:
        sub = tables.read(Path(submission))
    except tables.TableError as exc:
        raise GradingError(f"cannot read submission.csv: {exc}") from None
    if not sub.column_names:
        raise GradingError("submission.csv is empty")
    return sub


def _id_column(task: Task, names: list[str]) -> str:
    return task.id_column if task.id_column in names else names[0]


def _rows(task: Task, labels: "pa.Table", sub: "pa.Table") -> "np.ndarray":
    """Positions in `sub` of each labelled row (by canonical id); GradingError when any is missing."""
    import pyarrow.compute as pc

    id_col = _id_column(task, sub.column_names)
    positions = pc.index_in(tables.canon_keys(labels.column(0)), value_set=tables.canon_keys(sub.column(id_col)))
    if positions.null_count:
        raise GradingError(f"submission.csv lacks {positions.null_count} of the {len(labels)} test rows Loom grades")
    return positions.to_numpy(zero_copy_only=False)


def _prediction_column(task: Task, sub: "pa.Table") -> str:
    id_col = _id_column(task, sub.column_names)
    if task.target in sub.column_names:
        return task.target
    others = [c for c in sub.column_names if c != id_col]
    if not others:
        raise GradingError(f"submission.csv has no prediction column (expected '{task.target}')")
    return others[-1]


def _labels(task: Task, sub: "pa.Table", at: "np.ndarray") -> "np.ndarray":
    import numpy as np

    values = sub.column(_prediction_column(task, sub)).take(at)
    classes = list(task.classes)
    if classes == ["0", "1"]:  # probabilities of a 0/1 target: thresholded at 0.5
        try:
            p = tables.floats(values)
        except tables.TableError:
            p = None
        if p is not None and len(p) and np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1:
            return (p >= 0.5).astype(np.int64) * classes.index(task.positive_class)
    return tables.codes(values, classes)


def _probabilities(task: Task, sub: "pa.Table", at: "np.ndarray") -> "np.ndarray":
    """An (n, classes) matrix: class columns, a positive-class probability, or hard labels one-hot."""
    import numpy as np


    classes = list(task.classes)
    k, n = len(classes), len(at)
    by_class = {canon_label(c): c for c in sub.column_names}
    try:
        if all(c in by_class for c in classes) and (k > 2 or task.target not in sub.column_names):
            return np.column_stack([tables.floats(sub.column(by_class[c]).take(at)) for c in classes])
        if k == 2:
            p = tables.floats(sub.column(_prediction_column(task, sub)).take(at))
            pos = classes.index(task.positive_class)
            out = np.empty((n, 2))
            out[:, pos], out[:, 1 - pos] = p, 1.0 - p
            return out
    except tables.TableError:
        pass  # not numbers: hard labels below
    if k > 2 and task.target not in sub.column_names:
        raise GradingError(f"submission.csv needs one probability column per class ({', '.join(classes)}) "
                           f"or a '{task.target}' column")
    labels = _labels(task, sub, at)
    out = np.zeros((n, k))
    known = labels < k
    out[np.flatnonzero(known), labels[known]] = 1.0
    return out


def scorer(task: Task, labels_path: Path, submission: Path | None) -> Scorer | None:
    """The metric over the rows of `labels_path` and their predictions; None without sealed rows."""
    if not labels_path.is_file():
        return None
    try:
        labels = tables.read(labels_path)
    except tables.TableError:
        return None
    if labels.num_rows == 0:
        return None
    sub = _read_submission(submission)
    at = _rows(task, labels, sub)
    spec, classes = task.metric, list(task.classes)
    truth = labels.column(task.target)
    try:
        if spec.info.input == "value":
            try:
                pred = tables.floats(sub.column(_prediction_column(task, sub)).take(at))
            except tables.TableError:
                raise GradingError("non-numeric predictions") from None
            return Scorer(spec, tables.floats(truth), pred)
        positive = classes.index(task.positive_class) if len(classes) == 2 else 0
        t = tables.codes(truth, classes)
        if spec.info.input == "label":
            return Scorer(spec, t, _labels(task, sub, at), n_classes=len(classes), positive=positive)
        return Scorer(spec, t, _probabilities(task, sub, at), n_classes=len(classes), positive=positive)
    except ScoringError as exc:
        raise GradingError(f"cannot score the submission: {exc}") from None


def grade(task: Task, sealed_dir: Path, submission: Path | None) -> float | None:
    """The selection-slice metric of `submission`, None when nothing is sealed."""
    found = scorer(task, sealed_dir / SELECTION, submission)
    if found is None:
        return None
    try:
        return found()
    except ScoringError as exc:
        raise GradingError(f"cannot score the submission: {exc}") from None


def final_estimate(task: Task, sealed_dir: Path, submission: Path | None, *, node_id: str, seed: int,
                   split: str) -> Estimate | None:
    """The final-slice score of the chosen solution with its 95% interval (once per run)."""
    from loom.application.evaluation.interval import bootstrap, is_wide

    found = scorer(task, sealed_dir / FINAL, submission)
    if found is None:
        return None
    groups = None
    if (sealed_dir / FINAL_GROUPS).is_file():  # rows of a group move together: resample the groups
        import pyarrow.compute as pc

        column = tables.read(sealed_dir / FINAL_GROUPS).column(0).combine_chunks()
        groups = pc.dictionary_encode(column).indices.to_numpy(zero_copy_only=False)
    try:
        value, low, high, _, method = bootstrap(found, seed, groups=groups)
    except ScoringError as exc:
        raise GradingError(f"cannot score the submission on the final slice: {exc}") from None
    bounded = task.metric.bounded
    rarest = None
    if task.metric.task_type == "classification" and getattr(found, "t", None) is not None:
        import numpy as np

        counts = np.bincount(found.t[found.t >= 0])
        rarest = int(counts[counts > 0].min()) if (counts > 0).sum() >= 2 else None
    return Estimate(metric=task.metric.name, value=value, low=low, high=high, rows=found.n, split=split,
                    method=method, wide=is_wide(value, low, high, bounded), node_id=node_id, rarest=rarest)


def user_submission(task: Task, sealed_dir: Path, submission: Path, dest: Path) -> int:
    """Write the rows of `submission` for the user's own test rows, in their order, spelled as the
    user's files spell them: ids as test.csv writes them ("000244", not the 244 a candidate's
    pandas made of it) and predicted classes as train.csv writes them ("002", "1.0"). Returns rows."""
    import pyarrow.compute as pc

    sub = tables.read(submission)
    ids = tables.read(sealed_dir / TEST_IDS).column(0)
    id_col = _id_column(task, sub.column_names)
    positions = pc.index_in(tables.canon_keys(ids), value_set=tables.canon_keys(sub.column(id_col)))
    rows = sub.take(positions.drop_null())
    rows = rows.set_column(rows.column_names.index(id_col), id_col, ids.filter(positions.is_valid()))
    if task.task_type == "classification" and not task.metric.needs_probabilities and task.target in rows.column_names:
        at = rows.column_names.index(task.target)
        rows = rows.set_column(at, task.target, _user_labels(Path(task.input_dir) / "train.csv", task.target, rows.column(at)))
    asked = _sample_columns(sealed_dir)
    if asked and len(asked) == 2 and rows.column_names == [id_col, task.target] and asked != rows.column_names:
        # the header the user's sample_submission.csv shows, in its order: "amount,key"; "Id,Predicted"
        first = 1 if asked[1] == id_col or (asked[0] == task.target and id_col not in asked) else 0
        rows = rows.select([id_col, task.target][::-1] if first else [id_col, task.target]).rename_columns(asked)
    elif asked and task.class_columns and rows.column_names[0] == id_col:
        named = class_headers(asked[1:], list(task.classes))
        if named is not None and all(c in rows.column_names for c in named.values()):
            rows = rows.select([id_col, *(named[a] for a in asked[1:])]).rename_columns([id_col, *asked[1:]])
    elif asked and len(asked) == 3 and asked[0] == id_col and task.metric.needs_probabilities \
            and len(task.classes) == 2 and task.target in rows.column_names:
        rows = _binary_class_columns(rows, id_col, task, asked[1:])
    elif one_hot_asked(task, asked) and rows.column_names == [id_col, task.target]:
        rows = _one_hot(rows, id_col, task, (asked or [])[1:])  # asked is set: one_hot_asked said so
    tables.write(dest, rows)
    return len(positions) - positions.null_count


def _binary_class_columns(rows: "pa.Table", id_col: str, task: Task, asked: list[str]) -> "pa.Table":
    """A binary target's probability as the user's sample asks for it, one column per class
    ("id,cat,dog": 1 - p and p, p being the positive class's); `rows` as they are otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    named = class_headers(asked, list(task.classes))
    if named is None:
        return rows
    p = pc.cast(rows.column(task.target), pa.float64())
    positive = task.positive_class
    return pa.table({id_col: rows.column(id_col),
                     **{a: p if named[a] == positive else pc.subtract(1.0, p) for a in asked}})


def one_hot_asked(task: Task, asked: list[str] | None) -> bool:
    """The user's sample asks for one column per class (id,a,b,c) while the metric scores a label
    (accuracy, F1, ...): the delivered file then marks the predicted class with 1 in its column."""
    return bool(asked and task.task_type == "classification" and not task.metric.needs_probabilities
                and asked[0] == task.id_column and class_headers(asked[1:], list(task.classes)) is not None)


def _one_hot(rows: "pa.Table", id_col: str, task: Task, asked: list[str]) -> "pa.Table":
    import pyarrow as pa
    import pyarrow.compute as pc

    named = class_headers(asked, list(task.classes)) or {}
    predicted = pa.array([canon_label(v) if v is not None else None for v in rows.column(task.target).to_pylist()],
                         pa.string())
    return pa.table({id_col: rows.column(id_col),
                     **{a: pc.cast(pc.fill_null(pc.equal(predicted, named[a]), False), pa.int64()) for a in asked}})


def class_headers(asked: list[str], classes: list[str]) -> dict[str, str] | None:
    """{sample column: class} when the sample names each class with a common prefix ("class_0",
    "prob_yes"), the longest prefix that leaves exactly the classes; None when it names them otherwise."""
    import os

    if len(asked) != len(classes) or not asked:
        return None
    for cut in range(len(os.path.commonprefix(asked)), -1, -1):
        rest = {a: canon_label(a[cut:]) for a in asked}
        if sorted(rest.values()) == sorted(classes):
            return rest
    return None


def _sample_columns(sealed_dir: Path) -> list[str] | None:
    try:
        return meta(sealed_dir).get("sample_columns")
    except (OSError, ValueError):
        return None


def _user_labels(train: Path, target: str, predicted: "pa.ChunkedArray") -> "pa.Array":
    """Predicted class labels in train.csv's own spelling of each class (its most frequent one),
    spaces included: " <=50K" stays " <=50K" (a grader comparing text exactly needs it so)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        counts = pc.value_counts(tables.read(train, [target]).column(0)).to_pylist()
    except (tables.TableError, OSError):
        return predicted.combine_chunks()
    spelled: dict[str, tuple[int, str]] = {}
    for item in counts:
        key = canon_label(item["values"])
        if key and item["counts"] > spelled.get(key, (0, ""))[0]:
            spelled[key] = (item["counts"], item["values"])
    uniq = pc.unique(predicted)
    mapped = pa.array([spelled.get(canon_label(v), (0, v))[1] if v is not None else None for v in uniq.to_pylist()], pa.string())
    return mapped.take(pc.index_in(predicted, value_set=uniq))


def meta(sealed_dir: Path) -> dict[str, Any]:
    return json.loads((sealed_dir / META).read_text(encoding="utf-8"))
