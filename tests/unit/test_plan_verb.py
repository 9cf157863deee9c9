"""`loom plan` against the fake LLM server: a tool-call plan, validated, rendered as commands."""

from __future__ import annotations

import json

import pytest

from loom.entrypoints.cli.app import main


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_plan_renders_validated_steps(fake_llm, workdir, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-plan-test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url)
    fake_llm.push(tool_args={"steps": [
        {"verb": "ingest", "args": {"source": "data/customers.csv", "target": "churned"}, "why": "version the data"},
        {"verb": "teleport", "args": {}, "why": "not a verb"},
        {"verb": "run", "args": {"dataset": "IngestDataset/<id>", "metric": "Maximize ROC-AUC"}, "why": "search"},
    ]})
    assert _main(["plan", "predict churn from customers.csv", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [s["verb"] for s in payload["steps"]] == ["ingest", "run"]
    assert payload["steps"][0]["command"] == "loom ingest --source data/customers.csv --target churned"
    assert payload["dropped_verbs"] == ["teleport"]
    sent = fake_llm.requests[-1]
    assert sent.body["tools"][0]["name"] == "submit_plan"
    assert "predict churn" in json.dumps(sent.body["messages"])


def test_plan_without_key_is_exit_2_before_any_call(fake_llm, workdir, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url)
    assert _main(["plan", "predict churn"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert fake_llm.requests == []


def test_plan_needs_a_goal(workdir, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-plan-test-key")
    assert _main(["plan", "  "]) == 2
