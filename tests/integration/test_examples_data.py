"""Every committed example dataset is exactly what its make_data.py generates (seeded, no downloads)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# example -> whether make_data.py takes an output dir (else it writes next to itself)
CASES = {"churn": False, "house_prices": False, "leaky_loans": True, "drift": True}


@pytest.mark.parametrize("name", sorted(CASES))
def test_make_data_regenerates_the_committed_csvs(name: str, tmp_path: Path) -> None:
    script = tmp_path / name / "make_data.py"
    script.parent.mkdir()
    shutil.copy(EXAMPLES / name / "make_data.py", script)
    args = [sys.executable, str(script)] + ([str(script.parent)] if CASES[name] else [])
    subprocess.run(args, check=True, capture_output=True, cwd=tmp_path, timeout=120)
    committed = sorted(p.relative_to(EXAMPLES / name) for p in (EXAMPLES / name).rglob("*.csv"))
    assert committed, f"examples/{name} ships no CSV"
    for rel in committed:
        fresh = script.parent / rel
        assert fresh.is_file(), f"make_data.py did not write {rel}"
        pd.testing.assert_frame_equal(pd.read_csv(fresh), pd.read_csv(EXAMPLES / name / rel), check_exact=False, rtol=1e-9)
