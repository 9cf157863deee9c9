"""`loom ingest` of tables written otherwise than UTF-8 comma CSV: the step reads each through its
plain copy (`loom.application.dialect`), so a European export is typed like the same table written
plainly, and says how it read it. A plain table costs no copy and no whole-file encoding scan."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loom.adapters.mlops.metaflow import ingest_prep as ip
from loom.adapters.mlops.metaflow import tabular as tb


def _back(value: Any) -> Any:
    return None if value is None else pickle.loads(pickle.dumps(value, protocol=4))


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n), "ville": ["Köln", "Zürich", "Málaga"] * (n // 3),
                         "surface": [12.5 + i for i in range(n)], "loyer": [1234.75 + 10 * i for i in range(n)]})


def _prepare(source: Path, tmp: Path) -> tuple[ip.Prepared, list[str]]:
    return ip.prepare_source(source, tmp / "plain", target="loyer", seed=0, test_fraction=0.2, time_column=None)


def test_a_european_export_is_typed_like_the_plain_table(tmp_path: Path) -> None:
    frame = _frame(30)
    euro, plain = tmp_path / "euro", tmp_path / "plain_src"
    euro.mkdir()
    plain.mkdir()
    (euro / "train.csv").write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    frame.to_csv(plain / "train.csv", index=False)
    got, notes = _prepare(euro, tmp_path / "a")
    want, none = _prepare(plain, tmp_path / "b")
    assert none == [] and not (tmp_path / "b" / "plain").exists()  # a plain table is read where it is
    assert notes == ["train.csv was read as ';'-separated, cp1252 text, with decimal commas in surface, loyer"]
    assert got.schema == want.schema and got.schema["target"] == "loyer"
    assert dict((c["name"], c["dtype"]) for c in got.schema["columns"])["surface"] == "float64"
    pd.testing.assert_frame_equal(_back(got.stored[0]), _back(want.stored[0]))
    assert got.fingerprint == want.fingerprint  # the same content, however it was written


def test_a_byte_that_is_not_utf8_past_the_first_bytes_reads_the_file_again_whole(tmp_path: Path) -> None:
    src = tmp_path / "late.csv"
    rows = "".join(f"{i},ascii,{i % 2}\n" for i in range(40_000))  # ~0.5 MB of ASCII first
    src.write_bytes(b"id,city,y\n" + rows.encode() + "40000,M\xfcnchen,1\n".encode("cp1252"))
    with pytest.raises(tb.LoomInputError, match="not UTF-8"):  # the Arrow read alone stops there
        ip.prepare({"single": src}, target="y", seed=0, test_fraction=0.2, time_column=None)
    got, notes = ip.prepare_source(src, tmp_path / "plain", target="y", seed=0, test_fraction=0.2,
                                   time_column=None)
    assert notes == ["late.csv was read as comma-separated, cp1252 text"]
    whole = pd.concat([_back(got.stored[0]), _back(got.stored[1])])
    assert "München" in set(whole["city"]) and len(whole) == 40_001


def test_a_table_the_copy_cannot_read_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    (src / "train.csv").write_bytes("id;x;x\n1;2,5;3\n".encode("cp1252"))
    with pytest.raises(tb.LoomInputError, match=r"^cannot read train.csv: duplicate column names in the header$"):
        _prepare(src, tmp_path)
