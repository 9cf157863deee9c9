"""A run warns when many test rows hold category values train.csv never shows (columns.unseen_levels)."""

from __future__ import annotations

import pyarrow as pa

from loom.application.run_search.columns import unseen_levels


def _table(**columns: list[str]) -> pa.Table:
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def test_new_cities_in_a_third_of_test_are_named_with_their_share():
    train = _table(city=["Paris", "Lyon", "Nice", "Lille"] * 50, dist=[str(i) for i in range(200)],
                   day=[f"2023-01-{1 + i % 28:02d}" for i in range(200)])
    test = _table(city=["Paris", "Lyon", "Oslo"] * 30, dist=[str(1000 + i) for i in range(90)],
                  day=[f"2024-02-{1 + i % 28:02d}" for i in range(90)])
    (note,) = unseen_levels(["city", "dist", "day"], train, test, lambda name: train.column(name)).values()
    assert note.startswith("column 'city': 33% of test.csv's rows (30) hold values train.csv never shows (1, e.g. 'Oslo')")


def test_a_few_new_values_or_all_new_groups_are_not_warned_here():
    train = _table(shop=[f"s{i % 40}" for i in range(400)])
    few = _table(shop=[f"s{i % 40}" for i in range(97)] + ["s99"] * 3)  # 3%
    all_new = _table(shop=[f"n{i % 30}" for i in range(100)])  # new groups: sealed as groups instead
    for test in (few, all_new):
        assert unseen_levels(["shop"], train, test, lambda name: train.column(name)) == {}
