"""The Arrow-first IngestDataset step for real: what a Client reads back is what the pandas step stored."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")

from tests.fakes.env import clean_process_env  # noqa: E402
from tests.unit.test_ingest_arrow import _back, _old_step  # noqa: E402

pytestmark = pytest.mark.slow

def _row(i: int) -> str:
    name = "" if i % 5 == 0 else f'"n, {i} ü"'  # quoted: a comma inside
    return (f"{i},2021-{i % 12 + 1:02d}-{i % 28 + 1:02d},{'' if i % 9 == 0 else i * 0.25},{'' if i % 11 == 0 else i},"
            f"{name},{'' if i % 13 == 0 else bool(i % 2)},2021-01-01T{i % 24:02d}:00:00+01:00,{'abc'[i % 3]}\n")


MIXED = "id,when,amount,count,name,flag,zone_at,target\n" + "".join(_row(i) for i in range(300))


def test_an_ingested_csv_and_parquet_read_back_as_the_pandas_step_stored_them(metaflow_bed, tmp_path: Path) -> None:
    import metaflow

    mlops = metaflow_bed["mlops"]
    csv = tmp_path / "mixed.csv"
    csv.write_text(MIXED, encoding="utf-8")
    parquet = tmp_path / "data"
    parquet.mkdir()
    pd.read_csv(csv, engine="pyarrow").to_parquet(parquet / "train.parquet")
    said: list[str] = []
    with clean_process_env():
        from_csv = mlops.ingest(csv, time_column="none", on_progress=said.append)
        from_parquet = mlops.ingest(parquet)
    # the CSV was parsed by this process while Metaflow started (prefetch.py): the step took that table,
    # and what it stored is still, below, exactly what the pandas step stored
    assert any(line == f"read {csv.name}: 300 rows x 8 cols (parsed while the flow started)" for line in said), said
    metaflow.metadata(f"local@{metaflow_bed['home'] / 'metaflow'}")
    metaflow.namespace(None)
    for info, files, kw in ((from_csv, {"single": csv}, {"time_column": "none"}),
                            (from_parquet, {"train": parquet / "train.parquet"}, {})):
        old = _old_step(files, **kw)
        data = metaflow.Run(info.pathspec).data
        for name, before in zip(("train", "test", "sample_submission", "test_labels"), old["stored"]):
            after = getattr(data, name, None)
            if before is None:
                assert after is None, name
            else:
                pd.testing.assert_frame_equal(after, _back(before), obj=name)
        assert data.schema == old["schema"] and data.split == old["split"]
        assert re.fullmatch(r"[0-9a-f]{64}", data.fingerprint)
        card = mlops.card(info.pathspec)[0].read_text(encoding="utf-8")
        shown = "".join(base64.b64decode(b).decode("utf-8") for b in re.findall(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', card))
        assert "Preview (train)" in shown and "missing (train)" in shown
    assert from_csv.target == "target" and from_csv.task_type == "classification"
    # the CSV's train part and the Parquet file's train table differ, so do their fingerprints
    assert from_csv.fingerprint != from_parquet.fingerprint


def test_a_european_export_ingests_typed_and_says_how_it_was_read(metaflow_bed, tmp_path: Path) -> None:
    """';'-separated, decimal commas, cp1252: the data object holds numbers, and the run, its card and
    the progress lines say how each table was read."""
    import metaflow

    mlops = metaflow_bed["mlops"]
    frame = pd.DataFrame({"id": range(60), "ville": ["Köln", "Zürich", "Málaga"] * 20,
                          "surface": [12.5 + i for i in range(60)], "loyer": [1234.75 + 10 * i for i in range(60)]})
    euro = tmp_path / "euro"
    euro.mkdir()
    (euro / "train.csv").write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    said: list[str] = []
    with clean_process_env():
        info = mlops.ingest(euro, target="loyer", on_progress=said.append)
    note = "train.csv was read as ';'-separated, cp1252 text, with decimal commas in surface, loyer"
    assert note in said and info.read_as == (note,)  # what `loom ingest` prints under its summary line
    metaflow.metadata(f"local@{metaflow_bed['home'] / 'metaflow'}")
    metaflow.namespace(None)
    data = metaflow.Run(info.pathspec).data
    assert data.read_as == [note]
    pd.testing.assert_frame_equal(data.train, frame)  # numbers and names, as written plainly
    card = mlops.card(info.pathspec)[0].read_text(encoding="utf-8")
    shown = "".join(base64.b64decode(b).decode("utf-8") for b in re.findall(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', card))
    assert note in shown


def test_compressed_tables_ingest_as_the_plain_ones_and_say_so(metaflow_bed, tmp_path: Path) -> None:
    """train.csv.gz and test.zip: the data object holds the same tables (same fingerprint) as the
    plain files, its read_as says they were decompressed; one .csv.gz file is named without suffixes."""
    import gzip
    import zipfile

    mlops = metaflow_bed["mlops"]
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    plain.mkdir()
    packed.mkdir()
    frame = pd.DataFrame({"id": range(200), "x": [i * 0.5 for i in range(200)], "y": ["a", "b"] * 100})
    frame.iloc[:150].to_csv(plain / "train.csv", index=False)
    frame.iloc[150:].drop(columns="y").to_csv(plain / "test.csv", index=False)
    (packed / "train.csv.gz").write_bytes(gzip.compress((plain / "train.csv").read_bytes()))
    with zipfile.ZipFile(packed / "test.zip", "w") as archive:
        archive.write(plain / "test.csv", "test.csv")
    single = tmp_path / "sales.csv.gz"
    single.write_bytes(gzip.compress((plain / "train.csv").read_bytes()))
    with clean_process_env():
        a, b = mlops.ingest(plain), mlops.ingest(packed)
        one = mlops.ingest(single, time_column="none")
    assert a.fingerprint == b.fingerprint and a.rows == b.rows == {"train": 150, "test": 50}
    assert a.read_as == () and b.read_as == ("train.csv.gz was decompressed", "test.zip was decompressed")
    assert one.name == "sales" and one.read_as == ("sales.csv.gz was decompressed",)
