"""What flows store: tables as Parquet bytes that unpickle to DataFrames, cards rendered in the step."""

from __future__ import annotations

import base64
import pickle
import re

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("metaflow")

from loom.adapters.mlops.metaflow import tabular as tb  # noqa: E402
from loom.adapters.shared.metaflow_card import StepCard  # noqa: E402


def _frame(n: int = 1000) -> "pd.DataFrame":
    return pd.DataFrame({
        "id": range(n), "x": [i / 7 for i in range(n)], "colour": [("red", "blue", None)[i % 3] for i in range(n)],
        "when": pd.date_range("2026-01-01", periods=n, freq="h"), "flag": [i % 2 == 0 for i in range(n)],
        "cat": pd.Categorical([("a", "b")[i % 2] for i in range(n)]),
    })


def test_a_stored_table_unpickles_to_the_same_dataframe_with_pandas_alone() -> None:
    df = _frame()
    stored = tb.for_storage(df)
    assert isinstance(stored, tb.ParquetFrame)
    blob = pickle.dumps(stored)
    assert b"loom" not in blob  # a reader needs pandas + pyarrow, not Loom
    back = pickle.loads(blob)
    pd.testing.assert_frame_equal(back, df)
    assert tb.fingerprint({"train": back}) == tb.fingerprint({"train": df})
    assert len(blob) < len(pickle.dumps(df)) * 0.8  # smaller than the pickled frame Metaflow would gzip


def test_tables_parquet_cannot_hold_exactly_are_stored_as_frames() -> None:
    mixed = pd.DataFrame({"a": [1, "x", 2.5]})  # an object column of mixed types
    assert tb.for_storage(mixed) is mixed
    numbered = pd.DataFrame({0: [1, 2], 1: [3, 4]})  # non-string column names
    assert tb.for_storage(numbered) is numbered
    assert tb.for_storage(None) is None


def test_a_step_card_is_metaflows_blank_card_with_the_components() -> None:
    from metaflow.cards import Markdown, PythonCode, Table

    card = StepCard("candidate")
    card.append(Markdown("# Candidate `n1` · **metric** 0.81"))
    card.append(Table([["a", 1]], headers=["column", "value"]))
    card.append(PythonCode(code_string="print('hello')"))
    html = card.render("CandidateRun/1/start/2")
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert "[METAFLOW_RELOAD_TOKEN]" not in html  # the final card, as `card create` leaves it
    blobs = re.findall(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', html)
    data = "".join(base64.b64decode(b).decode("utf-8") for b in blobs)
    assert "Candidate `n1`" in data and "print('hello')" in data and "CandidateRun/1/start/2" in data
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)  # self-contained


def test_a_broken_component_is_left_out_not_fatal() -> None:
    from metaflow.cards import Markdown

    class Broken:
        def render(self) -> dict:
            raise RuntimeError("no")

    card = StepCard("x")
    card.append(Broken())
    card.append(Markdown("still here"))
    assert "still here" in "".join(base64.b64decode(b).decode() for b in re.findall(
        r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', card.render("F/1/start/1")))
    assert card.save() is None  # outside a running task: one stderr line, no exception
