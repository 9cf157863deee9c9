"""Which column names a table's rows, from the header names alone (stdlib only: the ingest step
imports it). One rule for a run's task preparation and for `loom ingest`'s schema, so a pipeline
keeps the key a run would deliver the submission by (CustomerID, PassengerId, Listing ID, a
sample_submission.csv's key) rather than flagging it as a leak and dropping it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

ID_NAMES = ("id", "row_id", "customer_id", "customerid", "index")
#: How a key column's name ends: loan_id, PassengerId, Listing ID, order_no, OrderNumber, ticket nr.
ID_ENDINGS = re.compile(r"(?:[_ -](?:id|no|nr|num|number|key)|Id|ID|No|Nr|Num|Number|Key)$")


def infer_id(train: list[str], test: list[str] | None, sample: list[str] | None, target: str) -> str | None:
    """The id column by name: a sample_submission.csv's key, else a usual id name (`ID_NAMES`), else a
    first column named like a key (`ID_ENDINGS`); None when none is (the caller checks its values
    are unique: a first column `room_number` that repeats is a feature)."""
    if sample:  # the sample's column other than the target that train.csv or test.csv holds: its first
        keys = [c for c in sample if c != target and (c in train or (test and c in test))]
        if keys:
            return keys[0]
    names = test if test else train
    for col in names:
        if col.lower() in ID_NAMES and col != target:
            return col
    for first in dict.fromkeys(n[0] for n in (names, train) if n):  # test.csv's first column, then train.csv's
        named = bool(ID_ENDINGS.search(first)) or bool(ID_ENDINGS.search(first.lower()))
        if first != target and named and (not test or first in test):
            return first  # the usual layout: a key named like one (loan_id, PassengerId, order_no) comes first
    return None


_TIMEISH = ("time", "date", "day", "ts", "timestamp", "epoch", "step", "t", "year", "month", "week", "hour",
            "period", "seq", "sequence", "order", "rank")


def key_by_values(name: str, train: "pa.ChunkedArray", test: "pa.ChunkedArray") -> bool:
    """Whether a first column that is not named like an id still names rows: unique in train.csv and in
    test.csv, no test value ever seen in train, every value a whole number or a short code (no
    spaces, decimals, dates or times), and not named like a time (a running index is a feature)."""
    import pyarrow.compute as pc

    words = {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w}
    if words & set(_TIMEISH) or len(test) == 0:
        return False
    for values in (train, test):
        if pc.count_distinct(values).as_py() != len(values):
            return False
        if not pc.all(pc.match_substring_regex(values, r"^[A-Za-z0-9_#-]{1,40}$")).as_py():
            return False
        if pc.any(pc.match_substring_regex(values, r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")).as_py():
            return False  # dates
    return not pc.any(pc.is_in(test, value_set=train.combine_chunks())).as_py()
