"""loom.api: a keyless search prints nothing (fd level, child processes included), reads no
sys.argv and returns typed results; errors are typed LoomErrors; config/credentials semantics."""

from __future__ import annotations

import ast
import logging
import pydoc
import sys
import threading
from pathlib import Path

import pytest

import loom.api
from loom.api import (
    ConfigError,
    Event,
    Loom,
    MissingCredentialError,
    SearchResult,
    Status,
    UnknownProviderError,
    UsageError,
    config_from,
)

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
KEYLESS = {"search_provider": "baseline", "mlops_provider": "local"}


def test_keyless_search_prints_nothing_and_reads_no_argv(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["not-loom", "--steps", "99", "--bogus-flag"])
    # as in a host process that configured no logging (pytest's capture handlers would hide
    # Python's last-resort stderr handler)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    events: list[Event] = []
    api = Loom({**KEYLESS, "home": tmp_path / "home"}, on_event=events.append)
    result = api.run(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC", steps=2)
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    assert isinstance(result, SearchResult) and result.status is Status.OK and len(result.nodes) == 2
    assert result.best is not None and result.best.selection is not None and result.estimate is not None
    assert Path(result.paths["best_solution"]).is_file() and Path(result.run_dir).parent == tmp_path / "home" / "runs"
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("node_finished") == 2
    finished = [e for e in events if e.kind == "node_finished"]
    assert all(e.run_id == result.run_id and e.node_kind == "draft" for e in finished)


def test_stop_event_interrupts_the_run_and_resume_continues_it(tmp_path: Path) -> None:
    stop = threading.Event()

    def on_event(event: Event) -> None:
        if event.kind == "node_finished":
            stop.set()

    api = Loom({**KEYLESS, "home": tmp_path})
    result = api.run(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC", steps=3,
                     on_event=on_event, stop=stop)
    assert result.status is Status.INTERRUPTED and len(result.nodes) == 1
    assert Path(result.paths["journal"]).is_file()
    # resume from a Loom that does not name the brain: the run's own (baseline, local) is used
    resumed = Loom({"home": tmp_path}).with_config(seed=0).run(resume=result.run_id, steps=1)
    assert resumed.status is Status.OK and resumed.run_id == result.run_id and len(resumed.nodes) == 2


def test_stop_kills_the_running_candidate_instead_of_waiting_for_it(tmp_path: Path) -> None:
    stop = threading.Event()

    def on_event(event: Event) -> None:
        if event.kind == "node_started" and not stop.is_set():
            threading.Timer(0.3, stop.set).start()  # mid-candidate: a cold baseline candidate takes ~2 s

    # a clean interpreter per candidate, so the candidate is still running at 0.3 s (a warm one may be
    # done by then); the warm path's cancel is in tests/contract/test_run_executor_contract.py
    api = Loom({**KEYLESS, "home": tmp_path, "exec_warm": False})
    result = api.run(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC", steps=3,
                     on_event=on_event, stop=stop)
    assert result.status is Status.INTERRUPTED
    assert result.nodes == []  # the in-flight candidate was killed, not run to completion and recorded


def test_errors_are_typed_never_exits(tmp_path: Path, workdir: Path) -> None:
    api = Loom({**KEYLESS, "home": tmp_path})
    with pytest.raises(UsageError, match="--goal is required"):
        api.run(data=CHURN, metric="Maximize ROC-AUC")
    with pytest.raises(UsageError):
        api.run(data=tmp_path / "missing", goal="g", metric="Maximize ROC-AUC")
    with pytest.raises(UnknownProviderError, match="valid names"):
        api.with_config(search_provider="nope").run(data=CHURN, goal="g", metric="Maximize ROC-AUC")
    with pytest.raises(UsageError, match="metaflow"):  # the local muscle keeps no data objects
        api.datasets()
    with pytest.raises(UsageError):
        api.train("IngestDataset/1", objective="sideways")
    # the aide brain without a key: refused before any spend, as a typed error
    with pytest.raises(MissingCredentialError, match="ANTHROPIC_API_KEY") as err:
        Loom({"search_provider": "aide", "mlops_provider": "local", "home": tmp_path}, credentials={}).run(
            data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC")
    assert err.value.hint == "the baseline brain needs no key: --search baseline"  # the keyless way out


def test_config_dict_is_defaults_plus_dict_and_from_env_layers(
        monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("LOOM_BUDGET_STEPS", "7")
    assert Loom({"budget_steps": 3}).config.budget_steps == 3
    assert Loom().config.budget_steps == 10  # a dict/None config never reads the environment
    assert Loom.from_env().config.budget_steps == 7
    assert Loom.from_env(budget_steps=4).config.budget_steps == 4  # overrides win like flags
    (workdir / "loom.yaml").write_text("budget_steps: 5\nseed: 9\n")
    assert Loom.from_env(yaml_file=workdir / "loom.yaml").config.seed == 9
    assert Loom({"search_provider": " Baseline "}).with_config(seed=3).config.search_provider == "baseline"
    with pytest.raises(ConfigError, match="unknown setting 'stepz'"):
        config_from({"stepz": 1})
    with pytest.raises(ConfigError, match="looks like a secret"):
        config_from(anthropic_api_key="sk-ant-xyz")
    with pytest.raises(ConfigError, match="'budget_steps'"):
        config_from(budget_steps=0)
    with pytest.raises(UsageError):
        Loom(["not", "a", "config"])  # type: ignore[arg-type]


def test_credentials_from_a_mapping_or_callable_never_on_the_config(workdir: Path) -> None:
    settings = {"search_provider": "aide", "code_provider": "anthropic-api", "feedback_provider": "anthropic-api"}
    secret = "sk-ant-never-shown-123"

    def fails(api: Loom) -> list[str]:
        return [c.subject for c in api.check_models() if c.level.value == "FAIL"]

    assert any("ANTHROPIC_API_KEY" in s for s in fails(Loom(settings, credentials={})))
    with_mapping = Loom(settings, credentials={"ANTHROPIC_API_KEY": secret})
    with_callable = Loom(settings, credentials=lambda name: secret if name == "ANTHROPIC_API_KEY" else None)
    assert not fails(with_mapping) and not fails(with_callable)
    assert secret not in repr(with_mapping) and secret not in repr(with_mapping.config.public_dict())
    with pytest.raises(UsageError):
        Loom(settings, credentials=42)  # type: ignore[arg-type]


def test_help_renders_and_the_facade_never_prints_or_exits() -> None:
    text = pydoc.render_doc(loom.api, renderer=pydoc.plaintext)
    for needle in ("class Loom", "run(self", "Search for the best solution",
                   "never prints", "config_from", "credentials"):
        assert needle in text, needle
    tree = ast.parse(Path(loom.api.__file__).read_text())
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not calls & {"print", "sys.exit", "exit", "quit", "os._exit"}
    attributes = {ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "sys.argv" not in attributes


def test_import_loom_stays_light_and_the_api_imports_no_backend() -> None:
    import subprocess

    code = ("import sys, loom; heavy = [m for m in ('loom.api', 'pydantic', 'dependency_injector') "
            "if m in sys.modules]; assert not heavy, heavy; assert loom.api.Loom; "
            "backends = [m for m in ('aide', 'anthropic', 'openai', 'metaflow', 'numpy', 'pandas', 'sklearn', "
            "'torch', 'dependency_injector', 'structlog', 'rich') if m in sys.modules]; "
            "assert not backends, backends")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_verb_reaches_its_use_case(tmp_path: Path, workdir: Path) -> None:
    """Cheap wiring check: with the local muscle the data-object verbs refuse with the one line
    that points at metaflow (so each call reached its use-case); train prices and gates."""
    api = Loom({**KEYLESS, "home": tmp_path})
    calls = {
        "ingest": lambda: api.ingest(ROOT / "examples" / "churn"),
        "runs": lambda: api.runs(),
        "show": lambda: api.show("IngestDataset/1"),
        "card": lambda: api.card("IngestDataset/1"),
        "eda": lambda: api.eda("IngestDataset/1", target="churn"),
        "features": lambda: api.features("IngestDataset/1", from_eda="EdaFlow/2"),
        "validate": lambda: api.validate("IngestDataset/1", solution="run-1"),
        "report": lambda: api.report(runs=["ValidateFlow/3"]),
        "ops": lambda: api.ops(flow="CandidateRun"),
        "deploy": lambda: api.deploy(validate="ValidateFlow/3"),
    }
    for verb, call in calls.items():
        with pytest.raises(UsageError, match="metaflow"):
            call()
    stages: list[str] = []
    piped = api.pipeline(dataset="IngestDataset/1", metric="Maximize ROC-AUC",
                         on_stage=lambda s: stages.append(f"{s.stage}:{s.status}"))
    assert piped.failed_stage == "eda" and stages[:2] == ["ingest:OK", "eda:FAILED"]
    data = api.with_config(mlops_provider="metaflow").ingest(ROOT / "examples" / "churn")  # train finds its data first
    outcome = api.with_config(model_builder_provider="nemo").train(data.pathspec, budget="small")
    assert outcome.status is Status.REFUSED_NO_GPU_TARGET and outcome.plan.gpus >= 1


def test_a_pipeline_stops_when_its_caller_sets_stop(tmp_path: Path) -> None:
    """loom.api.pipeline's stop handle: the stages after the current one are skipped, INTERRUPTED."""
    stop = threading.Event()
    stages: list[str] = []

    def on_stage(stage) -> None:  # noqa: ANN001
        stages.append(f"{stage.stage}:{stage.status}")
        if stage.stage == "eda":
            stop.set()

    api = Loom({"search_provider": "baseline", "mlops_provider": "metaflow", "home": tmp_path})
    result = api.pipeline(source=CHURN, goal="Predict churn", metric="Maximize ROC-AUC", target="churn",
                          on_stage=on_stage, stop=stop)
    assert result.status == "INTERRUPTED", result
    assert stages == ["ingest:OK", "eda:OK", "features:SKIPPED", "run:SKIPPED", "validate:SKIPPED", "report:SKIPPED"]
