"""A date column seals the latest rows only when test.csv is a forecast (its dates come after
train.csv's). Test rows drawn across the same span get sealed rows drawn the same way, so the
estimate speaks for rows like the ones the user will predict; `--time-column` always seals by time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.application.run_search import columns, task_prep
from loom.domain.metrics import parse_metric


def _days(n: int, start: int, span: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = rng.integers(start, start + span, n)
    x = rng.normal(size=n)
    return pd.DataFrame({"id": np.arange(n) + 10_000 * seed,
                         "date": (pd.Timestamp("2022-01-01") + pd.to_timedelta(day, "D")).strftime("%Y-%m-%d"),
                         "x": x.round(4), "y": (0.01 * day + x).round(4)})


def _prepare(tmp: Path, train: pd.DataFrame, test: pd.DataFrame, **kw) -> task_prep.Prepared:
    data = tmp / "d"
    data.mkdir()
    train.sort_values("date").to_csv(data / "train.csv", index=False)
    test.drop(columns="y").to_csv(data / "test.csv", index=False)
    return task_prep.prepare_task(data, tmp / "task", tmp / "sealed", goal="g", metric=parse_metric("Minimize RMSE"),
                                  seed=0, **kw)


def _sealed_dates(tmp: Path, train: pd.DataFrame) -> pd.Series:
    ids = pd.concat([pd.read_csv(tmp / "sealed" / f"{s}.csv")["id"] for s in ("selection", "final")])
    return pd.to_datetime(train.set_index("id").loc[ids, "date"])


def test_test_rows_later_than_train_seal_the_latest(tmp_path: Path) -> None:
    train, test = _days(600, 0, 300, 0), _days(100, 300, 30, 1)
    prep = _prepare(tmp_path, train, test)
    assert prep.split["kind"] == "time" and prep.split["time_column"] == "date" and prep.task.time_column == "date"
    sealed = _sealed_dates(tmp_path, train)
    kept = pd.to_datetime(pd.read_csv(tmp_path / "task" / "input" / "train.csv")["date"])
    assert sealed.min() >= kept.max()  # every sealed row is later than every row the candidates train on
    assert not prep.notes


def test_test_rows_across_the_same_span_seal_rows_across_it_and_say_why(tmp_path: Path) -> None:
    train, test = _days(600, 0, 300, 0), _days(100, 0, 300, 1)
    prep = _prepare(tmp_path, train, test)
    assert prep.split["kind"] == "random" and prep.split["time_column"] is None and prep.task.time_column is None
    sealed = _sealed_dates(tmp_path, train)
    kept = pd.to_datetime(pd.read_csv(tmp_path / "task" / "input" / "train.csv")["date"])
    assert sealed.min() < kept.median() < sealed.max()  # drawn across time, like test.csv's rows
    assert prep.notes == ["'date' reads as dates, but 100% of test.csv's fall within train.csv's: the sealed rows "
                          "are drawn across time like the test rows, not the latest (--time-column date seals "
                          "the latest)"]


def test_an_explicit_time_column_always_seals_the_latest(tmp_path: Path) -> None:
    train, test = _days(600, 0, 300, 0), _days(100, 0, 300, 1)
    prep = _prepare(tmp_path, train, test, time_column="date")
    assert prep.split["kind"] == "time" and not prep.notes


@pytest.mark.parametrize(("test_days", "expected"), [((0, 10), 1.0), ((295, 10), 0.5), ((300, 10), 0.0)])
def test_share_within_counts_test_dates_up_to_the_latest_train_date(test_days: tuple[int, int], expected: float) -> None:
    base = np.datetime64("2022-01-01")
    train = base + np.arange(0, 300).astype("timedelta64[D]")
    test = base + np.arange(test_days[0], sum(test_days)).astype("timedelta64[D]")
    assert columns.share_within(train.astype("datetime64[ns]"), test.astype("datetime64[ns]")) == pytest.approx(expected)
    assert columns.share_within(train.astype("datetime64[ns]"), None) is None
    assert columns.share_within(train.astype("datetime64[ns]"), np.array(["NaT"], dtype="datetime64[ns]")) is None
