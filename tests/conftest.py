"""Shared fixtures: every test runs in a clean environment with its own LOOM_HOME.

No test reaches the internet; secrets are stripped from the environment so a test can only
see the fake keys it sets itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so `tests.fakes` imports

from tests.fakes.env import strip_env  # noqa: E402 - needs the path above

from loom.entrypoints.threadsafe_ast import install as _serialize_ast_parse  # noqa: E402

_serialize_ast_parse()  # servers and searches run in threads of the test process, as in Loom's own

pytest_plugins = ["tests.fakes.plugin"]  # fake_llm, fake_llm_server, fake_cli_bin fixtures


@pytest.fixture(autouse=True)
def clean_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Strip LOOM_*/METAFLOW_*/secret env vars; point LOOM_HOME and the datastore at a temp dir."""
    strip_env(monkeypatch)
    home = tmp_path_factory.mktemp("loom_home")
    monkeypatch.setenv("LOOM_HOME", str(home))
    return home


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chdir into an empty temp dir (so no stray .env or config is picked up)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
