"""Numbers a spreadsheet exports formatted, with thousands separators ("1,234,567.50", quoted in a
comma-separated file), are read as numbers with a note. Before, a target written so was exit 2
("needs a numeric target; 'salary' holds text"), and a feature was text to every candidate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loom.application import dialect
from loom.application.run_search import task_prep
from loom.domain.metrics import parse_metric

HANDED = "; the candidates get it as UTF-8 comma-separated CSV"


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    salary = np.round(np.exp(9 + rng.normal(size=n)), 2)
    return pd.DataFrame({"id": range(n), "income": [f"{v:,.0f}" for v in salary * 3],
                         "code": [f"{i % 7},{i % 5:03d}" if i % 2 else "x" for i in range(n)],  # not numbers: kept
                         "salary": [f"{v:,.2f}" for v in salary]}), salary


def test_formatted_numbers_are_read_as_numbers_and_said(tmp_path: Path) -> None:
    frame, salary = _frame()
    src = tmp_path / "d"
    src.mkdir()
    frame.iloc[:150].to_csv(src / "train.csv", index=False)
    frame.iloc[150:].drop(columns="salary").to_csv(src / "test.csv", index=False)
    assert '"' in (src / "train.csv").read_text()  # the CSV quotes "1,234": its separator is a comma
    out = task_prep.plain_source(src, tmp_path / "plain")
    assert out.notes == ["train.csv was read, with thousands separators in income, salary (read as numbers)" + HANDED,
                         "test.csv was read, with thousands separators in income (read as numbers)" + HANDED]
    back = pd.read_csv(out.path / "train.csv")
    assert np.allclose(back["salary"], salary[:150]) and back["income"].dtype.kind in "if"
    assert back["code"].tolist() == frame["code"].iloc[:150].tolist()
    prep = task_prep.prepare_task(out.path, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("Minimize RMSLE"), seed=0)
    assert prep.task.target == "salary" and prep.task.task_type == "regression"


def test_the_ingest_step_reads_them_so_too(tmp_path: Path) -> None:
    frame, salary = _frame()
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    copy, note = dialect.plain_text(path, tmp_path / "plain")
    assert copy == tmp_path / "plain" / "train.csv"
    assert note == "train.csv was read, with thousands separators in income, salary (read as numbers)"
    assert np.allclose(pd.read_csv(copy)["salary"], salary)


def test_tables_without_them_stay_the_users_own(tmp_path: Path) -> None:
    frame, _ = _frame()
    plain = tmp_path / "d"
    plain.mkdir()
    frame.drop(columns=["income", "salary", "code"]).assign(y=1.5).to_csv(plain / "train.csv", index=False)
    assert dialect.plain_text(plain / "train.csv", tmp_path / "p") == (plain / "train.csv", None)
    assert task_prep.plain_source(plain, tmp_path / "plain").path == plain
    semi = tmp_path / "semi.csv"  # ';' files: "1,234" there is a decimal comma, `numbers_written.decimal_commas`' business
    semi.write_text("id;x;y\n1;1,234;2\n2;2,5;3\n3;4,75;1\n", encoding="utf-8")
    out = dialect.normalize(semi, tmp_path / "plain2")
    assert pd.read_csv(out.path)["x"].tolist() == [1.234, 2.5, 4.75]
