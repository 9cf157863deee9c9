"""Golden conformance suite for the model-builder port, run over EVERY registered builder.

A builder that runs here (needs no GPU) must do the whole round trip for real: tokenize ->
pretrain -> embed -> finetune -> evaluate, each a run whose pathspec is readable with the
Client API, deterministic, with its manifest honest. A GPU builder must get as far as PLANNED
(the recipe written, the exact launch command) and refuse without a GPU target. Either way,
unsupported capabilities are refused up front and no backend name leaks past the port.
A new builder passes this suite unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.application.ports.builders import ModelBuilder
from loom.application.train_model import TrainModel
from loom.domain.errors import UsageError
from loom.domain.pathspec import Pathspec
from loom.domain.status import Status
from loom.domain.training import Capability, Objective, TrainIntent
from loom.entrypoints import registry

ROOT = Path(__file__).resolve().parents[2]
BUILDERS = registry.names("model_builders")
ROUND_TRIP = (Capability.TOKENIZE, Capability.PRETRAIN, Capability.EMBED, Capability.FINETUNE, Capability.EVALUATE)
LEAKS = re.compile(r"nemo|megatron|automodel_|\.nemo\b", re.I)
_PRETRAINED: dict[str, str] = {}  # builder -> the round trip's pretrain pathspec (reused below)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builders_home")


@pytest.fixture(scope="module")
def dataset(home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tutorial events, ingested once for the module (IngestDataset/N)."""
    import subprocess
    import sys

    data = tmp_path_factory.mktemp("events")
    subprocess.run([sys.executable, str(ROOT / "examples/events/make_data.py"), "--events", "8000",
                    "--out", str(data)], check=True, capture_output=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOOM_HOME", str(home))
        mp.setenv("USER", "tester")
        from loom.adapters.shared.metaflow_runtime import run_flow

        flows = ROOT / "src/loom/adapters/mlops/metaflow/flows"
        return run_flow(flows / "ingest_dataset.py", {"source": str(data), "target": "churned"},
                        LoomConfig.load(env_file=None))


@pytest.fixture
def config(home: Path, monkeypatch: pytest.MonkeyPatch) -> LoomConfig:
    monkeypatch.setenv("LOOM_HOME", str(home))
    return LoomConfig.load(env_file=None, flags={"gpu_target": "local"})


def _builder(name: str, config: LoomConfig) -> ModelBuilder:
    builder = registry.create("model_builders", name, config)
    assert isinstance(builder, ModelBuilder)
    return builder


def _no_leak(outcome_dict: dict) -> None:
    shown = {k: v for k, v in outcome_dict.items() if k != "plan"}
    shown["plan"] = {k: v for k, v in outcome_dict["plan"].items() if k != "builder"}  # the provider name
    if "launch" in shown:  # file paths live under LOOM_HOME; the argv/command are checked as shown
        shown["launch"] = {k: v for k, v in shown["launch"].items() if k in ("command", "train_command", "notes")}
    assert not LEAKS.search(json.dumps(shown, default=str)), shown


def _assert_pathspec(text: str | None) -> None:
    assert text and Pathspec.is_valid(text), text
    assert "://" not in text and not text.startswith(("/", ".", "~")) and "\\" not in text
    assert Pathspec.parse(text).flow == "TrainBackbone"


@pytest.mark.parametrize("name", BUILDERS)
def test_manifest_is_honest_and_unsupported_work_is_refused_up_front(name: str, config: LoomConfig) -> None:
    builder = _builder(name, config)
    manifest = builder.manifest()
    assert manifest.capabilities and manifest.capabilities <= set(Capability)
    assert manifest.objectives and manifest.objectives <= set(Objective)
    assert not LEAKS.search(json.dumps({k: v for k, v in manifest.as_dict().items() if k != "name"}))
    use_case = TrainModel(config, builder)
    for cap in set(Capability) - manifest.capabilities:
        with pytest.raises(UsageError, match="cannot"):
            use_case(TrainIntent.of("IngestDataset/1", capability=cap.value))
    for obj in set(Objective) - manifest.objectives:
        with pytest.raises(UsageError, match="objective"):
            use_case(TrainIntent.of("IngestDataset/1", objective=obj.value))


@pytest.mark.parametrize("name", BUILDERS)
def test_plan_is_priced_and_pure(name: str, config: LoomConfig, home: Path) -> None:
    builder = _builder(name, config)
    before = sorted(p for p in home.rglob("*"))
    for budget in ("probe", "small", "full"):
        plan = builder.plan(TrainIntent.of("IngestDataset/1", budget=budget), None)
        assert plan.gpus >= 0 and plan.hours >= 0
        assert plan.usd == pytest.approx(plan.gpus * plan.hours * plan.gpu_hour_usd)
        assert plan.needs_gpu == builder.manifest().needs_gpu
        assert plan.posture and not LEAKS.search(plan.posture)
    assert sorted(p for p in home.rglob("*")) == before  # planning writes nothing


@pytest.mark.parametrize("name", BUILDERS)
def test_without_a_gpu_target_only_cpu_builders_build(name: str, home: Path, dataset: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_HOME", str(home))
    config = LoomConfig.load(env_file=None)  # no LOOM_GPU_TARGET
    builder = _builder(name, config)
    if builder.manifest().needs_gpu:
        outcome = TrainModel(config, builder)(TrainIntent.of(dataset))
        assert outcome.status is Status.REFUSED_NO_GPU_TARGET and outcome.pathspec is None
        assert outcome.as_dict()["plan"]["gpus"] >= 1
        _no_leak(outcome.as_dict())
    else:
        assert builder.plan(TrainIntent.of(dataset), None).usd == 0


@pytest.mark.parametrize("name", BUILDERS)
def test_a_data_object_that_does_not_exist_is_a_usage_error_before_any_plan_or_gate(
        name: str, home: Path, dataset: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in --dataset or --backbone is exit 2 naming it, whatever the gate would say (no GPU
    target, a spend cap of $0); nothing is written."""
    monkeypatch.setenv("LOOM_HOME", str(home))
    before = sorted(home.rglob("*"))
    flow = Pathspec.parse(dataset).flow
    for flags in ({}, {"gpu_target": "local"}, {"max_usd": 0.0}):
        use_case = TrainModel(LoomConfig.load(env_file=None, flags=flags), _builder(name, LoomConfig.load(env_file=None)))
        with pytest.raises(UsageError, match=f"{flow}/987654 not found"):
            use_case(TrainIntent.of(f"{flow}/987654"))
        if Capability.EMBED in _builder(name, LoomConfig.load(env_file=None)).manifest().capabilities:
            with pytest.raises(UsageError, match="TrainBackbone/987654 not found"):
                use_case(TrainIntent.of(dataset, capability="embed", backbone="TrainBackbone/987654"))
    assert sorted(home.rglob("*")) == before


@pytest.mark.parametrize("name", BUILDERS)
def test_round_trip(name: str, config: LoomConfig, dataset: str) -> None:
    """tokenize -> pretrain -> embed -> finetune -> evaluate, as far as the builder runs here."""
    builder = _builder(name, config)
    manifest = builder.manifest()
    use_case = TrainModel(config, builder)
    previous: dict[Capability, str] = {}
    for cap in ROUND_TRIP:
        if cap not in manifest.capabilities:
            continue
        source = previous.get(Capability.FINETUNE if cap is Capability.EVALUATE else Capability.PRETRAIN)
        intent = TrainIntent.of(dataset, capability=cap.value, backbone=source)
        outcome = use_case(intent)
        _no_leak(outcome.as_dict())
        if manifest.needs_gpu:
            assert outcome.status is Status.PLANNED and outcome.pathspec is None  # nothing invented
            assert outcome.launch is not None and outcome.launch.recipe_file.is_file()
            assert outcome.launch.recipe_file.parent.is_relative_to(config.home)
            continue
        assert outcome.status is Status.BUILT, outcome.as_dict()
        _assert_pathspec(outcome.pathspec)
        previous[cap] = outcome.pathspec
        from loom.adapters.shared.metaflow_runtime import read_artifacts

        data = read_artifacts(outcome.pathspec, ["vocab", "fingerprint", "metrics", "manifest", "plan"], config)
        assert data["vocab"][:3] == ["[PAD]", "[UNK]", "[MASK]"]
        assert data["manifest"]["capabilities"] == sorted(c.value for c in manifest.capabilities)
        assert data["plan"]["capability"] == cap.value
        if cap is not Capability.TOKENIZE:
            assert data["fingerprint"] == outcome.result.fingerprint and len(data["fingerprint"]) == 64
        if cap in (Capability.EMBED, Capability.FINETUNE):  # reused the pretrained backbone as is
            assert outcome.result.fingerprint == read_artifacts(previous[Capability.PRETRAIN],
                                                                ["fingerprint"], config)["fingerprint"]
    if not manifest.needs_gpu:
        _PRETRAINED[name] = previous[Capability.PRETRAIN]
        assert set(previous) == set(ROUND_TRIP) & manifest.capabilities
        metrics = read_artifacts(previous[Capability.EVALUATE], ["metrics"], config)["metrics"]
        assert {"lift", "baseline_roc_auc", "roc_auc"} <= set(metrics)
        embed = read_artifacts(previous[Capability.EMBED], ["entity_embeddings", "entity_ids"], config)
        assert embed["entity_embeddings"].shape[0] == len(embed["entity_ids"]) > 0


@pytest.mark.parametrize("name", BUILDERS)
def test_determinism(name: str, config: LoomConfig, dataset: str) -> None:
    builder = _builder(name, config)
    use_case = TrainModel(config, builder)
    if builder.manifest().needs_gpu:
        intent = TrainIntent.of(dataset, objective=sorted(o.value for o in builder.manifest().objectives)[0])
        first, second = use_case(intent), use_case(intent)
        assert first.launch.shell() == second.launch.shell()
        assert first.launch.recipe_file.read_bytes() == second.launch.recipe_file.read_bytes()
        return
    from loom.adapters.shared.metaflow_runtime import read_artifacts

    intent = TrainIntent.of(dataset)  # the round trip's pretrain intent (next-event, probe)
    earlier = _PRETRAINED.get(name) or use_case(intent).pathspec
    again = use_case(intent)
    assert again.pathspec != earlier  # two runs ...
    assert again.result.fingerprint == read_artifacts(earlier, ["fingerprint"], config)["fingerprint"]  # one backbone
