"""`loom proxy serve` as a user runs it: a real process, a printed URL, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.llm_server import FakeLLMServer

LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(extra)
    return env


def _start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    proc = subprocess.Popen([*LOOM, "proxy", "serve", "--port", "0", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    assert proc.stderr is not None
    for _ in range(5):
        line = proc.stderr.readline()
        lines.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return proc, found.group(1), lines
    proc.kill()
    raise AssertionError(f"no URL printed: {lines!r}")


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("gateway never became healthy")


def test_serve_prints_the_url_serves_and_stops_cleanly_on_ctrl_c(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    log_path = tmp_path / "learnings" / "calls.jsonl"
    env = _env(ANTHROPIC_API_KEY="sk-vendor-cli-000", ANTHROPIC_BASE_URL=fake_llm.base_url,
               LOOM_API_KEY="lk-cli-0123456789")
    proc, url, _ = _start(env, "--log-path", str(log_path), "--json")
    try:
        _wait_healthy(url)
        resp = httpx.post(url + "/v1/messages", headers={"authorization": "Bearer lk-cli-0123456789"},
                          json={"model": "fake-model", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
        assert resp.status_code == 200
        assert httpx.post(url + "/v1/messages", json={}).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert (summary["status"], summary["calls"], summary["refused"], summary["logged"]) == ("OK", 1, 1, 1)
    assert "stopped after 1 call(s), 1 refused" in err
    assert "Traceback" not in err
    [line] = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert line["status"] == 200 and fake_llm.requests[0].headers["x-api-key"] == "sk-vendor-cli-000"
    assert "lk-cli-0123456789" not in err + out + log_path.read_text()


def test_an_empty_allowlist_is_announced_and_refuses_everyone(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    env = _env(ANTHROPIC_API_KEY="sk-vendor-cli-000", ANTHROPIC_BASE_URL=fake_llm.base_url,
               LOOM_PROXY_LOG_PATH=str(tmp_path / "calls.jsonl"))
    proc, url, lines = _start(env)
    try:
        notice = proc.stderr.readline() if proc.stderr else ""
        assert "no API keys configured" in "".join(lines) + notice
        _wait_healthy(url)
        resp = httpx.post(url + "/v1/messages", headers={"x-api-key": "anything-at-all"}, json={})
        assert resp.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)  # as a service manager stops it: same clean exit
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped after 0 call(s), 1 refused" in err
    assert fake_llm.requests == []


def test_missing_vendor_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([*LOOM, "proxy", "serve", "--port", "0"], env=_env(LOOM_API_KEY="lk-x-0123456"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "ANTHROPIC_API_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from loom.entrypoints.gateway.server import bind

    with bind("127.0.0.1", 0) as busy:
        port = str(busy.getsockname()[1])
        proc = subprocess.run([*LOOM, "proxy", "serve", "--port", port],
                              env=_env(ANTHROPIC_API_KEY="sk-vendor-cli-000"),
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unwritable_log_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = subprocess.run([*LOOM, "proxy", "serve", "--port", "0", "--log-path", str(blocker / "calls.jsonl")],
                          env=_env(ANTHROPIC_API_KEY="sk-vendor-cli-000"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "cannot write the call log" in proc.stderr and "Traceback" not in proc.stderr


def _line_with(proc: subprocess.Popen[str], text: str, timeout: float = 20.0) -> str:
    import select

    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.1)
        if ready:
            line = proc.stderr.readline()
            if text in line:
                return line
    raise AssertionError(f"no line with {text!r} on stderr")


def test_sighup_reloads_the_keys_file_and_edits_are_picked_up(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("lk-hup-old-0123456789 acme alice rpm=100\n")
    env = _env(ANTHROPIC_API_KEY="sk-vendor-cli-000", ANTHROPIC_BASE_URL=fake_llm.base_url,
               LOOM_API_KEYS_FILE=str(keys), LOOM_PROXY_LOG_PATH=str(tmp_path / "calls.jsonl"))
    proc, url, lines = _start(env)
    body = {"model": "fake-model", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    try:
        assert "1 API key(s), 1 with limits" in "".join(lines)
        _wait_healthy(url)
        proc.send_signal(signal.SIGHUP)  # no change to the file: only SIGHUP makes it re-read
        assert "reloaded 1 API key(s), 1 with limits" in _line_with(proc, "reloaded")
        keys.write_text("lk-hup-new-0123456789 acme bob models=other-*\n")
        _line_with(proc, "reloaded")  # the poll saw the edit
        new = httpx.post(url + "/v1/messages", headers={"x-api-key": "lk-hup-new-0123456789"}, json=body)
        old = httpx.post(url + "/v1/messages", headers={"x-api-key": "lk-hup-old-0123456789"}, json=body)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err
    assert (new.status_code, old.status_code) == (403, 401)
    assert "lk-hup" not in err
    assert fake_llm.requests == []


def test_keys_and_usage_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("lk-secret-0123456789 acme alice rpm=many\n")
    bad_keys = subprocess.run([*LOOM, "proxy", "keys"], env=_env(LOOM_API_KEYS_FILE=str(keys)),
                              capture_output=True, text=True, timeout=60)
    bad_since = subprocess.run([*LOOM, "proxy", "usage", "--since", "last tuesday", "--log-path", str(keys)],
                               env=_env(), capture_output=True, text=True, timeout=60)
    no_log = subprocess.run([*LOOM, "proxy", "usage", "--log-path", str(tmp_path / "none.jsonl")],
                            env=_env(), capture_output=True, text=True, timeout=60)
    for proc, says in ((bad_keys, "rpm must be a whole number"), (bad_since, "--since must be a date"),
                       (no_log, "no call log at")):
        assert proc.returncode == 2, proc.stderr
        assert says in proc.stderr and proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "lk-secret" not in bad_keys.stderr


def test_a_killed_server_loses_no_logged_spend(tmp_path: Path) -> None:
    from tests.fakes.anthropic_upstream import FastUpstream
    from tests.fakes.gateway_thread import wait_for_lines

    cost = (12 * 1.0 + 9 * 5.0) / 1e6  # one fast-upstream answer on claude-haiku-4-5
    keys, log_path = tmp_path / "keys", tmp_path / "calls.jsonl"
    keys.write_text(f"lk-kill-0123456789 acme alice max_usd={4.5 * cost!r}\n")
    body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    with FastUpstream() as up:
        env = _env(ANTHROPIC_API_KEY="sk-vendor-cli-000", ANTHROPIC_BASE_URL=up.base_url,
                   LOOM_API_KEYS_FILE=str(keys), LOOM_PROXY_LOG_PATH=str(log_path))
        proc, url, _ = _start(env)
        try:
            _wait_healthy(url)
            codes = [httpx.post(url + "/v1/messages", headers={"x-api-key": "lk-kill-0123456789"},
                                json=body).status_code for _ in range(3)]
            wait_for_lines(log_path, 3)
        finally:
            proc.kill()  # SIGKILL: no shutdown, no final snapshot
            proc.communicate(timeout=20)
        proc, url, _ = _start(env)
        try:
            restored = proc.stderr.readline() if proc.stderr else ""  # printed right after the URL
            _wait_healthy(url)
            after = [httpx.post(url + "/v1/messages", headers={"x-api-key": "lk-kill-0123456789"},
                                json=body).status_code for _ in range(3)]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=20)
        answered = up.count
    assert codes == [200, 200, 200] and after == [200, 200, 403]  # 3 before the kill + 2 = 5 >= 4.5
    assert answered == 5 and "spend restored from" in restored  # snapshot and/or log lines, by timing
    report = subprocess.run([*LOOM, "proxy", "keys", "--json"], env=env, capture_output=True, text=True, timeout=60)
    [key] = json.loads(report.stdout)["keys"]
    assert key["budget"]["spent_usd"] == pytest.approx(5 * cost) and key["budget"]["exhausted"] is True


def test_every_proxy_command_documents_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from loom.entrypoints.cli.app import main

    for command, flags in (("serve", ("--host", "--port", "--log-path", "--rate-limit-rpm")),
                           ("keys", ("--log-path",)), ("usage", ("--tenant", "--since", "--log-path"))):
        with pytest.raises(SystemExit) as exit_info:
            main(["proxy", command, "--help"])
        text = capsys.readouterr().out
        assert exit_info.value.code == 0 and "--json" in text
        assert all(flag in text for flag in flags), (command, text)
