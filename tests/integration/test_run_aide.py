"""`loom run` with the AIDE brain end to end: real aide, real SDKs over HTTP to the fake LLM
server, real candidate executions on the local executor. Faults: a hanging candidate, a
crashing one, a judge with malformed arguments, a 429, Ctrl-C then --resume, --max-usd."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from pathlib import Path

import pytest

from loom.entrypoints.cli.app import main
from tests.fakes.llm_server import FakeLLMServer, Reply

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
RUN = ["run", "--mlops", "local", "--data", str(CHURN), "--goal", "Predict churn",
       "--metric", "Maximize ROC-AUC", "--json"]

LOOP = "Plan: wait forever.\n\n```python\nwhile True:\n    pass\n```\n"
CRASH = "Plan: divide by zero.\n\n```python\nprint('starting')\nx = 1 / 0\n```\n"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), (json.loads(captured.out) if captured.out.strip() else {"stderr": captured.err})


@pytest.fixture
def anthropic_env(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> FakeLLMServer:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url)
    return fake_llm


@pytest.mark.parametrize("provider", ["anthropic-api", "openai-compat"])
def test_aide_end_to_end_through_each_sdk(provider: str, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                          workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if provider == "anthropic-api":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url)
        path = "/v1/messages"
    else:
        monkeypatch.setenv("LOOM_MODEL_BASE_URL", fake_llm.openai_base_url)
        monkeypatch.setenv("LOOM_CODE_MODEL", "fake-model")
        monkeypatch.setenv("LOOM_FEEDBACK_MODEL", "fake-model")
        path = "/v1/chat/completions"
    code, payload = _cli([*RUN, "--model-provider", provider, "--steps", "3", "--exec-timeout", "20"], capsys)
    assert code == 0 and payload["status"] == "OK", payload
    assert payload["nodes"] == 3 and len(payload["leaderboard"]) == 3
    assert all(row["selection"] is not None for row in payload["leaderboard"] if not row["buggy"])
    # the fake's solutions predict the majority class: ROC-AUC 0.5, no better than the class shares
    assert payload["estimate"]["value"] == payload["floor"]["value"] == 0.5, payload["floor"]
    assert any("no better than always predicting the class shares" in w for w in payload["warnings"])
    calls = [r for r in fake_llm.requests if r.path == path]
    judged = [r for r in calls if r.body.get("tools")]
    assert len(calls) == 6 and len(judged) == 3  # 3 code-writer calls, 3 judge (tool) calls
    assert payload["usage"]["code"]["calls"] == 3 and payload["usage"]["feedback"]["calls"] == 3
    # aide's process-wide side effects are undone
    assert not any(type(h).__name__ == "RichHandler" for h in logging.getLogger().handlers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("still heard", UserWarning, stacklevel=1)
    assert caught


def test_hang_crash_malformed_judge_and_429_do_not_stop_the_run(
        anthropic_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake = anthropic_env
    state = {"code": 0, "judge": 0}

    def responder(req):  # noqa: ANN001, ANN202
        if req.tool_name:
            state["judge"] += 1
            return Reply(malformed=True) if state["judge"] <= 2 else None  # node 0's judge: bad twice
        state["code"] += 1
        return {1: LOOP, 2: CRASH}.get(state["code"])

    fake.push(status=429)  # the very first call is rate-limited, then the SDK retries
    fake.set_responder(responder)
    code, payload = _cli([*RUN, "--steps", "3", "--exec-timeout", "2"], capsys)
    assert code == 0 and payload["status"] == "OK" and payload["nodes"] == 3, payload
    journal = json.loads(Path(payload["paths"]["journal"]).read_text())
    hang, crash, good = journal["nodes"]
    assert hang["timed_out"] and hang["buggy"] and "judge failed" in hang["analysis"]
    assert crash["buggy"] and crash["exc_type"] == "ZeroDivisionError" and "1 / 0" in crash["term_out"]
    assert not good["buggy"] and good["selection"] is not None
    assert len(fake.requests) == 8  # 3 code + 1 retried 429 + judges: 2 malformed + 2


def test_ctrl_c_saves_the_run_and_resume_continues_it(
        anthropic_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    from loom.application.config import LoomConfig
    from loom.application.ports.observer import CallbackObserver
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container

    def interrupt(event):  # noqa: ANN001, ANN202
        if event.kind == "node_finished":
            raise KeyboardInterrupt

    config = LoomConfig.load(flags={"mlops_provider": "local", "budget_steps": 4, "exec_timeout": 20})
    result = build_container(config).run_search()(
        RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"),
        observer=CallbackObserver(interrupt))
    assert result.status.value == "INTERRUPTED" and result.status.exit_code == 130
    assert len(result.nodes) == 1 and Path(result.paths["leaderboard"]).is_file()
    first = result.nodes[0].id

    code, payload = _cli(["run", "--resume", result.run_id, "--steps", "2", "--json"], capsys)
    assert code == 0 and payload["status"] == "OK" and payload["nodes"] == 3
    journal = json.loads(Path(payload["paths"]["journal"]).read_text())
    assert journal["nodes"][0]["id"] == first and [n["step"] for n in journal["nodes"]] == [0, 1, 2]


def test_max_usd_stops_before_the_call_that_would_pass_it(
        anthropic_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = _cli([*RUN, "--steps", "5", "--max-usd", "0.015", "--exec-timeout", "20"], capsys)
    assert code == 0 and payload["status"] == "STOPPED_AT_BUDGET"
    assert payload["nodes"] == 1 and payload["usd"] <= 0.015


def test_two_runs_in_threads_each_reach_their_own_model_ports(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    from dependency_injector import providers

    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest
    from loom.entrypoints.container import build_container
    from tests.fakes.fake_model import FakeModel

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    config = LoomConfig.load(flags={"mlops_provider": "local", "budget_steps": 2, "exec_timeout": 20})
    fakes, results = [], {}

    def one(i: int) -> None:
        container = build_container(config)
        code, judge = FakeModel(f"code{i}"), FakeModel(f"judge{i}")
        fakes.append((code, judge))
        container.code_model.override(providers.Object(code))
        container.feedback_model.override(providers.Object(judge))
        results[i] = container.run_search()(RunRequest(data=CHURN, goal="Predict churn", metric="Maximize ROC-AUC"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status.value for r in results.values()} == {"OK"} and results[0].run_id != results[1].run_id
    for code, judge in fakes:
        assert (code.text_calls, code.tool_calls, judge.text_calls, judge.tool_calls) == (2, 0, 0, 2)


NO_SUBMISSION = "Plan: report a metric, write nothing.\n\n```python\nprint('Validation metric (accuracy): 0.99')\n```\n"


def test_a_candidate_without_a_gradable_submission_is_a_failed_node_not_a_best(
        anthropic_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    """It claimed 0.99 and wrote nothing: ranked on its claim it was the best, with no estimate."""
    state = {"code": 0}

    def responder(req):  # noqa: ANN001, ANN202
        if req.tool_name:
            return None
        state["code"] += 1
        return NO_SUBMISSION if state["code"] == 1 else None

    anthropic_env.set_responder(responder)
    code, payload = _cli([*RUN, "--steps", "2", "--exec-timeout", "20"], capsys)
    assert code == 0 and payload["status"] == "OK", payload
    journal = json.loads(Path(payload["paths"]["journal"]).read_text())
    silent = journal["nodes"][0]
    assert silent["buggy"] and silent["exc_type"] == "GradingError" and "no submission" in silent["selection_error"]
    assert payload["best"]["node_id"] != silent["id"] and payload["best"]["selection"] is not None
