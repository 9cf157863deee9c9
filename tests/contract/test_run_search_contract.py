"""The Search port contract, run against every registered search brain: it proposes candidates
only through the session, every step becomes one recorded node, and the journal tells the story.
LLM brains get in-process fake model ports (tests/fakes/fake_model.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.application.run_search import RunRequest, RunSearch
from loom.domain.search import NODE_KINDS
from loom.entrypoints import registry
from tests.fakes.fake_model import FakeModel


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    rng = random.Random(1)
    rows = [(i, round(rng.random(), 3), rng.choice("abc")) for i in range(80)]
    train = ["id,x,c,y"] + [f"{i},{x},{c},{int(x + rng.random() * 0.5 > 0.7)}" for i, x, c in rows[:60]]
    (d / "train.csv").write_text("\n".join(train) + "\n")
    (d / "test.csv").write_text("\n".join(["id,x,c"] + [f"{i},{x},{c}" for i, x, c in rows[60:]]) + "\n")
    return d


@pytest.mark.parametrize("name", registry.names("search"))
def test_every_step_is_one_recorded_node(name: str, tiny_data: Path, clean_env: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")  # the preflight checks presence only
    config = LoomConfig.load(flags={"home": str(clean_env), "search_provider": name, "mlops_provider": "local",
                                    "budget_steps": 2, "exec_timeout": 60})
    brain = registry.create("search", name, config)
    executor = registry.create("mlops", "local", config)
    code, judge = FakeModel("code"), FakeModel("judge")
    result = RunSearch(config, brain, executor, code_model=lambda: code, feedback_model=lambda: judge)(
        RunRequest(data=tiny_data, goal="Predict y", metric="Maximize accuracy"))
    assert result.status.value == "OK" and len(result.nodes) == 2
    assert [n.step for n in result.nodes] == [0, 1] and len({n.id for n in result.nodes}) == 2
    for node in result.nodes:
        assert node.kind in NODE_KINDS and node.code.strip()
        assert node.buggy or (node.metric is not None and node.selection is not None)
    if brain.needs_models:
        assert code.text_calls == 2 and judge.tool_calls == 2 and code.tool_calls == judge.text_calls == 0
    else:
        assert code.text_calls == judge.tool_calls == 0  # a keyless brain never calls a model
    journal = json.loads(Path(result.paths["journal"]).read_text())
    assert [n["id"] for n in journal["nodes"]] == [n.id for n in result.nodes] and journal["search"] == name
