"""The caller parses an ingest's CSVs while Metaflow starts (prefetch.py); the step takes the table
only when it is exactly what it would have read, and the data object is the same either way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pcsv = pytest.importorskip("pyarrow.csv")

from loom.adapters.mlops.metaflow import prefetch  # noqa: E402
from loom.adapters.mlops.metaflow import tabular_arrow as ta  # noqa: E402


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("id,code,x,when,y\n1,007,0.5,2024-01-01,a\n2,012,,2024-01-02,b\n3,NA,1.5,,a\n")
    return path


@pytest.fixture(autouse=True)
def _no_directory():  # noqa: ANN202 - each test sets the step's folder itself
    yield
    prefetch.use(None)


def _fetched(files: list[Path]) -> prefetch.Prefetch:
    parsing = prefetch.start(files)
    assert parsing is not None
    parsing.thread.join(timeout=30)
    return parsing


def test_the_step_takes_exactly_the_table_it_would_have_read(csv: Path) -> None:
    parsing = _fetched([csv])
    try:
        prefetch.use(str(parsing.directory))
        taken = prefetch.take(csv)
        assert taken is not None and taken.equals(pcsv.read_csv(csv, **ta.csv_options(csv, ())))
        assert prefetch.take(csv, ("code",)) is None  # read again with text columns: parsed by the step
    finally:
        parsing.close()
    assert not parsing.directory.exists()


def test_a_file_changed_since_or_a_folder_gone_is_parsed_again(csv: Path) -> None:
    parsing = _fetched([csv])
    try:
        prefetch.use(str(parsing.directory))
        csv.write_text(csv.read_text() + "4,013,2.5,2024-01-04,b\n")
        os.utime(csv, ns=(time.time_ns(), time.time_ns() + 10_000_000))
        assert prefetch.take(csv) is None
        assert ta.read(csv).num_rows == 4  # the step's own parse of the file as it is now
    finally:
        parsing.close()
    prefetch.use(str(parsing.directory))  # removed by the caller: nothing to take, nothing to wait for
    assert prefetch.take(csv) is None


def test_only_plain_utf8_csvs_are_prefetched(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("a;b\n1,5;2\n3,5;4\n")  # ';' and decimal commas: the step reads its plain copy
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,y\ncaf\xe9,1\n".encode("cp1252"))
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(b"")
    assert prefetch.start([semi, latin, packed]) is None


def test_a_step_waits_for_a_live_caller_and_not_for_a_dead_one(csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pf"
    folder.mkdir()
    pending = folder / f"{prefetch.key(csv)}.pending"
    pending.write_text("999999999")  # no such process: the caller died mid-parse
    prefetch.use(str(folder))
    started = time.monotonic()
    assert prefetch.take(csv) is None and time.monotonic() - started < 1
    pending.write_text(str(os.getpid()))  # a live one: waited for until it finishes

    def finish() -> None:
        time.sleep(0.3)
        table = pcsv.read_csv(csv, **ta.csv_options(csv, ()))
        with pa.OSFile(str(folder / f"{prefetch.key(csv)}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        pending.unlink()

    import threading

    threading.Thread(target=finish).start()
    started = time.monotonic()
    taken = prefetch.take(csv)
    assert taken is not None and taken.num_rows == 3 and time.monotonic() - started >= 0.25
