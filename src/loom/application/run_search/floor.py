"""The floor a run's best must clear: the best constant prediction, learnt from the candidates' own
training labels, chosen on the selection slice and scored on the final slice (as the best is).

A search whose best scores no better on the final slice than "always predict the median" found no
signal a model could use (or broke what it had): the run says so instead of reporting OK silently.
Constants by what the metric grades:
- values: the mean, the median and (values above -1) the geometric mean of 1 + y, less 1;
- labels: each class;
- probabilities: the class shares.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.run_search import tables
from loom.application.run_search.grading import FINAL, SELECTION
from loom.domain.search import Task

if TYPE_CHECKING:
    import numpy as np


def constant_floor(task: Task, sealed_dir: Path) -> dict[str, Any] | None:
    """{"value": final-slice score, "constant": what it predicts} of the best constant, or None
    (nothing sealed, no usable training labels, or a metric no constant can be scored on)."""
    from loom.application.evaluation.metrics import Scorer, ScoringError

    spec = task.metric
    train = Path(task.input_dir) / "train.csv"
    if not (train.is_file() and (sealed_dir / SELECTION).is_file() and (sealed_dir / FINAL).is_file()):
        return None
    try:
        y = _truth(task, tables.read(train, [task.target]).column(0))
        slices = {name: _truth(task, tables.read(sealed_dir / name, [task.target]).column(0))
                  for name in (SELECTION, FINAL)}
    except (tables.TableError, KeyError, ValueError):
        return None
    if len(y) == 0 or any(len(t) == 0 for t in slices.values()):
        return None
    classes = list(task.classes)
    positive = classes.index(task.positive_class) if len(classes) == 2 and task.positive_class in classes else 0

    def score(name: str, guess: Any) -> float | None:
        truth = slices[name]
        try:
            value = Scorer(spec, truth, guess(len(truth)), n_classes=len(classes), positive=positive)()
        except (ScoringError, ValueError, ZeroDivisionError):
            return None
        return value if value == value else None

    chosen = None
    for described, guess in _constants(spec.info.input, y, len(classes), classes):
        picked = score(SELECTION, guess)
        if picked is not None and (chosen is None or spec.better(picked, chosen[0])):
            chosen = (picked, described, guess)
    if chosen is None:
        return None
    final = score(FINAL, chosen[2])
    return None if final is None else {"value": final, "constant": chosen[1]}


def _truth(task: Task, column: Any) -> "np.ndarray":
    import numpy as np
    import pyarrow.compute as pc

    column = column.drop_null()
    column = column.filter(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0))  # blank labels
    if task.metric.info.input == "value":
        values = tables.floats(column)
        return values[np.isfinite(values)]
    codes = tables.codes(column, list(task.classes))
    return codes[codes < len(task.classes)]


def _constants(kind: str, y: "np.ndarray", n_classes: int, classes: list[str]) -> list[tuple[str, Any]]:
    import numpy as np

    if kind == "value":
        named = [("the mean", float(np.mean(y))), ("the median", float(np.median(y)))]
        if (y > -1).all():
            named.append(("the geometric mean", float(np.expm1(np.mean(np.log1p(y))))))
        return [(f"{name} {c:.4g}", lambda n, c=c: np.full(n, c)) for name, c in named]
    shares = np.bincount(y, minlength=n_classes)[:n_classes] / len(y)
    if kind == "label":
        return [(f"the class {classes[k]!r}", lambda n, k=k: np.full(n, k)) for k in range(n_classes)]
    return [("the class shares", lambda n: np.tile(shares, (n, 1)))]
