"""Two AIDE searches at once in one process, through loom.api, with different model providers.

Run A talks to the fake LLM as `anthropic-api` (Messages API), run B as `openai-compat` (Chat
Completions), each with its own key handed over as a credentials mapping (os.environ holds no
key), its own model name and its own goal. The fake server holds the first call of each run
until the other run has called too, so the two searches really overlap. Every recorded
request must then carry its own run's key, model and goal: AIDE's module-level `query`
(patched once, dispatched per run through a ContextVar) never crosses runs.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from loom.api import Event, Loom, SearchResult
from tests.fakes.llm_server import FakeLLMServer, FakeRequest

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
STEPS = 2

RUNS = {
    "A": {"provider": "anthropic-api", "key_env": "ANTHROPIC_API_KEY", "key": "sk-ant-run-a-0001",
          "model": "claude-sonnet-4-5", "path": "/v1/messages"},
    "B": {"provider": "openai-compat", "key_env": "OPENAI_API_KEY", "key": "sk-run-b-0002",
          "model": "fake-model-b", "path": "/v1/chat/completions"},
}


def _loom(name: str, fake: FakeLLMServer, home: Path) -> Loom:
    spec = RUNS[name]
    endpoint = {"anthropic_base_url": fake.base_url} if name == "A" else {"model_base_url": fake.openai_base_url}
    return Loom(
        {"search_provider": "aide", "mlops_provider": "local", "home": home,
         "code_provider": spec["provider"], "feedback_provider": spec["provider"],
         "code_model": spec["model"], "feedback_model": spec["model"],
         "budget_steps": STEPS, "budget_num_drafts": 1, "exec_timeout": 20, "llm_max_retries": 0, **endpoint},
        credentials={spec["key_env"]: spec["key"]},
    )


def test_two_concurrent_aide_searches_each_reach_their_own_provider(
        fake_llm: FakeLLMServer, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # a host that configured no logging
    assert not any(k in os.environ for k in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"))
    both_called = threading.Barrier(2, timeout=60)
    first_seen: set[str] = set()
    seen_lock = threading.Lock()

    def hold_first_calls(req: FakeRequest) -> None:
        with seen_lock:
            first = req.api not in first_seen
            first_seen.add(req.api)
        if first:
            both_called.wait()  # each run's first call waits for the other run's first call
        return None  # the default replies: a tiny working solution; a review read from the output

    fake_llm.set_responder(hold_first_calls)
    results: dict[str, SearchResult] = {}
    errors: dict[str, BaseException] = {}
    events: dict[str, list[Event]] = {"A": [], "B": []}

    def search(name: str) -> None:
        try:
            results[name] = _loom(name, fake_llm, tmp_path / name).run(
                data=CHURN, goal=f"Predict churn for tenant {name}{name}{name}", metric="Maximize ROC-AUC",
                on_event=events[name].append)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors[name] = exc

    threads = [threading.Thread(target=search, args=(name,), name=f"search-{name}") for name in RUNS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert not both_called.broken, "the two searches never overlapped"

    for name, spec in RUNS.items():
        result = results[name]
        assert result.status.value == "OK" and len(result.nodes) == STEPS, result.to_dict()
        assert result.usage["code"].calls == STEPS and result.usage["feedback"].calls == STEPS
        assert {e.run_id for e in events[name]} == {result.run_id}  # each caller saw only its own events
        finished = [e for e in events[name] if e.kind == "node_finished"]
        assert len(finished) == STEPS and all(e.tokens for e in finished)
        assert [e.node_kind for e in finished][0] == "draft"
        assert any(e.kind == "llm_call" for e in events[name])
        run_dir = Path(result.run_dir)  # AIDE's working and log folders are per run, in its own home
        assert run_dir.is_relative_to(tmp_path / name) and list(run_dir.rglob("aide_journal.json"))
        calls = [r for r in fake_llm.requests if r.method == "POST" and r.path == spec["path"]]
        assert len(calls) == 2 * STEPS  # one code call and one judge call per step
        other = "B" if name == "A" else "A"
        for call in calls:
            auth = call.headers.get("authorization", "") + call.headers.get("x-api-key", "")
            assert spec["key"] in auth and RUNS[other]["key"] not in auth
            assert call.body["model"] == spec["model"]
            text = repr(call.body)
            assert f"tenant {name}{name}{name}" in text and f"tenant {other}{other}{other}" not in text
    assert results["A"].run_id != results["B"].run_id
    assert {r.path for r in fake_llm.requests if r.method == "POST"} == {s["path"] for s in RUNS.values()}
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)  # neither AIDE nor Loom printed anything
