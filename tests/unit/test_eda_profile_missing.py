"""eda's profile counts values written for "no value" ("?", "n/a") as missing, as the candidates read them."""

from __future__ import annotations

import pandas as pd

from loom.adapters.mlops.metaflow.lifecycle.analysis.profile import profile
from loom.application.evaluation.frames import MISSING_TEXT


def test_question_marks_count_as_missing_and_are_named():
    train = pd.DataFrame({
        "age": ["39", "?", "50", "?", "38", "53", " - ", "37", "49", "52"],  # numbers with UCI's markers
        "work": ["Private", "Self", "?", "Private", "Private", "Self", "Private", "State", "Private", "Self"],
        "hours": [40, 13, 40, 40, 40, 16, 45, 50, 40, 40],
        "y": [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    })
    out = profile(train, target="y")
    by_name = {c["name"]: c for c in out["columns"]}
    assert by_name["age"]["missing_text"] == {"?": 2, "-": 1} and by_name["age"]["missing"] == 0.3
    assert out["missing"]["work"] == 0.1 and by_name["work"]["missing_text"] == {"?": 1}
    assert "missing_text" not in by_name["hours"] and out["missing"]["hours"] == 0.0


def test_the_baseline_candidates_read_the_same_markers_as_missing():
    from loom.adapters.search.baseline_program.data import MISSING_TEXT as CANDIDATES

    assert set(CANDIDATES) == set(MISSING_TEXT)
