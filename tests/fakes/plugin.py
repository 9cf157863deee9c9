"""Pytest fixtures for the fakes (registered from tests/conftest.py via `pytest_plugins`).

- `fake_llm_server` (session): one FakeLLMServer for the whole test session.
- `fake_llm`: that server, reset (empty queue, no responder, empty record) for this test.
- `fake_cli_bin`: puts the fake `claude` / `codex` on PATH (run by this interpreter), gives them a
  logged-in CODEX_HOME, and returns the bin dir. Knobs: see tests/fakes/fake_cli.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.llm_server import FakeLLMServer

FAKE_BIN = Path(__file__).resolve().parent / "bin"  # checked-in copies, for manual use
FAKE_CLI = Path(__file__).resolve().parent / "fake_cli.py"


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture
def fake_cli_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # /bin/sh wrappers that run the fakes with THIS interpreter (no reliance on a `python3` on PATH)
    bin_dir = tmp_path / "fake_bin"
    bin_dir.mkdir()
    for cli in ("claude", "codex"):
        wrapper = bin_dir / cli
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" {cli} "$@"\n')
        wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    codex_home = tmp_path / "codex_home"
    codex_home.mkdir()
    (codex_home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": None, "tokens": {"fake": True}}))
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    claude_home = tmp_path / "claude_config"
    claude_home.mkdir()
    (claude_home / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {"fake": True}}))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_home))
    for knob in ("FAKE_CLAUDE_MODE", "FAKE_CODEX_MODE", "FAKE_LLM_URL", "FAKE_CLI_LOG"):
        monkeypatch.delenv(knob, raising=False)
    return bin_dir
