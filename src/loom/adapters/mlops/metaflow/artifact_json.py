"""Artifact values as JSON: `loom show --json` gives JSON-native values in full (schemas, metrics,
manifests, plans) and summarises only frames and arrays (type, shape, dtypes, the first rows)."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import PurePath
from typing import Any

HEAD_ROWS = 5
_MAX_DEPTH = 50


def to_json(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of `value` (NaN and infinities become null: JSON has none)."""
    if depth > _MAX_DEPTH:
        return {"type": type(value).__name__, "repr": repr(value)[:200]}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"type": "bytes", "bytes": len(value)}
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    kind = type(value).__name__
    if hasattr(value, "dtypes") and hasattr(value, "columns") and hasattr(value, "head"):  # a DataFrame
        head = value.head(HEAD_ROWS)
        return {"type": kind, "shape": list(value.shape), "dtypes": {str(c): str(t) for c, t in value.dtypes.items()},
                "head": [to_json(dict(zip(map(str, head.columns), row)), depth + 1)
                         for row in head.itertuples(index=False, name=None)]}
    if hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "tolist"):
        if getattr(value, "shape", None) == ():  # a numpy scalar
            return to_json(value.item(), depth + 1)
        head = value[:HEAD_ROWS]
        return {"type": kind, "shape": list(value.shape), "dtype": str(value.dtype),
                "head": to_json(head.tolist(), depth + 1)}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):
        try:
            return to_json(value.item(), depth + 1)
        except (TypeError, ValueError):
            pass
    return {"type": kind, "repr": repr(value)[:200]}
