"""Which column is which in a user's train.csv / test.csv: the target, the id, the time column.

Decided from the header names (and, for dates, the first rows as text) before any full read, so a
wrong guess is one line naming the flag that fixes it (--target, --time-column). Only pyarrow;
pandas loads only for a column that might hold dates in a format pyarrow cannot parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.application.id_column import infer_id, key_by_values  # noqa: F401  (task preparation's id, as ingest's)
from loom.application.run_search import sealing
from loom.domain.errors import UsageError
from loom.domain.wording import plural

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa



def infer_target(train: list[str], test: list[str] | None, sample: list[str] | None, explicit: str | None) -> str:
    if explicit is not None:
        if explicit not in train:
            raise UsageError(f"--target '{explicit}' is not a column of train.csv; columns: {', '.join(train[:12])}")
        return explicit
    if sample is not None:
        # the sample's columns that test.csv lacks (its id comes first, usually, but not always)
        asked = [c for c in (sample if test is not None else sample[1:]) if c in train and (test is None or c not in test)]
        if len(asked) > 1:
            raise UsageError(
                f"sample_submission.csv asks for {len(asked)} target columns ({', '.join(asked[:5])}); a run predicts "
                f"one target: run once per target with --target {asked[0]} (then --target {asked[1]}, ...) and join "
                f"the submissions on the id")
        if asked:
            return asked[0]
    if test is not None:
        extra = [c for c in train if c not in test]
        if len(extra) == 1:
            return extra[0]
        if len(extra) > 1:
            raise UsageError(
                f"cannot tell the target: train.csv has {plural(len(extra), 'column')} test.csv lacks "
                f"({', '.join(extra[:5])}); pass --target COL or add sample_submission.csv with the id and target columns"
            )
    if len(train) < 2:
        raise UsageError("train.csv needs at least one feature column and a target column")
    return train[-1]


def _named(flag: str, explicit: str, names: list[str]) -> str | None:
    """The column a flag names ("none" turns its detection off); exit 2 when there is no such column."""
    if explicit.strip().lower() == "none":
        return None
    if explicit not in names:
        raise UsageError(f"{flag} '{explicit}' is not a column of train.csv; columns: {', '.join(names[:12])}")
    return explicit


def group_column(names: list[str], sample: "pa.Table", test: "pa.Table | None", read_train: Any,
                 explicit: str | None) -> str | None:
    """--group-column (or "none"), else the column test.csv splits off by: its values repeat in
    train.csv (at least 20 groups, 1.4+ rows each) and test.csv's rows (99%+) hold only values
    train.csv never shows, as when the test rows are new patients, customers or sites. Checked on
    the screen's sample first, then on the whole train column (`read_train(name)`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if explicit is not None:
        return _named("--group-column", explicit, names)
    if test is None or test.num_rows == 0:
        return None

    def grouped(values: "pa.Array", unseen: float) -> bool:
        groups = pc.count_distinct(values).as_py()
        if groups < 20 or groups > len(values) / 1.4:
            return False
        seen = pc.is_in(pc.utf8_trim_whitespace(test.column(name)), value_set=pc.unique(values))
        return pc.mean(pc.cast(seen, pa.int8())).as_py() <= 1 - unseen

    for name in names:
        if name not in sample.column_names or name not in test.column_names:
            continue
        if grouped(pc.utf8_trim_whitespace(sample.column(name)), 0.95) and \
                grouped(pc.utf8_trim_whitespace(read_train(name)), 0.99):
            return name
    return None


def time_column(names: list[str], target: str, id_col: str | None, explicit: str | None, head: Any) -> str | None:
    """--time-column (or `none`), else the first column that reads as dates in `head` (the first
    rows, as text): `frames.time_columns`, the definition eda and ingest use, over the columns
    that can pass it (named like a time, or ISO dates), so pandas loads only when one can."""
    if explicit is not None:
        return _named("--time-column", explicit, names)
    import pyarrow.compute as pc

    from loom.application.evaluation import frames

    candidates = []
    for name in head.column_names:
        if name in (target, id_col):
            continue
        values = head.column(name)
        values = values.filter(pc.not_equal(values, "")).slice(0, 200)
        if len(values) and _numeric(values):  # pandas reads it as numbers: never a time column (frames.py)
            continue
        named = any(h in name.lower() for h in frames.TIME_HINTS)
        if len(values) and (named or pc.mean(pc.cast(pc.match_substring_regex(values, frames.ISO_DATE), "int8")).as_py() > 0.95):
            candidates.append(name)
    if not candidates:
        return None
    found = frames.time_columns(sealing.frame(head.select(candidates)))
    return found[0] if found else None


#: Share of test.csv's dated rows that must come after train.csv's median time for a found date
#: column to order the task (a random test sample puts about half there; a later period, all).
LATER_SHARE = 0.9


