"""Whether a train.csv target can carry the run's metric: the ordered classes of a classification
target, or a numeric target's values checked (one line, exit 2, naming what to do otherwise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loom.application.run_search import tables
from loom.domain.errors import UsageError
from loom.domain.metrics import MetricSpec, order_classes

if TYPE_CHECKING:
    import pyarrow as pa

#: Metrics of one positive-class probability -> what to use on a multiclass target instead.
_BINARY_ONLY = {"gini": '"Maximize ROC-AUC" (one-vs-rest, macro)', "brier": '"Minimize log loss"'}


def classes(metric: MetricSpec, target: str, truth: "pa.Array", n: int) -> list[str]:
    """The ordered classes of a classification target, after the checks its metric needs."""
    uniq = order_classes(set(truth.unique().to_pylist()))
    if len(uniq) < 2:
        raise UsageError(f"target '{target}' in train.csv has a single value; nothing to classify")
    if len(uniq) > 0.5 * n and n > 20:
        raise UsageError(f"target '{target}' has {len(uniq)} distinct values in {n} rows: it looks continuous; "
                         f"use a regression metric such as \"Minimize RMSE\"")
    if metric.name == "f1" and len(uniq) > 2:
        raise UsageError(f"F1 of the positive class needs a binary target; '{target}' has {len(uniq)} classes: "
                         f"say which average with --metric-name f1_macro, f1_micro or f1_weighted")
    if metric.name in ("f2", "f0_5") and len(uniq) > 2:
        raise UsageError(f"{metric.label} of the positive class needs a binary target; '{target}' has {len(uniq)} "
                         f"classes and Loom computes no averaged {metric.label}: for a multiclass target use "
                         f"--metric-name f1_macro, f1_micro or f1_weighted")
    if metric.name in _BINARY_ONLY and len(uniq) > 2:
        raise UsageError(f"{metric.label} scores the positive-class probability of a binary target; '{target}' has "
                         f"{len(uniq)} classes: use {_BINARY_ONLY[metric.name]} for a multiclass target")
    if metric.name == "qwk":
        try:
            [float(c) for c in uniq]
        except ValueError:
            raise UsageError(f"quadratic weighted kappa needs ordered numeric classes; '{target}' holds "
                             f"{', '.join(uniq[:4])}: encode the order as numbers") from None
    return uniq


def check_values(metric: MetricSpec, target: str, truth: "pa.Array") -> None:
    try:
        values = tables.floats(truth)
    except tables.TableError:
        bad = [v for v in truth.to_pylist() if not _is_number(v)]
        example = bad[0] if bad else "?"
        raise UsageError(f"{metric.label} needs a numeric target; '{target}' holds text in {len(bad):,} of its "
                         f"{len(truth):,} labelled rows, such as '{example}'",
                         hint="fix those labels, or blank them: Loom leaves rows without a label out") from None
    if metric.name in ("rmsle", "msle") and len(values) and values.min() <= -1:
        raise UsageError(f"{metric.label} needs targets above -1 (log(1 + y)); '{target}' goes down to {values.min():g}")


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
