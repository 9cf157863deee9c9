"""Whether a train.csv target can carry the run's metric: the ordered classes of a classification
target, or a numeric target's values checked (one line, exit 2, naming what to do otherwise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loom.application.run_search import tables
from loom.domain.errors import UsageError
from loom.domain.metrics import MetricSpec, order_classes

if TYPE_CHECKING:
    import pyarrow as pa

    from loom.domain.positive import Positive

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
    if len(values) > 1 and values.min() == values.max():
        raise UsageError(f"target '{target}' in train.csv has a single value ({values.min():g}) in all {len(values):,} "
                         f"labelled rows; nothing to learn or estimate",
                         hint="check that the right column is the target (--target), or that train.csv is not a filtered slice")
    if metric.name in ("rmsle", "msle") and len(values) and values.min() <= -1:
        raise UsageError(f"{metric.label} needs targets above -1 (log(1 + y)); '{target}' goes down to {values.min():g}")


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def read_as_missing(target: str, truth: "pa.Array", missing: "pa.Array", sample: "pa.Table") -> list[str]:
    """A class target's labels that read as missing although written ("NA", "None", "null"): exit 2
    when one looks like a class (the other classes are words, it is in at least 1% of the rows, and
    no other column of the scanned sample writes it, as an R export writes NA everywhere);
    otherwise one sentence saying those rows were
    left out. pandas reads them as NaN, so a candidate would never learn such a class: North
    America written "NA" was dropped silently, and the held-out accuracy was 0.58 against an
    estimate of 0.83."""
    import pyarrow.compute as pc

    written = pc.value_counts(truth.filter(missing))
    known = pc.unique(truth.filter(pc.invert(missing))).to_pylist()
    worded = any(not _is_number(v) for v in known)  # classes 0/1 with a stray "NA": a missing label
    out = []
    for entry in written.to_pylist():
        value, count = entry["values"], entry["counts"]
        if not value:
            continue
        elsewhere = any(pc.any(pc.equal(pc.utf8_trim_whitespace(col), value)).as_py()
                        for name, col in zip(sample.column_names, sample.columns) if name != target)
        if worded and count >= max(2, 0.01 * len(truth)) and not elsewhere:
            raise UsageError(f"target '{target}' holds '{value}' in {count:,} of its {len(truth):,} rows, a value pandas "
                             f"(and so every candidate) reads as a missing label: '{value}' would never be learned "
                             "or predicted",
                             hint=f"if '{value}' is a class, spell it otherwise in train.csv (e.g. '{value}_'); "
                                  "if it marks unknown labels, blank those cells")
        out.append(f"target '{target}' holds '{value}' in {count:,} rows, read as a missing label (as the other "
                   "columns write missing values): those rows are left out of training and sealing")
    return out


#: Metrics that score one class of a binary target (or, for log loss, whose one column is its probability).
POSITIVE_CLASS_METRICS = frozenset({"roc_auc", "pr_auc", "gini", "brier", "log_loss", "f1", "f2", "f0_5"})


def positive_notes(positive: "Positive | None", metric: MetricSpec, target: str, classes: list[str]) -> list[str]:
    """What the run says about the positive class it scores, when it matters and is not plain:
    taken from the goal against the convention, or the last class in order for want of both."""
    from loom.domain.metrics import positive_label

    if positive is None or metric.name not in POSITIVE_CLASS_METRICS:
        return []
    holds = " (submission.csv holds its probability)" if metric.needs_probabilities else ""
    if positive.how == "goal" and positive.label != positive_label(classes):
        return [f"{metric.label} takes '{positive.label}' as the positive class, as the goal names it{holds}"]
    if positive.how == "order":
        other = next(c for c in classes if c != positive.label)
        return [f"{metric.label} takes '{positive.label}' as the positive class{holds}: '{target}' has no "
                f"conventional positive (1, true, yes) and the goal names neither class, so the last in order; "
                f"to score '{other}', say so in the goal (e.g. \"the probability that {target} is {other}\")"]
    return []
