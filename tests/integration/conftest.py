"""Shared beds for the integration modules that run Metaflow flows.

`metaflow_bed` is ONE embedded datastore (a LOOM_HOME with Metaflow's local datastore and metadata)
for the whole session: test_metaflow_mlops.py and test_lifecycle_flows.py add their runs to it
instead of each building a datastore of its own, and their assertions hold in a datastore other
modules also write to (they look runs up by pathspec, tag or experiment, never "all runs").

pytest runs with `--dist loadfile` (pyproject): under `-n 2` a module's tests stay on one worker,
so each module-scoped bed is built once (two modules on two workers each get their own session bed:
that costs a folder, not a run). The S3 module has its own object store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.env import clean_process_env

@pytest.fixture(scope="session")
def metaflow_bed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """{root, home, config, mlops}: one embedded Metaflow datastore for the session."""
    pytest.importorskip("metaflow")
    from loom.adapters.mlops.metaflow import MetaflowMLOps
    from loom.application.config import LoomConfig

    root: Path = tmp_path_factory.mktemp("metaflow_bed")
    home = root / "home"
    with clean_process_env():
        config = LoomConfig.load(flags={"home": str(home)}, env_file=None)
    return {"root": root, "home": home, "config": config, "mlops": MetaflowMLOps(config)}
