"""`loom train` end to end through the CLI: the local builder builds for real (a TrainBackbone
run readable with the Client API, with a card); the default GPU builder refuses without a
target and plans with one (recipe + exact launch command + a flow Metaflow accepts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def loom(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from loom.entrypoints.cli.app import app
    from loom.entrypoints.cli.common import Common, set_global
    from loom.entrypoints.cli.errors import run_guarded

    tokens = list(args)
    try:
        code = run_guarded(lambda: app.meta(tokens), tokens)
    finally:
        set_global(Common())
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("train_cli_home")


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOOM_HOME", str(home))
    monkeypatch.chdir(home)
    return home


@pytest.fixture(scope="module")
def dataset(home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("events")
    subprocess.run([sys.executable, str(ROOT / "examples/events/make_data.py"), "--out", str(data)],
                   check=True, capture_output=True)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("loom")), "ingest", "--source", str(data), "--target", "churned", "--json"],
        capture_output=True, text=True, cwd=home,
        env={**os.environ, "LOOM_HOME": str(home), "USER": os.environ.get("USER") or "tester"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["pathspec"]


def test_local_builder_builds_a_backbone_readable_with_the_client_api(
        env: Path, dataset: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_MODEL_BUILDER_PROVIDER", "local")
    code, out, err = loom(capsys, "train", "--dataset", dataset, "--objective", "next-event", "--budget", "probe",
                          "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "BUILT" and payload["plan"]["gpus"] == 0 and payload["plan"]["usd"] == 0
    pathspec = payload["pathspec"]
    assert pathspec.startswith("TrainBackbone/")

    from loom.adapters.shared.metaflow_card_files import card_files
    from loom.adapters.shared.metaflow_runtime import client

    from loom.application.config import LoomConfig

    config = LoomConfig.load(env_file=None)
    with client(config) as mf:
        data = mf.Run(pathspec).data
        assert data.fingerprint == payload["fingerprint"]
        assert data.embeddings.shape == (len(data.vocab), 16)
        assert data.plan["posture"] == payload["plan"]["posture"]
        assert data.metrics["lift"] == payload["metrics"]["lift"]
    cards = card_files(config, pathspec)
    text = _card_text(cards[-1].read_text(encoding="utf-8"))
    assert payload["fingerprint"] in text and "Lift" in text and "Plan" in text
    assert "local CPU, no GPU needed" in text


def _card_text(html: str) -> str:
    """The card's components (Metaflow embeds them as base64 JSON in the HTML)."""
    import base64
    import re

    blobs = re.findall(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', html)
    assert blobs, "no card data in the HTML"
    return "".join(base64.b64decode(b).decode("utf-8") for b in blobs)


def test_human_output_shows_the_plan_then_the_status(env: Path, dataset: str, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = loom(capsys, "train", "--dataset", dataset)  # default builder: GPU, no target
    assert code == 3
    assert out.index("PLAN") < out.index("GPUs") < out.index("STATUS REFUSED_NO_GPU_TARGET")
    assert "$2.00" in out and "GPU-hours" in out and "LOOM_GPU_TARGET" in out
    assert not list(env.glob("train/*"))  # nothing prepared, nothing launched
    code, out, _ = loom(capsys, "train", "--dataset", dataset, "--json")
    assert code == 3 and json.loads(out)["status"] == "REFUSED_NO_GPU_TARGET"
    assert json.loads(out)["plan"]["gpu_hours"] == 0.5 and json.loads(out)["pathspec"] is None


def test_gpu_plan_writes_the_recipe_and_the_exact_launch(env: Path, dataset: str, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_GPU_TARGET", "local")
    code, out, err = loom(capsys, "train", "--dataset", dataset, "--budget", "small", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "PLANNED" and payload["pathspec"] is None
    launch = payload["launch"]
    assert launch["train_command"] == "automodel recipe.yaml --nproc-per-node 4"
    flow = Path(launch["argv"][1])
    assert flow.name == "train_backbone.py" and flow.parent == Path(launch["plan_file"]).parent
    assert flow.parent.parent == env / "train" and flow.is_file()
    assert launch["argv"][2:] == ["--no-pylint", "--config", "plan", launch["plan_file"], "run",
                                  "--dataset", dataset, "--tag", "tenant:local", "--tag", f"owned_by:{os.environ['USER']}"]
    assert launch["command"].startswith(f"cd {env / 'metaflow'} && ")  # the embedded datastore root
    recipe = yaml.safe_load(Path(launch["recipe_file"]).read_text())
    assert recipe["recipe"] == "TrainFinetuneRecipeForNextTokenPrediction"
    assert recipe["step_scheduler"]["max_steps"] == payload["plan"]["max_steps"] == 5000
    assert recipe["distributed"]["dp_size"] == 4
    plan = json.loads(Path(launch["plan_file"]).read_text())
    assert plan["resources"]["gpus"] == 4 and plan["recipe"] == recipe
    assert "torch" not in sys.modules

    show = subprocess.run([*launch["argv"][:6], "show"], cwd=launch["cwd"], capture_output=True, text=True,
                          env={**os.environ, "USER": os.environ.get("USER") or "tester"})
    assert show.returncode == 0, show.stderr
    assert "Step train" in show.stdout + show.stderr

    monkeypatch.setenv("LOOM_GPU_TARGET", "kubernetes:namespace=gpu")
    code, out, _ = loom(capsys, "train", "--dataset", dataset)
    assert code == 0 and "--with kubernetes:namespace=gpu" in out and "STATUS PLANNED" in out


def test_launch_goes_through_metaflow_up_to_the_training_command(
        env: Path, dataset: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: the launch is a real TrainBackbone run that reads the dataset with the Client
    API, writes the shards and the recipe, and runs the training command, which then fails for
    want of the GPU stack. That failure is reported with the plan and the run's pathspec."""
    import re

    monkeypatch.setenv("LOOM_GPU_TARGET", "local")
    code, out, err = loom(capsys, "train", "--dataset", dataset, "--launch", "--budget", "small", "--json")
    payload = json.loads(out)
    assert code == 1 and payload["status"] == "FAILED", payload
    assert payload["plan"]["gpus"] == 4 and payload["pathspec"] is None
    assert "training command failed" in payload["message"]
    run = re.search(r"TrainBackbone/\d+", payload["message"]).group(0)

    from loom.adapters.shared.metaflow_runtime import client

    from loom.application.config import LoomConfig

    with client(LoomConfig.load(env_file=None)) as mf:
        start = mf.Run(run)["start"].task.data
        assert start.requested_resources["gpu"] == 4  # @resources(gpu=...) came from the plan
        assert start.cost_plan["usd"] == payload["plan"]["usd"]


@pytest.mark.parametrize("builder", ["local", "nemo"])
def test_a_build_under_way_stops_when_its_caller_cancels(
        builder: str, env: Path, dataset: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What an MCP cancel (or any in-process caller's stop event) does to `train`: the flow's
    processes are killed at once and the answer is INTERRUPTED (exit 130), not a finished build."""
    import threading
    import time

    from loom.entrypoints.cli.common import CallHooks, hooked

    monkeypatch.setenv("LOOM_MODEL_BUILDER_PROVIDER", builder)
    if builder == "nemo":
        monkeypatch.setenv("LOOM_GPU_TARGET", "local")
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()  # a Metaflow run takes longer than that to get anywhere
    started = time.monotonic()
    with hooked(CallHooks(stop=stop)):
        code, out, err = loom(capsys, "train", "--dataset", dataset, "--budget", "probe" if builder == "local" else "small",
                              *(["--launch"] if builder == "nemo" else []), "--json")
    payload = json.loads(out)
    assert payload["status"] == "INTERRUPTED" and code == 130, payload
    assert "cancelled" in payload["message"]
    assert time.monotonic() - started < 20
