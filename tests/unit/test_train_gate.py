"""The train gate: every outcome shows the plan; refusals launch nothing."""

from __future__ import annotations

import pytest

from loom.application.config import LoomConfig
from loom.application.train_model import TrainModel
from loom.domain.errors import ConfigError, UsageError
from loom.domain.status import Status
from loom.domain.training import Budget, TrainIntent, gpu_target_scheme, resources_for
from tests.fakes.builders import FakeGpuBuilder


def _run(flags: dict | None = None, *, launch: bool = False, max_usd: float | None = None,
         intent: TrainIntent | None = None):  # type: ignore[no-untyped-def]
    config = LoomConfig.load(env_file=None, flags=flags or {})
    builder = FakeGpuBuilder(config)
    outcome = TrainModel(config, builder)(intent or TrainIntent.of("IngestDataset/3"), launch=launch, max_usd=max_usd)
    return outcome, builder


def test_no_target_is_refused_with_the_plan_and_nothing_prepared() -> None:
    outcome, builder = _run()
    assert outcome.status is Status.REFUSED_NO_GPU_TARGET and outcome.status.exit_code == 3
    assert outcome.plan.gpus == 1 and outcome.plan.usd == pytest.approx(2.0)
    assert outcome.as_dict()["plan"]["gpu_hours"] == 0.5
    assert builder.prepared == [] and builder.built == [] and outcome.pathspec is None


def test_a_target_without_launch_is_planned_with_the_command_and_no_pathspec() -> None:
    outcome, builder = _run({"gpu_target": "kubernetes"})
    assert outcome.status is Status.PLANNED and outcome.status.exit_code == 0
    assert outcome.launch is not None and outcome.as_dict()["launch"]["command"].endswith("run-it")
    assert outcome.pathspec is None and builder.built == []


def test_launch_builds_and_returns_the_pathspec() -> None:
    outcome, builder = _run({"gpu_target": "batch:queue=gpu"}, launch=True)
    assert outcome.status is Status.BUILT and outcome.pathspec == "TrainBackbone/1"
    assert len(builder.built) == 1


def test_unknown_target_scheme_is_refused() -> None:
    outcome, builder = _run({"gpu_target": "slurm://cluster"}, launch=True)
    assert outcome.status is Status.REFUSED_UNKNOWN_GPU_TARGET and builder.built == []


def test_spend_cap_below_the_plan_is_refused_and_config_cap_applies_too() -> None:
    outcome, builder = _run({"gpu_target": "local"}, launch=True, max_usd=1.0)
    assert outcome.status is Status.REFUSED_SPEND_CAP and builder.built == []
    assert "$2.00" in outcome.message
    outcome, _ = _run({"gpu_target": "local", "max_usd": 1.0})
    assert outcome.status is Status.REFUSED_SPEND_CAP
    outcome, _ = _run({"gpu_target": "local"}, max_usd=2.0)
    assert outcome.status is Status.PLANNED


def test_price_table_and_gpu_hour_price_come_from_config() -> None:
    flags = {"gpu_hour_usd": 2.5, "train_price_table": {"probe": {"gpus": 2, "hours": 3}}}
    outcome, _ = _run(flags)
    assert (outcome.plan.gpus, outcome.plan.hours, outcome.plan.usd) == (2, 3, 15.0)
    with pytest.raises(UsageError, match="unknown key 'gpu'"):
        resources_for(Budget.SMALL, {"small": {"gpu": 3}})
    with pytest.raises(ConfigError):
        LoomConfig.load(env_file=None, flags={"gpu_hour_usd": -1})


def test_capabilities_outside_the_manifest_are_refused_up_front() -> None:
    with pytest.raises(UsageError, match="cannot embed; it can: pretrain"):
        _run({"gpu_target": "local"}, intent=TrainIntent.of("IngestDataset/3", capability="embed"))
    with pytest.raises(UsageError, match="no contrastive objective"):
        _run(intent=TrainIntent.of("IngestDataset/3", objective="contrastive"))
    with pytest.raises(UsageError, match="not a pathspec"):
        _run(intent=TrainIntent.of("/data/events.csv"))
    with pytest.raises(UsageError, match="unknown budget"):
        TrainIntent.of("IngestDataset/3", budget="huge")


def test_target_schemes() -> None:
    assert [gpu_target_scheme(t) for t in ("kubernetes", "Batch:queue=x", "local", "slurm://a")] == [
        "kubernetes", "batch", "local", "slurm"]


def test_price_table_values_are_typed_and_checked() -> None:
    res = resources_for(Budget.PROBE, {"probe": {"gpus": 2.0, "hours": "1.5", "max_steps": 10}})
    assert (res.gpus, res.hours, res.max_steps) == (2, 1.5, 10) and isinstance(res.gpus, int)
    with pytest.raises(UsageError, match="must be a number"):
        resources_for(Budget.PROBE, {"probe": {"hours": "soon"}})
    with pytest.raises(UsageError, match="out of range"):
        resources_for(Budget.PROBE, {"probe": {"max_steps": 0}})


def test_builder_modules_import_no_backend() -> None:
    import subprocess
    import sys

    code = ("import sys, loom.adapters.builders.local, loom.adapters.builders.nemo, loom.application.train_model, "
            "loom.entrypoints.cli.train; print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'sklearn', "
            "'metaflow', 'torch', 'nemo_automodel', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
