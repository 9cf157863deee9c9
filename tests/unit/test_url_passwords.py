"""A URL's password (`http://user:PW@host`) is `***` wherever Loom shows or saves the URL:
`loom config show` (table and --json), a run's manifest.json, doctor lines, --debug log lines."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.domain.checks import Check, Level
from loom.domain.llm import ChatRequest
from loom.domain.urls import hide_password, hide_passwords
from loom.entrypoints import registry
from loom.entrypoints.cli.app import main
from tests.fakes.llm_server import FakeLLMServer

PW = "FAKE-URLPW-4242"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text, shown", [
    (f"http://u:{PW}@127.0.0.1:1/v1", "http://u:***@127.0.0.1:1/v1"),
    (f"postgres://u:p@{PW}@db/x", "postgres://u:***@db/x"),  # an `@` inside the password
    (f"POST https://me:{PW}@h/v1/messages \"200\"", "POST https://me:***@h/v1/messages \"200\""),
    ("https://h/path?a=b@c", "https://h/path?a=b@c"),  # no userinfo: left alone
    ("http://user@h", "http://user@h"),
])
def test_hide_password(text: str, shown: str) -> None:
    assert hide_password(text) == shown
    assert hide_passwords({"a": [text, 1, None]}) == {"a": [shown, 1, None]}


def test_config_show_table_and_json(monkeypatch: pytest.MonkeyPatch, workdir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOM_MODEL_BASE_URL", f"http://u:{PW}@127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://u:{PW}@127.0.0.1:8")
    monkeypatch.setenv("COLUMNS", "250")
    for argv in (["config", "show", "--json"], ["config", "show"]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, None)
        out = capsys.readouterr().out
        assert "http://u:***@127.0.0.1:9/v1" in out and PW not in out
    check = Check("LOOM_MODEL_BASE_URL", Level.PASS, f"http://u:{PW}@h/v1", fix=f"try http://u:{PW}@h2")
    assert PW not in json.dumps(check.as_dict())


def test_a_runs_manifest_holds_no_url_password(monkeypatch: pytest.MonkeyPatch, clean_env: Path,
                                                             workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOM_MODEL_BASE_URL", f"http://u:{PW}@127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://u:{PW}@127.0.0.1:8")
    with pytest.raises(SystemExit) as exc:
        main(["run", "--data", str(ROOT / "examples" / "churn"), "--goal", "Predict churn",
              "--metric", "Maximize ROC-AUC", "--search", "baseline", "--mlops", "local", "--steps", "1", "--json"])
    assert exc.value.code == 0, capsys.readouterr().err
    [manifest] = list((clean_env / "runs").glob("*/manifest.json"))
    text = manifest.read_text()
    assert json.loads(text)["config"]["anthropic_base_url"] == "http://u:***@127.0.0.1:8"
    assert PW not in text
    assert PW not in "".join(p.read_text(errors="replace") for p in (clean_env / "runs").rglob("*.json"))


def test_debug_http_log_lines_hide_the_password(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from loom.entrypoints.logging import configure_logging

    url = fake_llm.base_url.replace("http://", f"http://u:{PW}@")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-url-test-1111")
    config = LoomConfig.load(env_file=None, flags={"anthropic_base_url": url, "llm_max_retries": 0})
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(debug=True, json=True, stream=stream)
    try:
        fake_llm.push("hello")
        reply = registry.create("models", "anthropic-api", config).complete(
            ChatRequest(system="s", user="u", model="claude-sonnet-4-5", temperature=0.2))
    finally:
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    assert reply.text == "hello"
    text = stream.getvalue()
    assert "u:***@127.0.0.1" in text  # the SDK logged the request URL, masked
    assert PW not in text
