"""The public surface is typed: mypy is clean on loom.api and loom.domain (config: pyproject [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_py_typed_ships() -> None:
    assert (ROOT / "src" / "loom" / "py.typed").is_file()


def test_mypy_is_clean_on_the_api_and_the_domain(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"), "--no-error-summary",
         "-p", "loom.domain", "-m", "loom.api"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
