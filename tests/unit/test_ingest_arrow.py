"""The Arrow-first ingest step stores what the pandas step stored: same frames, schema, split.

`_old_step` is a frozen copy of IngestDataset's start step as it was before the Arrow path (pandas
throughout, through tabular's pandas functions); every case compares `ingest_prep.prepare` with it.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

from loom.adapters.mlops.metaflow import arrow_columns as ac  # noqa: E402
from loom.adapters.mlops.metaflow import ingest_prep as ip  # noqa: E402
from loom.adapters.mlops.metaflow import tabular as tb  # noqa: E402
from loom.adapters.mlops.metaflow import tabular_arrow as ta  # noqa: E402


def _old_step(files: dict[str, Path], target: str | None = None, seed: int = 0, fraction: float = 0.2,
              time_column: str | None = None) -> dict[str, Any]:
    """IngestDataset.start before the Arrow path (the step's own lines, minus Metaflow)."""
    tables = {key: tb.read_table(path) for key, path in files.items()}
    labels, split = None, {"kind": "given"}
    if "single" in tables:
        whole = tables.pop("single")
        target = tb.infer_target(whole, None, None, target)
        time_col = tb.time_column(whole, target, tb.id_columns(whole, target), time_column)
        train, test, labels = tb.split(whole, target, fraction, seed, time_col)
        split = {"kind": "time" if time_col else "random", "time_column": time_col, "test_fraction": fraction,
                 "seed": seed}
        sample = None
    else:
        train, test, sample = tables["train"], tables.get("test"), tables.get("sample_submission")
        target = tb.infer_target(train, test, sample, target)
    ids = tb.id_columns(train, target)
    kind = tb.task_type(train[target] if target else None)
    schema = tb.schema_of(train, test, target, ids, kind)
    with ThreadPoolExecutor(max_workers=2) as pool:
        stored = list(pool.map(tb.for_storage, (train, test, sample, labels)))
    return {"stored": stored, "schema": schema, "split": split}


def _back(value: Any) -> Any:
    """What a Client reads back from an artifact (Metaflow pickles it)."""
    return None if value is None else pickle.loads(pickle.dumps(value, protocol=4))


def _same(files: dict[str, Path], path: str = "arrow", **kw: Any) -> ip.Prepared:
    old = _old_step(files, **kw)
    new = ip.prepare(files, target=kw.get("target"), seed=kw.get("seed", 0), test_fraction=kw.get("fraction", 0.2),
                     time_column=kw.get("time_column"))
    assert new.path == path
    for name, before, after in zip(("train", "test", "sample_submission", "test_labels"), old["stored"], new.stored):
        before, after = _back(before), _back(after)
        assert (before is None) == (after is None), name
        if before is not None:
            pd.testing.assert_frame_equal(after, before, obj=name)  # values, dtypes, index, column names
    assert new.schema == old["schema"]  # column dtype strings, rows, target, id_columns, task_type
    assert new.split == old["split"]
    return new


def _rows(n: int, row: Any) -> str:
    return "".join(row(i) for i in range(n))


CSVS = {
    "ints.csv": "id,a,y\n" + _rows(40, lambda i: f"{i},{i * 3 - 50},{i % 2}\n"),
    "int_blanks.csv": "id,a,y\n" + _rows(40, lambda i: f"{i},{'' if i % 7 == 0 else i},{i % 3}\n"),
    "int_blank_in_one_row.csv": "id,a,y\n" + _rows(40, lambda i: f"{i},{'' if i == 29 else i},{i * 1.5}\n"),
    "floats.csv": "x,z,y\n" + _rows(40, lambda i: f"{i * 0.37},{'NaN' if i % 5 == 0 else ('inf' if i == 3 else -i)},"
                                                  f"{i * 1.1}\n"),
    "strings.csv": "name,quote,city,y\n" + _rows(40, lambda i: (f'"Zoë, {i}","he said ""hi""",Zürich,{i % 2}\n'
                                                                  if i % 3 else f",,NA,{i % 2}\n")),
    "bools.csv": "flag,y\n" + _rows(40, lambda i: f"{'True' if i % 2 else 'False'},{i}\n"),
    "bool_blanks.csv": "flag,y\n" + _rows(40, lambda i: f"{'' if i == 3 else ('True' if i % 3 else 'False')},{i % 2}\n"),
    "iso_dates.csv": "id,date,y\n" + _rows(40, lambda i: f"{i},2020-{i % 12 + 1:02d}-{i % 28 + 1:02d},{i * 0.5}\n"),
    "iso_datetimes.csv": "id,ts,y\n" + _rows(40, lambda i: f"{i},2020-01-{i % 28 + 1:02d} 10:{i:02d}:00,{i * 0.5}\n"),
    "non_iso_dates.csv": "id,date,y\n" + _rows(40, lambda i: f"{i},{i % 12 + 1:02d}/{i % 28 + 1:02d}/2020,{i * 0.5}\n"),
    "zoned.csv": "id,created_at,y\n" + _rows(40, lambda i: f"{i},2020-01-{i % 28 + 1:02d}T10:00:00+02:00,{i % 2}\n"),
    "mixed.csv": "id,m,y\n" + _rows(40, lambda i: f"{i},{i if i % 2 else 'abc'},{i % 2}\n"),
    "all_empty.csv": "id,e,y\n" + _rows(40, lambda i: f"{i},,{i % 2}\n"),
    "clock.csv": "id,clock,y\n" + _rows(40, lambda i: f"{i},12:{i:02d}:00,{i % 2}\n"),
    "usual_names.csv": "ID,user_id,label,other\n" + _rows(40, lambda i: f"{i},{i % 9},{'ab'[i % 2]},{i}\n"),
    "float_target.csv": "a,price\n" + _rows(60, lambda i: f"{i},{(i % 4) * 1.0 if i % 9 else -0.0}\n"),
    "tabs.tsv": "id\tname\ty\n" + _rows(40, lambda i: f"{i}\tn, {i}\t{i % 2}\n"),
    "bom_crlf_blank_lines.csv": "\ufeffid,city,y\r\n" + _rows(40, lambda i: f"{i},Zürich {i},{i % 2}\r\n" + "\r\n" * (i % 7 == 0)),
}


@pytest.mark.parametrize("name", sorted(CSVS))
def test_a_single_file_gives_the_frames_schema_and_split_of_the_pandas_step(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(CSVS[name], encoding="utf-8")
    _same({"single": path})


@pytest.mark.parametrize(("name", "time_column", "kind"), [
    ("iso_dates.csv", None, "time"), ("iso_dates.csv", "none", "random"), ("iso_datetimes.csv", None, "time"),
    ("non_iso_dates.csv", None, "time"), ("zoned.csv", "created_at", "time"), ("zoned.csv", None, "time"),
    ("ints.csv", "a", "time"), ("strings.csv", None, "random"),
])
def test_a_time_split_takes_the_same_rows(tmp_path: Path, name: str, time_column: str | None, kind: str) -> None:
    path = tmp_path / name
    path.write_text(CSVS[name], encoding="utf-8")
    assert _same({"single": path}, time_column=time_column).split["kind"] == kind


def test_a_time_column_that_is_not_dates_is_the_same_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(CSVS["strings.csv"], encoding="utf-8")
    for run in (lambda: _old_step({"single": path}, time_column="city"),
                lambda: ip.prepare({"single": path}, target=None, seed=0, test_fraction=0.2, time_column="city")):
        with pytest.raises(tb.LoomInputError, match="only 0% of its values read as dates"):
            run()


def test_a_data_dir_keeps_its_tables_and_finds_the_target_in_the_sample(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("id,name,when,y\n" + _rows(40, lambda i: f"{i},n{i % 4},2021-03-{i % 28 + 1:02d},"
                                                                                 f"{i % 3}\n"))
    (tmp_path / "test.csv").write_text("id,name,when\n" + _rows(10, lambda i: f"{i + 40},,2021-04-{i + 1:02d}\n"))
    (tmp_path / "sample_submission.csv").write_text("id,y\n" + _rows(10, lambda i: f"{i + 40},0\n"))
    new = _same(tb.find_tables(tmp_path))
    assert new.schema["target"] == "y" and new.split == {"kind": "given"} and new.stored[3] is None


def _parquet(tmp_path: Path, name: str, df: Any) -> Path:
    path = tmp_path / f"{name}.parquet"
    df.to_parquet(path)
    return path


def test_parquet_input_reads_like_pandas_and_unusual_files_take_the_pandas_path(tmp_path: Path) -> None:
    import numpy as np

    n = 50
    plain = pd.DataFrame({"id": np.arange(n), "x": np.random.default_rng(1).normal(size=n),
                          "s": [None if i % 7 == 0 else f"s{i}" for i in range(n)], "b": [i % 2 == 0 for i in range(n)],
                          "t": pd.date_range("2020-01-01", periods=n, freq="h"), "i32": np.arange(n, dtype="int32"),
                          "f32": np.arange(n, dtype="float32"), "y": np.arange(n) % 2})
    _same({"single": _parquet(tmp_path, "plain", plain)})
    _same({"train": _parquet(tmp_path, "train", plain)})
    pandas_only = {  # what pandas' own metadata changes: zones, categories, nullable ints, a stored index
        "zoned": pd.DataFrame({"t": pd.date_range("2020-01-01", periods=n, freq="h", tz="Europe/Paris")}),
        "categorical": pd.DataFrame({"c": pd.Categorical(["a", "b"] * (n // 2))}),
        "nullable": pd.DataFrame({"c": pd.array([1, None] * (n // 2), dtype="Int64")}),
        "index": pd.DataFrame({"x": np.arange(n)}, index=np.arange(n) * 3),
        "none": pd.DataFrame({"e": [None] * n}),
    }
    for name, df in pandas_only.items():
        path = _parquet(tmp_path, name, df.assign(y=np.arange(n) % 2))
        _same({"single": path}, path="pandas")
        _same({"train": path}, path="pandas")


def test_the_fingerprint_is_content_only(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    text = "id,a,s,b,y\n" + _rows(60, lambda i: f"{i},{'' if i % 5 == 0 else i * 0.5},{'' if i % 4 == 0 else 'x' * (i % 3)},"
                                                 f"{'' if i % 6 == 0 else i % 2 == 0},{i % 2}\n")
    csv.write_text(text)
    first = ip.prepare({"single": csv}, target=None, seed=0, test_fraction=0.2, time_column=None).fingerprint
    assert first == ip.prepare({"single": csv}, target=None, seed=0, test_fraction=0.2, time_column=None).fingerprint
    pq_path = tmp_path / "d.parquet"
    pd.read_csv(csv, engine="pyarrow").to_parquet(pq_path)  # the same table as Parquet: the same fingerprint
    assert ip.prepare({"single": pq_path}, target=None, seed=0, test_fraction=0.2, time_column=None).fingerprint == first
    table = ta.read(csv)
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=7))  # chunking is not content
    dtypes = {"train": ta.pandas_dtypes(table)}
    assert ac.fingerprint({"train": chunked}, dtypes) == ac.fingerprint({"train": table}, dtypes)
    changed = [text.replace("59,29.5,", "59,29.25,"), text.replace("59,29.5,xx", "59,29.5,xy"),
               text.replace("\n1,0.5,x,False,1\n", "\n1,0.5,x,,1\n"), text.replace(",0\n", ",1\n", 1),
               text.replace("id,a", "id,A")]
    for i, other in enumerate(changed):
        assert other != text
        (tmp_path / f"c{i}.csv").write_text(other)
        assert ip.prepare({"single": tmp_path / f"c{i}.csv"}, target=None, seed=0, test_fraction=0.2,
                          time_column=None).fingerprint != first, other[:40]
    assert ip.prepare({"single": csv}, target=None, seed=1, test_fraction=0.2, time_column=None).fingerprint != first


def test_null_slots_holding_bytes_hash_like_empty_ones() -> None:
    clean = pa.array(["ab", None, "c"])
    dirty = pa.Array.from_buffers(pa.string(), 3, [clean.buffers()[0], pa.py_buffer(
        __import__("numpy").array([0, 2, 5, 6], dtype="int32").tobytes()), pa.py_buffer(b"abzzzc")])
    dtypes = {"t": {"s": "object"}}
    assert dirty.to_pylist() == ["ab", None, "c"]
    assert ac.fingerprint({"t": pa.table({"s": dirty})}, dtypes) == ac.fingerprint({"t": pa.table({"s": clean})}, dtypes)


def test_pandas_na_strings_are_pinned() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(ta.NA_VALUES) == set(STR_NA_VALUES)


def test_a_plain_csv_is_ingested_and_pickled_without_importing_pandas(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(CSVS["strings.csv"], encoding="utf-8")
    code = ("import pickle, sys; from pathlib import Path; from loom.adapters.mlops.metaflow import ingest_prep as ip; "
            f"r = ip.prepare({{'single': Path({str(path)!r})}}, target=None, seed=0, test_fraction=0.2, time_column=None); "
            "blobs = [pickle.dumps(v, protocol=4) for v in r.stored if v is not None]; "
            "print(r.path, len(blobs), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["arrow", "3", "False"]


BAD = {
    "garbage.csv": (b"\x00\xff\xfe\x00garbage", "cannot read garbage.csv"),
    "header_only.csv": (b"a,b,c\n", "header_only.csv has no rows or no columns"),
    "ragged.csv": (b"a,b\n1,2\n3,4,5\n", "cannot read ragged.csv: CSV parse error"),
    "fake.parquet": (b"id,x\n1,2\n", "cannot read fake.parquet"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_as_before(tmp_path: Path, name: str) -> None:
    blob, message = BAD[name]
    (tmp_path / name).write_bytes(blob)
    with pytest.raises(tb.LoomInputError, match=message) as new:
        ip.prepare({"single": tmp_path / name}, target=None, seed=0, test_fraction=0.2, time_column=None)
    with pytest.raises(tb.LoomInputError) as old:
        tb.read_table(tmp_path / name)
    assert "\n" not in str(new.value) and str(new.value).split(":")[0] == str(old.value).split(":")[0]


def test_a_single_file_naming_a_column_twice_is_one_line_and_a_data_dir_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("a,a,y\n" + _rows(20, lambda i: f"{i},{i * 2},{i % 2}\n"))
    with pytest.raises(AttributeError):  # the pandas step failed with a traceback
        _old_step({"single": path})
    with pytest.raises(tb.LoomInputError, match=r"twice.csv names a column twice \(a\)"):
        ip.prepare({"single": path}, target=None, seed=0, test_fraction=0.2, time_column=None)
    (tmp_path / "train.csv").write_text(path.read_text())
    old, new = _old_step({"train": tmp_path / "train.csv"}), ip.prepare(
        {"train": tmp_path / "train.csv"}, target=None, seed=0, test_fraction=0.2, time_column=None)
    assert new.path == "pandas" and new.schema == old["schema"]  # stored as pickled frames, as before
    pd.testing.assert_frame_equal(_back(new.stored[0]), _back(old["stored"][0]))


def test_text_that_is_not_utf8_past_the_sniff_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,city\n" + "Jos\xe9,M\xfcnchen\n".encode("latin-1") * 3)
    with pytest.raises(UnicodeDecodeError):  # the pandas step failed later, with a traceback
        _old_step({"single": path})
    with pytest.raises(tb.LoomInputError, match=r"cannot read latin.csv: not UTF-8 text \(column 'name'\)"):
        ip.prepare({"single": path}, target=None, seed=0, test_fraction=0.2, time_column=None)


def test_the_card_facts_match_the_pandas_step(tmp_path: Path) -> None:
    for name in ("zoned.csv", "strings.csv", "int_blanks.csv", "bool_blanks.csv", "iso_datetimes.csv"):
        path = tmp_path / name
        path.write_text(CSVS[name], encoding="utf-8")
        old = ip.prepare_frames({"single": path}, target=None, seed=0, test_fraction=0.2, time_column=None)
        new = ip.prepare({"single": path}, target=None, seed=0, test_fraction=0.2, time_column=None)
        assert new.head == old.head and new.missing == pytest.approx(old.missing), name
