"""The candidate script the baseline brain writes: one program, a JSON-like header per candidate.

The program lives as real modules in `baseline_program` (so tests import and check them); this
joins them, in order, behind `CANDIDATE = {...}` into one self-contained script (pandas +
scikit-learn, LightGBM when importable). The script reads ./input, cross-validates with the run's
metric, prints `Validation std (<name>): <std> over <k> folds` and `Validation metric (<name>):
<mean>`, refits on all rows and writes ./working/submission.csv, oof.csv and test_pred.csv.
"""

from __future__ import annotations

import json
import pprint
import re
from functools import cache
from pathlib import Path
from typing import Any

from loom.adapters.search.baseline_program import PARTS

_PROGRAM = Path(__file__).resolve().parent / "baseline_program"
_SIBLING = re.compile(r"^from loom\.adapters\.search\.baseline_program\.\w+ import [^\n(]+\n", re.M)


@cache
def program() -> str:
    """The program's text: every part, sibling imports dropped (one namespace in the script)."""
    return "\n\n".join(_SIBLING.sub("", (_PROGRAM / f"{part}.py").read_text(encoding="utf-8")) for part in PARTS)


def render(candidate: dict[str, Any]) -> str:
    """The full script for one candidate (`candidate` becomes the CANDIDATE literal)."""
    what = "ensemble" if candidate.get("mode") == "ensemble" else candidate["family"]
    header = (
        f'"""Loom baseline candidate: {what} {json.dumps(candidate.get("params", {}), sort_keys=True)}."""\n\n'
        f"CANDIDATE = {pprint.pformat(candidate, sort_dicts=True)}\n\n"
    )
    return header + program() + "\n\nmain(CANDIDATE)\n"
