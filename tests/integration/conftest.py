"""Shared beds for the integration modules that run Metaflow flows.

`metaflow_bed` is ONE embedded datastore (a LOOM_HOME with Metaflow's local datastore and metadata)
for the whole session: test_metaflow_mlops.py and test_lifecycle_flows.py add their runs to it
instead of each building a datastore of its own, and their assertions hold in a datastore other
modules also write to (they look runs up by pathspec, tag or experiment, never "all runs").

Those modules carry `xdist_group` marks and pytest runs with `--dist loadgroup` (pyproject), so
under `-n 2` each group stays on one worker: a module-scoped bed is built once, not once per worker
its tests happen to land on. The S3 module has its own group and its own object store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.env import clean_process_env

#: The xdist group of the modules that share `metaflow_bed`.
EMBEDDED_GROUP = "metaflow-embedded"


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