def test_is_later(column: str, train_times: "np.ndarray", test: "pa.Table | None") -> str | None:
    """None when test.csv's rows come after train.csv's in `column` (or there is no test.csv to
    tell); else why sealing train.csv's latest rows would not stand for test.csv: a date of birth,
    a signup date, any date the test rows share with the training rows. Found columns only (an
    explicit --time-column is the user's call)."""
    import numpy as np

    if test is None or column not in test.column_names or not test.num_rows:
        return None
    later = times(test.column(column), column, explicit=False)
    known = train_times[~np.isnat(train_times)]
    if later is None or not len(known):
        return None
    later = later[~np.isnat(later)].astype("int64")
    share = float((later > np.median(known.astype("int64"))).mean()) if len(later) else 0.0
    if share >= LATER_SHARE:
        return None
    return (f"'{column}' reads as dates, but test.csv's are not later than train.csv's ({share:.0%} of them fall after "
            f"train.csv's median): rows were sealed at random, not by time (--time-column {column} forces a time split)")


def _numeric(values: "pa.ChunkedArray | pa.Array") -> bool:
    """Every value parses as a number (so pandas types the column numeric; no pandas import here)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def row_numbering(train_names: list[str], test: "pa.Table | None", read_train: Any, id_col: str | None) -> str | None:
    """The first column when all it does is number the rows of each file: 0..n-1 (or 1..n) down
    train.csv and again from 0 (or 1) down test.csv, as `DataFrame.to_csv()` writes the index when
    `index=False` is forgotten. Where a row sits in its file says nothing about it, and a train.csv
    sorted by anything (the target, a date) turns it into a perfect predictor that test.csv does not
    follow. Never the id: a numbering that restarts joins no row across the files."""
    if test is None or not train_names or train_names[0] == id_col or train_names[0] not in test.column_names:
        return None
    first = train_names[0]
    if not _counts_rows(test.column(first)):
        return None
    return first if _counts_rows(read_train(first)) else None


def _counts_rows(values: "pa.ChunkedArray | pa.Array") -> bool:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        ints = pc.cast(pc.utf8_trim_whitespace(values), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    if not len(ints) or ints.null_count:
        return False
    numbers = (ints.combine_chunks() if isinstance(ints, pa.ChunkedArray) else ints).to_numpy(zero_copy_only=False)
    return bool(numbers[0] in (0, 1) and (np.diff(numbers) == 1).all())


def times(values: "pa.ChunkedArray | pa.Array", column: str, *, explicit: bool) -> "np.ndarray | None":
    """Text -> datetime64[ns] (NaT when unparsed); ISO dates by pyarrow, anything else by pandas.
    None when under half of the values read as dates (UsageError for an explicit --time-column)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(values)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        parsed = pc.cast(text, pa.timestamp("ns")).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import pandas as pd

        from loom.application.evaluation import frames

        raw = pd.Series(text.to_pylist(), dtype=object)
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed", dayfirst=frames.day_first(raw),
                                utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    ok = float((~np.isnat(parsed)).mean()) if len(parsed) else 0.0
    if ok < 0.5:
        if explicit:
            raise UsageError(f"--time-column '{column}': only {ok:.0%} of its values read as dates")
        return None
    return parsed


def unseen_levels(names: list[str], sample: "pa.Table", test: "pa.Table | None", read_train: Any,
                  skip: tuple[str | None, ...] = ()) -> dict[str, str]:
    """{column: one sentence} for each category column whose values in test.csv are new in 5% to 99% of its rows
    (from 99% the test rows are new groups, sealed as such: `group_column`). The sealed rows come
    from train.csv, so the estimate speaks for known values only. A category column: text that is
    not numbers, with at most one distinct value per two training rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if test is None or test.num_rows == 0:
        return {}
    out = {}
    for name in names:
        if name in skip or name not in sample.column_names or name not in test.column_names:
            continue
        values = pc.utf8_trim_whitespace(sample.column(name)).drop_null()
        values = values.filter(pc.not_equal(values, ""))
        if not len(values) or _numeric(values) or pc.count_distinct(values).as_py() > len(values) / 2:
            continue
        if pc.mean(pc.cast(pc.match_substring_regex(values, r"\d[-/.]\d{1,2}[-/.]\d"), pa.int8())).as_py() > 0.9:
            continue  # dates: a later day is new by nature, not a category the model never met
        asked = pc.utf8_trim_whitespace(test.column(name)).drop_null()
        asked = asked.filter(pc.not_equal(asked, ""))
        if not len(asked):
            continue
        known = pc.unique(pc.utf8_trim_whitespace(read_train(name)))  # the whole column: a sample misses rare values
        new = pc.invert(pc.is_in(asked, value_set=known))
        share = pc.mean(pc.cast(new, pa.int8())).as_py() or 0.0
        if 0.05 <= share < 0.99:
            levels = pc.unique(asked.filter(new))
            out[name] = (f"column '{name}': {share:.0%} of test.csv's rows ({pc.sum(new).as_py():,}) hold values train.csv "
                       f"never shows ({len(levels):,}, e.g. '{levels[0].as_py()}'); the sealed rows come from "
                       "train.csv, so the estimate speaks for rows with known values: expect worse on the others")
    return out
