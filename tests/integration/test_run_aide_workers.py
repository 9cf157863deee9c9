"""The AIDE brain with --workers and --time-budget: improve steps from different parents run at
the same time, not only drafts; a time budget ends the run for an LLM brain too. Real aide, real
candidates on the local executor, in-process fake model ports (tests/fakes/fake_model.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.application.ports.observer import CallbackObserver, Event
from loom.application.run_search import RunRequest, RunSearch
from loom.domain.llm import ChatRequest, ChatResponse
from tests.fakes.fake_model import FakeModel

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"


class SlowCandidates(FakeModel):
    """Writes the fake LLM's usual solution, made to take `seconds` to run."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(name)
        self.seconds = seconds

    def complete(self, request: ChatRequest) -> ChatResponse:
        response = super().complete(request)
        if response.text and "```python\n" in response.text:
            slow = f"```python\nimport time\ntime.sleep({self.seconds})\n"
            return replace(response, text=response.text.replace("```python\n", slow, 1))
        return response


def _search(home: Path, seconds: float, **flags: object) -> tuple[object, list[tuple[float, Event]]]:
    from loom.adapters.mlops.local import LocalMLOps
    from loom.adapters.search.aide import AideSearch

    config = LoomConfig.load(env_file=None, flags={"home": str(home), "exec_timeout": 60, **flags})
    events: list[tuple[float, Event]] = []
    lock = threading.Lock()

    def seen(event: Event) -> None:
        with lock:
            events.append((time.monotonic(), event))

    code = SlowCandidates("code", seconds)
    use_case = RunSearch(config, AideSearch(config), LocalMLOps(config), code_model=lambda: code,
                         feedback_model=lambda: FakeModel("judge"))
    result = use_case(RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"),
                      observer=CallbackObserver(seen))
    return result, events


def test_two_workers_improve_two_parents_at_once(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    result, events = _search(clean_env, 2.0, budget_steps=4, budget_num_drafts=2, budget_debug_prob=0.0,
                             workers=2)
    assert result.status.value == "OK" and len(result.nodes) == 4
    improves = [n for n in result.nodes if n.kind == "improve"]
    drafts = {n.id for n in result.nodes if n.kind == "draft"}
    assert len(improves) == 2 and {n.parent_id for n in improves} == drafts  # one per parent
    started = [t for t, e in events if e.kind == "node_started" and e.node_kind == "improve"]
    finished = [t for t, e in events if e.kind == "node_finished" and e.node_kind == "improve"]
    assert len(started) == 2 and max(started) < min(finished)  # both were running at the same time


def test_a_time_budget_ends_an_llm_brains_run(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    budget = 8.0
    started = time.monotonic()
    result, events = _search(clean_env, 3.0, budget_steps=50, time_budget=budget)
    elapsed = time.monotonic() - started
    assert elapsed < budget + 60  # the budget plus one candidate's timeout, at most
    assert result.status.value == "OK" and 1 <= len(result.nodes) < 50
    assert "time budget" in result.message
    last_start = max(t for t, e in events if e.kind == "node_started")
    first = min(t for t, e in events if e.kind == "run_started")
    assert last_start - first <= budget + 0.5  # nothing started past the budget


def test_the_aide_brain_imports_no_vendor_sdk_and_no_plotting() -> None:
    code = ("import sys\nfrom loom.adapters.search import aide_bridge\naide_bridge.install_dispatch()\n"
            "print(sorted(m for m in ('anthropic', 'openai', 'igraph', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    use = ("from loom.adapters.search import aide_bridge\naide_bridge.install_dispatch()\n"
           "import aide.backend, aide.utils.tree_export as t\n"
           "print(aide.backend.determine_provider('claude-x'), t.Graph.__name__)")
    done = subprocess.run([sys.executable, "-c", use], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["anthropic", "Graph"], done.stderr  # still there on use
