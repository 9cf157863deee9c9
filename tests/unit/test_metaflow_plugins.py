"""The trimmed Metaflow configuration of the embedded mode (loom.adapters.shared.metaflow_plugins)."""

from __future__ import annotations

import json
import subprocess
import sys

from loom.adapters.shared import metaflow_plugins as mp
from loom.adapters.shared import metaflow_runtime as rt
from loom.application.config import LoomConfig

#: What a process of a flow imports: True when `requests` (the service metadata provider's) came with it.
PROBE = "import sys; from metaflow import FlowSpec, step, card, resources, schedule; print('requests' in sys.modules)"


def _imports_requests(env: dict[str, str]) -> bool:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-800:]
    return out.stdout.strip() == "True"


def test_embedded_flows_get_a_metaflow_home_enabling_only_local_plugins(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.metaflowconfig
    config = LoomConfig.load()
    env = rt.subprocess_env(config)
    home = clean_env / "metaflow_config"
    assert env["METAFLOW_HOME"] == str(home)
    written = json.loads((home / "config.json").read_text())
    assert written == mp.ENABLED
    assert "kubernetes" not in written["METAFLOW_ENABLED_STEP_DECORATOR"]
    # Metaflow honours it: a flow process no longer imports the service provider's HTTP stack
    assert not _imports_requests(env)
    assert _imports_requests({k: v for k, v in env.items() if k != "METAFLOW_HOME"})
    # idempotent, and the loom process's own METAFLOW_HOME pointing there still counts as Loom's
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    assert rt.metaflow_env(config)["METAFLOW_HOME"] == str(home)


def test_the_users_metaflow_configuration_is_left_whole(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert "METAFLOW_HOME" not in rt.metaflow_env(LoomConfig.load(flags={"metaflow_with": "kubernetes"}))
    (tmp_path / ".metaflowconfig").mkdir()
    (tmp_path / ".metaflowconfig" / "config.json").write_text("{}")
    assert "METAFLOW_HOME" not in rt.metaflow_env(LoomConfig.load())
    (tmp_path / ".metaflowconfig" / "config.json").unlink()
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "mine"))
    assert "METAFLOW_HOME" not in rt.metaflow_env(LoomConfig.load())
    assert rt.subprocess_env(LoomConfig.load())["METAFLOW_HOME"] == str(tmp_path / "mine")
    monkeypatch.delenv("METAFLOW_HOME")
    monkeypatch.setenv("METAFLOW_PROFILE", "team")
    assert "METAFLOW_HOME" not in rt.metaflow_env(LoomConfig.load())
