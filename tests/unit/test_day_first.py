"""Numeric dates written day first ("13/01/2023") are read day first, by Loom and its candidates alike."""

from __future__ import annotations

import pandas as pd
import pytest

from loom.adapters.search.baseline_program import data as candidate
from loom.application.evaluation import frames

CASES = [
    (["05/01/2023", "13/01/2023", "28/02/2023"], True),  # the 13 and 28 can only be days
    (["01/05/2023", "01/13/2023", "02/28/2023"], False),  # month first, as pandas assumes
    (["01/02/2023", "03/04/2023"], False),  # ambiguous: pandas' default
    (["05.01.23 10:00", "31.12.22 08:30"], True),
    (["2023-01-05", "2023-01-13"], False),  # ISO: year first, nothing to decide
    ([None, "", "n/a"], False),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_loom_and_the_candidates_decide_alike(values, expected):
    assert frames.day_first(values) is expected
    assert candidate.day_first(values) is expected


def test_a_day_first_column_is_read_whole_not_half_swapped():
    s = pd.Series(["05/01/2023", "13/01/2023", "06/02/2023", "28/02/2023"])
    assert frames.as_datetime(s).dt.month.tolist() == [1, 1, 2, 2]
    assert candidate.as_stamps(s, candidate.day_first(s)).dt.day.tolist() == [5, 13, 6, 28]
