"""Event tables -> token ids: field=value tokens, quantile buckets, stable ids, sorted sequences.

One event (a row) becomes one token per field: `field=value` for categoricals, `field=qB` (a
quantile bucket fitted on the data) for numerics, `field=<na>` for a missing value. Ids are
stable: reserved ids first (pad 0, unk 1, mask 2), then fields in name order, values in sorted
order, so the same data always gets the same ids whatever its row order. Everything is
vectorized with numpy/pandas (imported lazily by callers of these functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom.domain.errors import UsageError

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
RESERVED = (PAD, UNK, MASK)
NA = "<na>"

_ENTITY_NAMES = ("entity_id", "entity", "user_id", "customer_id", "account_id", "client_id",
                 "session_id", "device_id", "card_id", "id")
_TIME_NAMES = ("timestamp", "event_time", "time", "ts", "datetime", "date", "event_date")


@dataclass(frozen=True)
class EventColumns:
    """Which column is the entity, the clock, the label, and which ones become tokens."""

    entity: str
    time: str | None
    label: str | None
    fields: tuple[str, ...]


def detect_columns(df: Any, target: str | None, entity: str | None = None,
                   time: str | None = None) -> EventColumns:
    """Entity/time columns (explicit or by name), the label (the dataset target), the fields."""
    import pandas as pd

    cols = [str(c) for c in df.columns]
    lower = {c.lower(): c for c in cols}
    for name, given in (("entity", entity), ("time", time)):
        if given and given not in cols:
            raise UsageError(f"--{name} column '{given}' is not in the dataset; columns: {', '.join(cols)}")
    if not entity:
        entity = next((lower[n] for n in _ENTITY_NAMES if n in lower), None)
        entity = entity or next((c for c in cols if c.lower().endswith("_id") and c != target), None)
    if not entity:
        raise UsageError("cannot tell which column identifies the entity", hint="pass --entity COLUMN")
    if len(df) > 1 and df[entity].nunique(dropna=False) == len(df):
        raise UsageError(f"'{entity}' names every row once: no entity has a sequence of events to learn from (a "
                         f"table of one row per entity is what `loom run` models)",
                         hint="pass --entity COLUMN naming the column that rows of one entity share")
    if not time:
        time = next((lower[n] for n in _TIME_NAMES if n in lower), None)
        time = time or next((c for c in cols if pd.api.types.is_datetime64_any_dtype(df[c])), None)
    label = target if target and target in cols else None
    skip = {entity, time, label}
    n = len(df)
    fields = []
    for c in sorted(cols):
        if c in skip:
            continue
        s = df[c].iloc[:50_000]  # a sample is enough to spot a per-row id
        if not _is_numeric(s) and len(s) > 20 and s.nunique(dropna=True) > 0.5 * len(s):
            continue  # a per-row id (event_id, free text): no reusable token
        fields.append(c)
    if not fields:
        raise UsageError("the dataset has no event fields besides the entity, time and label columns")
    return EventColumns(entity=entity, time=time, label=label, fields=tuple(fields))


def _is_numeric(s: Any) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def fit_tokenizer(df: Any, columns: EventColumns, n_buckets: int, max_categories: int) -> dict[str, Any]:
    """The tokenizer state (JSON-safe): per field either sorted values or quantile edges."""
    import numpy as np
    import pandas as pd

    fields: list[dict[str, Any]] = []
    for name in columns.fields:
        s = df[name]
        if _is_numeric(s) and s.nunique(dropna=True) > n_buckets:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
            x = x[np.isfinite(x)]
            qs = np.linspace(0.0, 1.0, n_buckets + 1)[1:-1]
            edges = np.unique(np.quantile(x, qs)) if x.size else np.array([])
            fields.append({"name": name, "kind": "num", "edges": [float(e) for e in edges]})
            continue
        codes, uniques = pd.factorize(s, sort=False)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        labels = np.array([str(u) for u in uniques], dtype=object)
        # most frequent first (ties by value), capped; then stored in sorted order (stable ids)
        order = sorted(range(len(labels)), key=lambda i: (-int(counts[i]), labels[i]))[:max_categories]
        fields.append({"name": name, "kind": "cat", "values": sorted(str(labels[i]) for i in order)})
    return {"fields": fields, "n_buckets": n_buckets, "max_categories": max_categories}


def vocabulary(state: dict[str, Any]) -> list[str]:
    """Token strings in id order: reserved, then per field (name order) its tokens."""
    tokens = list(RESERVED)
    for f in state["fields"]:
        if f["kind"] == "num":
            tokens += [f"{f['name']}=q{b}" for b in range(len(f["edges"]) + 1)]
        else:
            tokens += [f"{f['name']}={v}" for v in f["values"]]
        tokens.append(f"{f['name']}={NA}")
    return tokens


def transform(df: Any, state: dict[str, Any]) -> Any:
    """int32 token matrix (rows = events, one column per field). Unseen values -> [UNK]."""
    import numpy as np
    import pandas as pd

    out = np.empty((len(df), len(state["fields"])), dtype=np.int32)
    offset = len(RESERVED)
    for j, f in enumerate(state["fields"]):
        if f["name"] not in df.columns:
            raise UsageError(f"the dataset has no column '{f['name']}' that this backbone was built on")
        s = df[f["name"]]
        if f["kind"] == "num":
            edges = np.asarray(f["edges"], dtype="float64")
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
            ids = offset + np.searchsorted(edges, x, side="right")
            na_id = offset + len(edges) + 1
            ids = np.where(np.isnan(x), na_id, ids)
        else:
            codes, uniques = pd.factorize(s, sort=False)
            index = pd.Index(f["values"])
            local = index.get_indexer(pd.Index([str(u) for u in uniques]))
            mapped = np.where(local >= 0, offset + local, 1)  # unseen -> [UNK]
            na_id = offset + len(f["values"])
            ids = np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else 1, na_id)
        out[:, j] = ids
        offset = na_id + 1
    return out


@dataclass
class Sequences:
    """Events sorted by (entity, time): token matrix, entity code per event, entity ids."""

    tokens: Any  # int32 (n_events, n_fields)
    entity: Any  # int64 entity code per event, non-decreasing
    entity_ids: Any  # object array: entity code -> original id (sorted)
    labels: Any | None  # per-entity label (object/float array) or None
    order: Any  # row order applied to the source frame
    entity_rows: Any = None  # entity code per row of the source frame (unsorted)

    @property
    def n_entities(self) -> int:
        return len(self.entity_ids)

    def starts(self) -> Any:
        import numpy as np

        return np.searchsorted(self.entity, np.arange(self.n_entities), side="left")


def sequences(df: Any, columns: EventColumns, state: dict[str, Any]) -> Sequences:
    """Tokenize and sort events per entity by time (stable: ties keep row order)."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(df[columns.entity], sort=False)
    if (codes < 0).any():
        raise UsageError(f"the entity column '{columns.entity}' has missing values")
    rank = np.argsort(np.asarray(uniques, dtype=object).astype(str), kind="stable")  # ids in sorted order
    remap = np.empty_like(rank)
    remap[rank] = np.arange(len(rank))
    ent_codes = remap[codes].astype(np.int64)
    ent_ids = np.asarray(uniques, dtype=object)[rank]
    keys = [ent_codes]
    if columns.time:
        keys.insert(0, _time_key(df[columns.time]))
    order = np.lexsort(keys)
    tokens = transform(df, state)[order]  # tokenize in place, then reorder the small int matrix
    ent = ent_codes[order]
    labels = None
    if columns.label:
        raw = pd.Series(df[columns.label].to_numpy()[order])
        # the entity's first known label (events without one, e.g. from a test split, skip)
        labels = raw.groupby(ent).first().reindex(range(len(ent_ids))).to_numpy()
    return Sequences(tokens=tokens, entity=ent, entity_ids=ent_ids, labels=labels, order=order,
                     entity_rows=ent_codes)


def _time_key(s: Any) -> Any:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").fillna(np.inf).to_numpy(dtype="float64")
    if pd.api.types.is_datetime64_any_dtype(s):
        ts = s
    else:
        try:
            ts = pd.to_datetime(s, errors="raise", utc=True, format="ISO8601")
        except (ValueError, TypeError):
            ts = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    return ts.to_numpy(dtype="datetime64[ns]").astype("int64")
