"""Candidate part 1: read ./input, canonical labels, column kinds, the data profile."""

import os
import warnings

import numpy as np
import pandas as pd


def canonical_label(value):
    """A class label as text, as Loom's grading compares them: 1.0 -> "1", " >50K" -> ">50K" (the
    Adult census writes its labels after a space), anything else str()."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text.capitalize() if text.lower() in ("true", "false") else text  # "TRUE" is pandas' True


def order_labels(labels):
    """Numeric labels in numeric order, others alphabetically (the order Loom uses for classes)."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def positive_label(classes):
    return next((c for w in ("1", "true", "yes", "y", "positive", "pos") for c in classes if c.lower() == w),
                classes[-1])


def thread_budget():
    """The CPU threads this candidate may use (the sandbox sets OMP_NUM_THREADS: cores / workers)."""
    try:
        cpus = max(1, int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
    except ValueError:
        cpus = 1
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(cpus)  # BLAS / OpenMP pools already loaded follow the budget too
    except Exception:  # noqa: BLE001 - threadpoolctl is a nicety; the env variables already apply
        pass
    return cpus


NUMERIC_DATE = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"


def day_first(values):
    """True when numeric dates are written day first: some first field above 12, no second one
    ("13/01/2023"); pandas would read "05/01/2023" as 1 May otherwise. Loom decides the same way
    (loom.application.evaluation.frames.day_first)."""
    fields = pd.Series(values, dtype=object).dropna().astype(str).str.extract(NUMERIC_DATE).dropna().astype(int)
    return bool(len(fields)) and int(fields[0].max()) > 12 and int(fields[1].max()) <= 12


#: A time zone written after a time ("10:00:00Z", "10:00+02:00", "10:00:00.5 -0500", "10:00 UTC").
ZONE_SUFFIX = r"(:\d\d(?:\.\d+)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)\s*$"


def as_stamps(values, first=False):
    """A date column as naive datetime64 (NaT where unreadable), day first when `first`, at the
    wall-clock time each value was written in: the hour and weekday a person lived. A zone or
    offset is dropped, so a column spanning a daylight-saving change (+01:00 and +02:00, which
    pandas leaves as objects) or mixing zoned and plain values reads like any other."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            stamps = pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=first)
        except (TypeError, ValueError):  # pandas >= 3 refuses mixed offsets outright
            stamps = None
        if stamps is not None and pd.api.types.is_datetime64_any_dtype(stamps):
            return stamps.dt.tz_localize(None) if getattr(stamps.dt, "tz", None) is not None else stamps
        text = pd.Series(values).astype("string").str.replace(ZONE_SUFFIX, r"\1", regex=True)
        stamps = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=first)
    return stamps if pd.api.types.is_datetime64_any_dtype(stamps) else pd.Series(pd.NaT, index=text.index)


def _looks_datetime(values):
    sample = values.sample(min(len(values), 200), random_state=0) if len(values) > 200 else values
    if sample.str.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*").mean() > 0.5:
        return False  # numbers stored as text, not dates
    if not sample.str.contains(r"\d[-/:.]\d|\d{4}").mean() > 0.9:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        except (TypeError, ValueError):
            return False
    return parsed.notna().mean() >= 0.9


NUMBER_TEXT = r"[-+(]?[$€£¥]?[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?%?\)?"
#: Written for "no value" in exports pandas does not read as missing by default ("?" in UCI files); the same
#: set as loom.application.evaluation.frames.MISSING_TEXT (eda counts them missing; a test keeps them equal).
MISSING_TEXT = frozenset({"?", "??", "-", "--", "---", ".", "..", "...", "*", "n/a", "na", "n.a.", "nan", "none",
                          "null", "nil", "missing", "unknown", "not available", "#n/a", "#na", "#value!", "#div/0!"})


def numbers_in_text(train, test):
    """Columns of numbers written as text ("3,131", "$1,200.50", "45%", "(12)", a few "n/a") as
    floats, in train and test alike: read as text they would be categories of no order. A column
    converts when at least 95% of its non-empty training values are such numbers, not counting
    those that say "no value" (MISSING_TEXT: "?", "-", "unknown"); the rest -> NaN.
    A column numeric in train stays numeric in test: a stray "unknown" there is missing, not a
    reason for every model to fail on the test rows."""
    for col in train.columns:
        if pd.api.types.is_bool_dtype(train[col]):
            continue
        if pd.api.types.is_numeric_dtype(train[col]):
            if col in test.columns and not pd.api.types.is_numeric_dtype(test[col]):
                test[col] = pd.to_numeric(test[col].astype("string").str.strip(), errors="coerce").astype(float)
            continue
        values = train[col].dropna().astype(str).str.strip()
        values = values[(values != "") & ~values.str.lower().isin(MISSING_TEXT)]
        if values.empty or not values.str.contains(r"\d").mean() >= 0.95:
            continue
        if values.str.fullmatch(NUMBER_TEXT).mean() < 0.95:
            continue
        for frame in (train, test):
            if col in frame.columns:
                text = frame[col].astype("string").str.strip()
                negative = text.str.startswith("(") & text.str.endswith(")")
                number = pd.to_numeric(text.str.replace(r"[,$€£¥%()\s]", "", regex=True), errors="coerce")
                frame[col] = number.where(~negative.fillna(False), -number).astype(float)
    return train, test


def column_kinds(frame):
    """{column: numeric | categorical | high_card | text | datetime | drop} from the training rows."""
    n = len(frame)
    kinds = {}
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            kinds[col] = "numeric" if series.notna().any() and series.nunique() > 1 else "drop"
            continue
        values = series.dropna().astype(str)
        unique = values.nunique()
        if unique <= 1:
            kinds[col] = "drop"
        elif _looks_datetime(values):
            kinds[col] = "datetime"
        elif unique <= 50 or (unique <= 200 and unique <= n // 20):
            kinds[col] = "categorical"
        elif values.str.count(r"\s+").mean() >= 2.0:
            kinds[col] = "text"
        elif unique >= 0.9 * len(values):
            kinds[col] = "drop"  # an identifier: one value per row says nothing about new rows
        else:
            kinds[col] = "high_card"
    return kinds


class Data:
    """The task as a candidate sees it: features, target, classes, kinds and time order."""

    def __init__(self, C):
        self.C = C
        self.target, self.id_column = C["target"], C["id_column"]
        self.metric = C["metric"]
        self.classify = C["task_type"] == "classification"
        train = pd.read_csv("./input/train.csv")
        label = train[self.target]
        labelled = label.notna() & (label.astype(str).str.strip() != "")
        # rows without a label (Loom keeps them in train.csv) say nothing to a supervised model;
        # `row` in oof.csv counts the labelled rows only
        self.train = train[labelled].reset_index(drop=True)
        self.unlabelled = int((~labelled).sum())
        self.test = pd.read_csv("./input/test.csv")
        group = C.get("group_column")
        # test.csv holds groups train.csv never shows: a group's name can only memorise its rows
        self.groups = self.train[group].astype(str).to_numpy() if group in self.train.columns else None
        features = [c for c in self.train.columns if c not in (self.target, self.id_column, group)]
        if self.groups is None and C.get("copies"):  # identical rows, one group each: no fold grades a copy
            self.groups = pd.util.hash_pandas_object(self.train[features], index=False).to_numpy()
        self.X = self.train[features]
        self.X_test = self.test.reindex(columns=features)
        self.X, self.X_test = numbers_in_text(self.X.copy(), self.X_test)
        self.kinds = column_kinds(self.X)
        for col in [c for c, kind in self.kinds.items() if kind == "datetime"]:
            # read once, train and test alike: "05/01/2023" is 5 January where the column writes 13/01/2023
            first = day_first(pd.concat([self.X[col], self.X_test[col]]))
            self.X[col], self.X_test[col] = as_stamps(self.X[col], first), as_stamps(self.X_test[col], first)
        self.used = [c for c in features if self.kinds[c] != "drop"]
        if self.classify:
            self.y = self.train[self.target].map(canonical_label)
            seen = order_labels(self.y.unique())
            given = [str(c) for c in C.get("classes") or ()]
            self.classes = given + [c for c in seen if c not in given] if given else seen
            self.positive = C["positive"] if C.get("positive") in self.classes else positive_label(self.classes)
            self.binary = len(self.classes) == 2
        else:
            self.y = self.train[self.target].astype(float)
            self.classes, self.positive, self.binary = [], None, False
        self.threshold = None  # a thresholded metric's cut, chosen on out-of-fold predictions (scoring.py)
        time_col = C.get("time_column")
        self.time_column = time_col if time_col in self.train.columns else None

    def time_order(self):
        """Row positions in time order (None when the rows are not ordered by time)."""
        if self.time_column is None:
            return None
        stamps = self.train[self.time_column]
        if not pd.api.types.is_numeric_dtype(stamps):
            stamps = as_stamps(stamps, day_first(pd.concat([stamps, self.test.get(self.time_column, stamps[:0])])))
        return np.argsort(stamps.to_numpy(), kind="stable")

    def profile(self):
        """What the brain plans the ladder by (printed as one JSON line)."""
        counts = {}
        for kind in self.kinds.values():
            counts[kind] = counts.get(kind, 0) + 1
        out = {"rows": int(len(self.train)), "test_rows": int(len(self.test)), "features": len(self.used),
               "kinds": counts, "time_ordered": self.time_column is not None, "grouped": self.groups is not None}
        if self.unlabelled:
            out["unlabelled"] = self.unlabelled  # rows of train.csv without a label, left out
        if self.classify:
            sizes = self.y.value_counts()
            out.update(classes=len(self.classes), smallest_class=int(sizes.min()))
        else:
            y = self.y.dropna()
            out.update(positive=bool((y > 0).all()), nonnegative=bool((y >= 0).all()),
                       skew=round(float(y.skew()), 3) if len(y) > 2 else 0.0)
        return out
