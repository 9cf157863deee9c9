"""Deterministic default replies of the fake LLM (see tests/fakes/llm_server.py).

- `default_text(req)`: a code reply (markdown ```python block with a tiny, valid, stdlib-only
  solution script) when the prompt asks for code, else a fixed sentence.
- `default_tool_args(schema, req)`: arguments that match a JSON schema. For AIDE's judge
  (`submit_review`: is_bug, summary, metric, lower_is_better) it reads the execution output in
  the prompt: `is_bug` is true when it holds a traceback, `metric` is the last
  "validation metric: X" printed, `lower_is_better` follows the metric's name.
"""

from __future__ import annotations

import re
from typing import Any

PLAIN_TEXT = "This is a deterministic reply from the fake LLM."

# A generic tabular solution: reads train.csv/test.csv from ./input (AIDE's layout) or ./,
# predicts the majority class (classification) or the mean (regression), prints the holdout
# metric and writes ./submission/submission.csv. Stdlib only, so it runs anywhere in ~50 ms.
SOLUTION_SCRIPT = '''\
import csv
import math
from collections import Counter
from pathlib import Path


def find(name):
    for folder in ("input", ".", "data"):
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def read(path):
    if path is None:
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


train = read(find("train.csv"))
test = read(find("test.csv"))
sample = read(find("sample_submission.csv"))
columns = list(train[0].keys())
test_columns = list(test[0].keys()) if test else []
candidates = [c for c in columns if c not in test_columns] or columns[-1:]
if sample:
    candidates = [c for c in list(sample[0].keys())[1:] if c in columns] or candidates
target = candidates[-1]
values = [row[target] for row in train]


def as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


numeric = all(as_float(v) is not None for v in values)
regression = numeric and len(set(values)) > 10
cut = max(1, int(len(train) * 0.8))
fit, hold = values[:cut], values[cut:] or values[:1]
if regression:
    mean = sum(as_float(v) for v in fit) / len(fit)
    rmse = math.sqrt(sum((as_float(v) - mean) ** 2 for v in hold) / len(hold))
    prediction = repr(mean)
    print(f"Validation metric (rmse): {rmse:.6f}")
else:
    prediction = Counter(fit).most_common(1)[0][0]
    accuracy = sum(v == prediction for v in hold) / len(hold)
    print(f"Validation metric (accuracy): {accuracy:.6f}")

id_column = (list(sample[0].keys())[0] if sample else (test_columns[0] if test_columns else "id"))
out = Path("submission")
out.mkdir(exist_ok=True)
with open(out / "submission.csv", "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow([id_column, target])
    for index, row in enumerate(test):
        writer.writerow([row.get(id_column, index), prediction])
'''

CODE_REPLY = (
    "Plan: a baseline that predicts the majority class (or the mean for regression), "
    "reports the holdout metric and writes the submission.\n\n"
    "```python\n" + SOLUTION_SCRIPT + "```\n"
)

_CODE_HINTS = re.compile(r"```|\bcode\b|\bpython\b|\bimplement|\bscript\b", re.IGNORECASE)
_METRIC = re.compile(r"validation metric[^0-9\-\n]*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)", re.IGNORECASE)
_LOWER_BETTER = re.compile(r"\b(rmse|mse|mae|log[_ ]?loss|lower is better)\b", re.IGNORECASE)


def wants_code(prompt: str) -> bool:
    """True when the prompt asks for code (AIDE's draft/improve/debug prompts all do)."""
    return bool(_CODE_HINTS.search(prompt or ""))


def default_text(prompt: str) -> str:
    return CODE_REPLY if wants_code(prompt) else PLAIN_TEXT


def default_tool_args(schema: dict[str, Any], prompt: str = "") -> dict[str, Any]:
    """Arguments matching `schema` (an object schema), filled from the prompt where it helps."""
    value = _value(schema or {"type": "object"}, prompt, name="")
    return value if isinstance(value, dict) else {"value": value}


def _value(schema: dict[str, Any], prompt: str, name: str) -> Any:
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    lname = name.lower()
    if kind == "object":
        props = schema.get("properties", {}) or {}
        return {key: _value(sub or {}, prompt, key) for key, sub in props.items()}
    if kind == "array":
        return [_value(schema.get("items", {}) or {"type": "string"}, prompt, name)]
    if kind == "boolean":
        if "bug" in lname or "error" in lname:
            return "Traceback (most recent call last)" in prompt
        if "lower" in lname:
            return bool(_LOWER_BETTER.search(prompt))
        return False
    if kind in ("number", "integer"):
        if "metric" in lname or "score" in lname:
            found = _METRIC.findall(prompt)
            if found:
                number = float(found[-1])
                return int(number) if kind == "integer" else number
        return 1 if kind == "integer" else 0.5
    if kind == "null":
        return None
    if "summary" in lname:
        return "The code ran; the fake LLM reviewed it deterministically."
    return f"fake {name or 'value'}"
