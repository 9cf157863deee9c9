"""Tables shipped compressed (train.csv.gz, train.csv.zip, test.zip, a .bz2 file): a run and the
ingest step read them through a decompressed copy and say so; a damaged file or a zip of several
files is one line naming it. Before, a data dir of train.csv.gz was "no train.csv" (exit 2)."""

from __future__ import annotations

import bz2
import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.application import dialect, table_files
from loom.application.run_search import task_prep
from loom.domain.errors import UsageError
from loom.domain.metrics import parse_metric

HANDED = "; the candidates get it as UTF-8 comma-separated CSV"


def _frames(n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=n + 60).round(3)
    frame = pd.DataFrame({"id": [f"{i:05d}" for i in range(n + 60)], "x": x, "town": rng.choice(["Köln", "Málaga"], n + 60),
                          "y": np.where(x + rng.normal(size=n + 60) > 0, "yes", "no")})
    return frame.iloc[:n], frame.iloc[n:].drop(columns="y")


def _zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)


def test_a_dir_of_compressed_tables_is_found_and_read_as_plain_csv(tmp_path: Path) -> None:
    train, test = _frames()
    src = tmp_path / "d"
    src.mkdir()
    with gzip.open(src / "train.csv.gz", "wt", encoding="utf-8") as fh:
        train.to_csv(fh, index=False)
    _zip(src / "test.zip", {"test.csv": test.to_csv(index=False), "__MACOSX/._test.csv": "x"})  # Finder adds these
    test.head(3)[["id"]].assign(y="no").to_csv(src / "sample_submission.csv", index=False)
    assert dialect.table_files(src) == {"train": src / "train.csv.gz", "test": src / "test.zip",
                                        "sample_submission": src / "sample_submission.csv"}
    out = task_prep.plain_source(task_prep.check_data(src), tmp_path / "plain")
    assert out.path == tmp_path / "plain" and out.files == list(dialect.table_files(src).values())
    assert out.notes == ["train.csv.gz was decompressed" + HANDED, "test.zip was decompressed" + HANDED]
    assert sorted(p.name for p in out.path.iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert pd.read_csv(out.path / "train.csv", dtype={"id": str}).equals(train)
    assert pd.read_csv(out.path / "test.csv", dtype={"id": str}).equals(test.reset_index(drop=True))
    prep = task_prep.prepare_task(out.path, tmp_path / "task", tmp_path / "sealed", goal="g",
                                  metric=parse_metric("log loss"), seed=0)
    assert prep.task.id_column == "id" and prep.task.target == "y"


def test_a_plain_table_wins_over_its_compressed_twin(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "train.csv.gz").write_bytes(gzip.compress(b"a,b\n3,4\n"))
    assert dialect.table_files(tmp_path)["train"] == tmp_path / "train.csv"


def test_a_compressed_european_export_is_decompressed_then_converted_in_one_note(tmp_path: Path) -> None:
    train, _ = _frames()
    path = tmp_path / "sales.csv.bz2"
    path.write_bytes(bz2.compress(train.to_csv(index=False, sep=";", decimal=",").encode("cp1252")))
    assert dialect.is_table_file(path) and dialect.stem_of(path) == "sales"
    out = task_prep.plain_source(task_prep.check_data(path), tmp_path / "plain")
    assert out.path == tmp_path / "plain" / "sales.csv"
    assert out.notes == ["sales.csv.bz2 was decompressed and read as ';'-separated, cp1252 text, with decimal "
                         "commas in x" + HANDED]
    back = pd.read_csv(out.path, dtype={"id": str})
    assert back["town"].tolist() == train["town"].tolist() and np.allclose(back["x"], train["x"])
    assert not list((tmp_path / "plain").glob("*.unpacked*"))  # the decompressed intermediate is gone


def test_the_ingest_step_gets_a_decompressed_copy_named_as_the_table(tmp_path: Path) -> None:
    train, _ = _frames()
    zipped = tmp_path / "train.csv.zip"
    _zip(zipped, {"train.csv": train.to_csv(index=False)})
    path, note = dialect.plain_text(zipped, tmp_path / "plain")
    assert path == tmp_path / "plain" / "train.csv" and note == "train.csv.zip was decompressed"
    assert pd.read_csv(path, dtype={"id": str}).equals(train)
    parquet = tmp_path / "p"
    parquet.mkdir()
    train.to_parquet(parquet / "train.parquet")
    with zipfile.ZipFile(parquet / "train.zip", "w") as archive:
        archive.write(parquet / "train.parquet", "train.parquet")
    path, note = dialect.plain_text(parquet / "train.zip", tmp_path / "plain2")
    assert path == tmp_path / "plain2" / "train.parquet" and note == "train.zip was decompressed"
    assert pd.read_parquet(path).equals(train)


@pytest.mark.parametrize("name, content, why", [
    ("bad.csv.gz", b"\x1f\x8b\x08\x00garbage", "bad.csv.gz: could not be decompressed"),
    ("two.zip", None, "two.zip: holds 2 files; a compressed table holds one: unzip it"),
    ("notes.zip", "notes.txt.pdf", "notes.zip: holds notes.txt.pdf, not a .csv, .tsv or .parquet table"),
])
def test_a_compressed_file_that_is_not_one_table_is_one_line_naming_it(tmp_path: Path, name: str,
                                                                       content: object, why: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        _zip(path, {"a.csv": "x,y\n1,2\n", "b.csv": "x,y\n1,2\n"} if content is None else {str(content): "x"})
    with pytest.raises(UsageError, match="cannot read the data in .*" + why.replace(".", r"\.")):
        task_prep.plain_source(task_prep.check_data(path), tmp_path / "plain")
    with pytest.raises(dialect.DialectError, match=why.replace(".", r"\.")):
        dialect.plain_text(path, tmp_path / "plain2")


def test_names_of_compressed_tables() -> None:
    assert table_files.compression(Path("train.CSV.GZ")) == ".gz" and table_files.compression(Path("train.csv")) is None
    assert table_files.inner_suffix(Path("test.tsv.xz")) == ".tsv" and table_files.inner_suffix(Path("train.zip")) == ""
    assert dialect.is_table_file(Path("train.zip")) and not dialect.is_table_file(Path("notes.txt.gz.bak"))
    assert not dialect.is_table_file(Path("model.pkl.gz"))
    assert [dialect.stem_of(Path(n)) for n in ("train.csv", "train.csv.gz", "train.zip", "a.b.parquet.xz")] == \
        ["train", "train", "train", "a.b"]


def _bomb(path: Path, size: int = 3 << 20) -> Path:
    """`size` bytes of one repeated CSV row, compressed as `path`'s name says (kilobytes on disk)."""
    import lzma

    text = b"x,y\n" + b"0,1\n" * (size // 4)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("train.csv", text)
    else:
        path.write_bytes({".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[path.suffix](text))
    return path


@pytest.mark.parametrize("name", ["train.csv.gz", "train.csv.bz2", "train.csv.xz", "train.zip"])
def test_a_decompression_bomb_is_refused_while_streaming_and_leaves_nothing(tmp_path: Path, name: str) -> None:
    bomb = _bomb(tmp_path / name)
    assert bomb.stat().st_size < 50_000  # 3 MiB of rows in a few KB
    dest = tmp_path / "plain"
    limits = table_files.UnpackLimits(max_ratio=50, floor=1 << 20)
    why = re.escape(name) + r": expands to more than .*50x its compressed size, LOOM_UNPACK_MAX_RATIO\)"
    with pytest.raises(table_files.UnpackError, match="^" + why):
        table_files.unpack(bomb, dest, limits)
    assert list(dest.iterdir()) == []  # the partial copy is gone
    # the same file under the floor / a looser ratio is an ordinary table
    out = table_files.unpack(bomb, dest, table_files.UnpackLimits(max_ratio=50, floor=4 << 20))
    assert out.stat().st_size == 4 + (3 << 20)


def test_the_absolute_cap_holds_whatever_the_ratio(tmp_path: Path) -> None:
    train, _ = _frames(2000)
    path = tmp_path / "train.csv.gz"
    path.write_bytes(gzip.compress(train.to_csv(index=False).encode()))
    with pytest.raises(table_files.UnpackError, match=r"LOOM_UNPACK_MAX_BYTES=1000"):
        table_files.unpack(path, tmp_path / "plain", table_files.UnpackLimits(max_bytes=1000))
    assert table_files.unpack(path, tmp_path / "plain2").stat().st_size == len(train.to_csv(index=False).encode())


def test_a_bomb_is_a_usage_error_for_run_and_ingest_with_limits_from_the_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "d"
    src.mkdir()
    _bomb(src / "train.csv.bz2")
    monkeypatch.setattr(table_files, "UNPACK_FLOOR", 1 << 20, raising=False)  # a fast test: the real floor is 128 MiB
    monkeypatch.setenv("LOOM_UNPACK_MAX_RATIO", "100")
    why = r"train\.csv\.bz2: expands to more than .* \(the limit is 100x its compressed size"
    with pytest.raises(UsageError, match="cannot read the data in .*" + why) as err:
        task_prep.plain_source(task_prep.check_data(src), tmp_path / "plain")
    assert err.value.exit_code == 2
    with pytest.raises(dialect.DialectError, match=why):
        dialect.plain_text(src / "train.csv.bz2", tmp_path / "plain2")
    assert not [p for p in tmp_path.rglob("*unpacked*")]  # no partial copy anywhere
    monkeypatch.setenv("LOOM_UNPACK_MAX_RATIO", "lots")
    with pytest.raises(dialect.DialectError, match="LOOM_UNPACK_MAX_RATIO='lots'"):
        dialect.plain_text(src / "train.csv.bz2", tmp_path / "plain3")
