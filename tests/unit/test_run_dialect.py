"""Tables written otherwise than UTF-8 comma CSV: how `dialect` finds it, and the plain copy it writes.

The copy keeps every value's text; only a column of decimal-comma numbers in a file that does not
separate with commas gets points ("1.234,5" -> "1234.5").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loom.application import dialect
from loom.application.run_search import task_prep
from loom.domain.errors import UsageError


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_is_the_one_that_splits_every_row_alike(sep: str) -> None:
    rows = [["id", "name", "price"], ["1", "a", "3"], ["2", "b", "4"]]
    assert dialect.separator_of("\n".join(sep.join(r) for r in rows) + "\n") == sep


def test_commas_inside_values_do_not_make_a_semicolon_file_comma_separated() -> None:
    text = 'id;note;price\n1;"red, blue";3,5\n2;"a, b, c";4,25\n3;plain;5\n'
    assert dialect.separator_of(text) == ";"
    assert dialect.separator_of("id,a,b\n1,x;y,2\n2,z;w,3\n") == ","  # a comma file that holds ';'
    assert dialect.separator_of("value\n1\n2\n") == ","  # one column: nothing splits it
    assert dialect.separator_of("id;x\n1;2\n3;4\n5;") == ";"  # the sample cut the last row


def test_the_encoding_is_utf8_when_the_whole_file_decodes_so(tmp_path: Path) -> None:
    cases = {"utf8.csv": "id,ville\n1,Zürich\n".encode("utf-8"),
             "bom.csv": "\ufeffid,ville\n1,Zürich\n".encode("utf-8"),
             "cp1252.csv": "id,ville\n1,Málaga – centro\n".encode("cp1252"),
             "latin1.csv": b"id,x\n1,\x81\xe9\n"}  # 0x81 has no cp1252 character
    expected = {"utf8.csv": "utf-8", "bom.csv": "utf-8", "cp1252.csv": "cp1252", "latin1.csv": "latin-1"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert dialect.encoding_of(tmp_path / name) == expected[name], name
    late = tmp_path / "late.csv"  # valid UTF-8 for megabytes, then one cp1252 byte
    late.write_bytes(b"id,x\n" + b"1,abc\n" * 1_000_000 + "2,é\n".encode("cp1252"))
    assert dialect.encoding_of(late) == "cp1252"


def test_a_plain_dir_is_used_as_it_is(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    (src / "train.csv").write_text("id,x,y\n1,2,3\n", encoding="utf-8")
    (src / "test.csv").write_text("\ufeffid,x\n4,5\n", encoding="utf-8")
    out = dialect.normalize(src, tmp_path / "plain")
    assert out.path == src and out.notes == [] and not (tmp_path / "plain").exists()
    assert sorted(p.name for p in out.files) == ["test.csv", "train.csv"]


def test_a_european_export_becomes_comma_csv_with_decimal_points(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    (src / "train.csv").write_bytes(
        "id;code;einkommen;menge;notiz;region;kauf\n"
        "1;007;1.234,50;3;\"rot, blau\";Köln;1\n"
        "2;010;53,05;4;grün;Zürich;0\n"
        "3;011;-0,5;5;\"a;b\";Málaga;1\n".encode("cp1252"))
    (src / "test.csv").write_bytes("id;code;einkommen;menge;notiz;region\n4;012;2,5;6;x;Köln\n".encode("cp1252"))
    (src / "README.md").write_text("about the data", encoding="utf-8")
    out = dialect.normalize(src, tmp_path / "plain")
    assert out.path == tmp_path / "plain"
    train = pd.read_csv(out.path / "train.csv", dtype=str, keep_default_na=False)
    assert list(train.columns) == ["id", "code", "einkommen", "menge", "notiz", "region", "kauf"]
    assert list(train["einkommen"]) == ["1234.50", "53.05", "-0.5"]  # decimal commas, '.' thousands
    assert list(train["code"]) == ["007", "010", "011"]  # text kept: no leading zero lost
    assert list(train["menge"]) == ["3", "4", "5"]
    assert list(train["notiz"]) == ["rot, blau", "grün", "a;b"]  # a comma inside text is text
    assert list(train["region"]) == ["Köln", "Zürich", "Málaga"]  # cp1252 read as such, written UTF-8
    assert pd.read_csv(out.path / "test.csv", dtype=str)["einkommen"].tolist() == ["2.5"]
    assert _text(out.path / "README.md") == "about the data"  # side files go along
    assert len(out.notes) == 2
    assert out.notes[0] == ("train.csv was read as ';'-separated, cp1252 text, with decimal commas in einkommen; "
                            "the candidates get it as UTF-8 comma-separated CSV")


def test_a_comma_file_never_has_its_commas_rewritten(tmp_path: Path) -> None:
    """Decimal commas only exist where the comma does not separate: a Latin-1 comma file keeps its text."""
    src = tmp_path / "d"
    src.mkdir()
    (src / "train.csv").write_bytes('id,note,y\n1,"3,5",Málaga\n2,"4,25",Köln\n'.encode("latin-1"))
    out = dialect.normalize(src, tmp_path / "plain")
    train = pd.read_csv(out.path / "train.csv", dtype=str)
    assert list(train["note"]) == ["3,5", "4,25"] and list(train["y"]) == ["Málaga", "Köln"]
    assert out.notes == ["train.csv was read as comma-separated, cp1252 text; "
                         "the candidates get it as UTF-8 comma-separated CSV"]


def test_a_column_mostly_not_decimal_comma_numbers_stays_text(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    values = ["1,5"] * 10 + ["n/a"] * 2 + ["2,5"] * 8  # 80% numbers: a text column
    lines = ["id;v;y"] + [f"{i};{v};{i % 2}" for i, v in enumerate(values)]
    (src / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = dialect.normalize(src, tmp_path / "plain")
    assert pd.read_csv(out.path / "train.csv", dtype=str, keep_default_na=False)["v"].tolist() == values
    assert "decimal commas" not in out.notes[0]


def test_tsv_and_parquet_tables_become_csv(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    frame = pd.DataFrame({
        "id": [1, 2, 3], "cat": pd.Categorical(["a", "b", "a"]), "when": pd.to_datetime(["2022-01-01", "2022-03-05 12:30", None], format="ISO8601"),
        "flag": [True, False, None], "x": [0.1, None, 2.5], "y": [1, 0, 1],
    }).set_index(pd.Index([7, 8, 9], name="row"))  # a named index: pandas writes it as a column
    frame.to_parquet(src / "train.parquet")
    frame.drop(columns="y").to_csv(src / "test.tsv", sep="\t")
    out = dialect.normalize(src, tmp_path / "plain")
    train = pd.read_csv(out.path / "train.csv", dtype=str, keep_default_na=False)
    assert list(train.columns) == ["id", "cat", "when", "flag", "x", "y", "row"]  # a named index is a column
    assert train["cat"].tolist() == ["a", "b", "a"]
    assert train["when"].tolist() == ["2022-01-01 00:00:00", "2022-03-05 12:30:00", ""]  # as pandas writes them
    assert train["flag"].tolist() == ["true", "false", ""] and train["x"].tolist() == ["0.1", "", "2.5"]
    test = pd.read_csv(out.path / "test.csv", dtype=str)
    assert list(test.columns) == ["row", "id", "cat", "when", "flag", "x"] and test["id"].tolist() == ["1", "2", "3"]
    assert [n.split(" was")[0] for n in out.notes] == ["train.parquet", "test.tsv"]
    assert "Parquet" in out.notes[0] and "tab-separated" in out.notes[1]
    unnamed = tmp_path / "u"
    unnamed.mkdir()
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}, index=[5, 6]).to_parquet(unnamed / "train.parquet")
    assert list(pd.read_csv(dialect.normalize(unnamed, tmp_path / "p2").path / "train.csv").columns) == ["x", "y"]


def test_a_table_that_cannot_be_flattened_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    pq.write_table(pa.table({"id": [1, 2], "tags": [["a"], ["b", "c"]], "y": [0, 1]}), src / "train.parquet")
    with pytest.raises(UsageError, match=r"cannot read the data in .*: train.parquet: column 'tags' holds list"):
        task_prep.plain_source(task_prep.check_data(src), tmp_path / "plain")
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "train.csv").write_text("id;x;x\n1;2;3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="train.csv: duplicate column names"):
        task_prep.plain_source(bad, tmp_path / "plain2")


def test_check_data_takes_tsv_and_parquet_and_names_what_it_wants(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "train.tsv").write_text("id\tx\n1\t2\n", encoding="utf-8")
    assert task_prep.check_data(d) == d.resolve()
    assert task_prep.check_data(d / "train.tsv") == (d / "train.tsv").resolve()
    (d / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="not a table file; pass a .csv, .tsv or .parquet"):
        task_prep.check_data(d / "notes.json")
    e = tmp_path / "e"
    e.mkdir()
    (e / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(UsageError, match="no train.csv in .*train.tsv / train.parquet") as err:
        task_prep.check_data(e)
    assert err.value.hint is None
    (e / "train.xlsx").write_bytes(b"PK")
    with pytest.raises(UsageError, match="no train.csv") as err:
        task_prep.check_data(e)
    assert "save train.xlsx as CSV" in (err.value.hint or "")


def test_one_semicolon_file_is_read_then_split(tmp_path: Path) -> None:
    src = tmp_path / "all.csv"
    src.write_text("id;x;y\n" + "".join(f"{i};{i},5;{i % 2}\n" for i in range(50)), encoding="utf-8")
    out = dialect.normalize(src, tmp_path / "plain")
    assert out.path == tmp_path / "plain" / "all.csv" and out.files == [src]
    dest, target = task_prep.split_file(out.path, tmp_path / "source", target=None, time_column=None, seed=0)
    assert target == "y"
    train = pd.read_csv(dest / "train.csv")
    assert train["x"].dtype == float and set(train["x"] % 1) == {0.5}


def test_parquet_times_are_written_as_pandas_writes_them(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    pd.DataFrame({
        "day": pd.to_datetime(["2022-01-01", "2022-01-02"]),
        "frac": pd.to_datetime(["2022-01-01 10:00:00.250", "2022-01-02"], format="ISO8601"),
        "zoned": pd.to_datetime(["2022-01-01 10:00", "2022-01-02 11:30"]).tz_localize("UTC"),
        "y": [0, 1],
    }).to_parquet(src / "train.parquet")
    train = pd.read_csv(dialect.normalize(src, tmp_path / "plain").path / "train.csv", dtype=str)
    expected = pd.read_parquet(src / "train.parquet")
    assert train["day"].tolist() == ["2022-01-01", "2022-01-02"]
    assert pd.to_datetime(train["frac"]).tolist() == expected["frac"].tolist()
    assert pd.to_datetime(train["zoned"]).tolist() == expected["zoned"].tolist()


def test_excel_unicode_text_is_read_and_binary_files_are_named(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    frame = pd.DataFrame({"id": [1, 2, 3], "ville": ["Köln", "Zürich", "Łódź"], "y": [0, 1, 0]})
    (src / "train.txt").write_bytes(frame.to_csv(index=False, sep="\t").encode("utf-16"))  # BOM, tab-separated
    out = dialect.normalize(src, tmp_path / "plain")
    assert out.notes[0].startswith("train.txt was read as tab-separated, utf-16 text")
    pd.testing.assert_frame_equal(pd.read_csv(out.path / "train.csv"), frame)
    cases = {"gz": (b"\x1f\x8b\x08\x00" + bytes(range(256)), "a gzip file: gunzip it first"),
             "zip": (b"PK\x03\x04" + bytes(range(256)), "a zip archive: unzip it first"),
             "bin": (b"\x7fELF\x00\x01\x02" + bytes(range(256)), "it holds binary bytes")}
    for name, (blob, why) in cases.items():
        bad = tmp_path / name
        bad.mkdir()
        (bad / "train.csv").write_bytes(blob)
        with pytest.raises(UsageError, match=rf"train.csv: not a text table \({why}\)"):
            task_prep.plain_source(bad, tmp_path / f"plain-{name}")


def test_a_train_table_without_rows_names_the_users_file(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    (src / "train.csv").write_text("a;b\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"train.csv is empty; it needs a header row and at least one data row"):
        task_prep.plain_source(src, tmp_path / "plain")
    (src / "train.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    (src / "test.csv").write_text("a\n", encoding="utf-8")  # a test.csv without rows is allowed (no refit then)
    assert len(task_prep.plain_source(src, tmp_path / "plain2").notes) == 1
