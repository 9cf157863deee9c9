"""Scheduling the pipeline on a production orchestrator: `loom pipeline --schedule CRON --deploy argo`.

The LoomPipeline flow (flows/loom_pipeline.py) is compiled through Metaflow's Deployer API with the
schedule and the pipeline's arguments as its `pipeline` Config. Without `--apply` this is
`argo-workflows create --only-json`: Metaflow packages the code into the datastore and compiles the
WorkflowTemplate + CronWorkflow without touching a cluster; Loom writes the JSON under
LOOM_HOME/deployments/ and returns it. `--apply` deploys it for real (a cluster, an Argo Workflows
install and a Metaflow profile with a shared datastore and a metadata service: docs/scale.md).
Remote steps use `LOOM_METAFLOW_WITH` (e.g. `kubernetes:cpu=4,memory=16384`) as Metaflow `--with`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.shared import metaflow_runtime as rt
from loom.domain.errors import ConfigError, ExecutionFailed, UsageError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

PIPELINE_FLOW = Path(__file__).resolve().parent / "flows" / "loom_pipeline.py"
ORCHESTRATORS = ("argo",)
_CRON = re.compile(r"^\S+( \S+){4}$")


class MetaflowSchedulingMixin:
    """`schedule_pipeline`: compile (or deploy) the pipeline flow for an orchestrator; needs `self.config`."""

    config: "LoomConfig"

    def schedule_pipeline(self, *, cron: str, deploy: str, apply: bool = False, **pipeline: Any) -> dict[str, Any]:
        """The compiled template (and where it was written); `apply=True` also deploys it."""
        if deploy not in ORCHESTRATORS:
            raise UsageError(f"--deploy {deploy}: Loom compiles schedules for {', '.join(ORCHESTRATORS)}")
        if not _CRON.match(cron.strip()):
            raise UsageError(f"--schedule '{cron}' is not a cron expression (five fields, e.g. '0 6 * * *')")
        if rt.embedded(self.config):
            raise ConfigError("a schedule runs on a cluster: it needs a Metaflow profile with a shared datastore "
                              "(METAFLOW_PROFILE; see docs/scale.md), not Loom's embedded local datastore")
        settings = {"cron": cron.strip(), **{k: v for k, v in pipeline.items() if v not in (None, "")}}
        env = rt.subprocess_env(self.config)
        os.environ.update({k: v for k, v in env.items() if k.startswith("METAFLOW_")})  # the Deployer reads them here
        from metaflow import Deployer

        kwargs: dict[str, Any] = {"config_value": [("pipeline", settings)]}
        specs = rt.with_specs(self.config.metaflow_with, self.config)
        if specs:
            kwargs["decospecs"] = specs
        try:
            deployer = Deployer(str(PIPELINE_FLOW), show_output=False, env=env, cwd=str(Path.cwd()), **kwargs)
            deployed = deployer.argo_workflows().create(only_json=not apply)
        except Exception as exc:  # noqa: BLE001 - Metaflow raises RuntimeError/MetaflowException with its output
            raise ExecutionFailed(f"compiling LoomPipeline for Argo Workflows failed: {exc}") from None
        template = getattr(deployed, "workflow_template", None)
        out: dict[str, Any] = {"flow": "LoomPipeline", "orchestrator": "argo-workflows", "cron": settings["cron"],
                               "name": deployed.deployer.name, "applied": apply, "settings": settings}
        if template is not None:
            target = self.config.home / "deployments" / f"LoomPipeline-argo-{deployed.deployer.name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(template, indent=2))
            out.update(template_path=str(target), template=template)
        return out
