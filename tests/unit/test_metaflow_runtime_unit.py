"""Metaflow runtime and ingest table logic, without running flows."""

from __future__ import annotations

import sys

import pytest

from loom.adapters.mlops.metaflow import tabular as tb
from loom.adapters.shared import metaflow_runtime as rt
from loom.application.config import LoomConfig


def test_embedded_env_points_at_loom_home(clean_env, monkeypatch):
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("USERNAME", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    config = LoomConfig.load(flags={"owned_by": "ana"})
    env = rt.metaflow_env(config)
    assert env["METAFLOW_DATASTORE_SYSROOT_LOCAL"] == str(clean_env / "metaflow")
    assert env["METAFLOW_DEFAULT_DATASTORE"] == env["METAFLOW_DEFAULT_METADATA"] == "local"
    assert env["METAFLOW_USER"] == "ana"
    assert "ANTHROPIC_API_KEY" not in rt.subprocess_env(config)


def test_flow_processes_do_not_walk_up_into_looms_own_checkout(clean_env, monkeypatch):
    """Metaflow asks git about the flow file's folder in every process; from Loom's flows folder
    the question stops at the `loom` package instead of finding a source checkout above it."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    import loom.adapters.mlops.metaflow.data as data

    git = shutil.which("git")
    if git is None:
        pytest.skip("no git on this machine")
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES", raising=False)
    flows = Path(data.INGEST_FLOW_FILE).parent

    def inside(env: dict[str, str]) -> bool:
        out = subprocess.run([git, "rev-parse", "--is-inside-work-tree"], cwd=flows, env=env,
                             capture_output=True, text=True)
        return out.returncode == 0 and out.stdout.strip() == "true"

    env = rt.subprocess_env(LoomConfig.load())
    assert env["GIT_CEILING_DIRECTORIES"].split(os.pathsep)[-1] == str(flows.parents[3])  # .../loom
    assert not inside(env)
    monkeypatch.setenv("METAFLOW_PROFILE", "team")  # the user's own Metaflow: left as Metaflow does it
    assert "GIT_CEILING_DIRECTORIES" not in rt.subprocess_env(LoomConfig.load())


def test_user_profile_means_loom_sets_no_datastore(monkeypatch):
    monkeypatch.setenv("METAFLOW_PROFILE", "team")
    config = LoomConfig.load()
    assert not rt.embedded(config)
    env = rt.metaflow_env(config)
    assert env.get("METAFLOW_PROFILE") == "team"
    assert not any(k.startswith(("METAFLOW_DEFAULT", "METAFLOW_DATASTORE")) for k in env)


def test_with_specs_split_on_semicolons_only():
    assert rt._with_specs("kubernetes:cpu=2,memory=4000; retry") == ["kubernetes:cpu=2,memory=4000", "retry"]
    assert rt._with_specs(None) == []


def test_last_error_line_finds_the_exception():
    lines = [
        "2026-11-24 05:23:56.135 [17/start/1 (pid 7700)] Traceback (most recent call last):",
        "2026-11-24 05:23:56.135 [17/start/1 (pid 7700)] ValueError: unlucky x",
        "2026-11-24 05:23:56.136 [17/start/1 (pid 7700)] Task failed.",
        "2026-11-24 05:23:56.136 Workflow failed.",
        "    Step failure:",
        "    Step start (task-id 1) failed.",
    ]
    assert rt.last_error_line(lines) == "ValueError: unlucky x"
    assert rt._INPUT_ERROR.match("loom.x.LoomInputError: bad table").group(1) == "bad table"


def test_run_flow_missing_file_is_a_failure(tmp_path):
    from loom.domain.errors import ExecutionFailed

    with pytest.raises(ExecutionFailed):
        rt.run_flow(tmp_path / "nope.py", {}, LoomConfig.load())


def test_tables_target_split_and_fingerprint(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"id": range(50), "x": [i * 0.5 for i in range(50)], "label": [i % 2 for i in range(50)]})
    assert tb.infer_target(df, df.drop(columns="label"), None, None) == "label"
    assert tb.infer_target(df, None, None, None) == "label"
    assert tb.id_columns(df, "label") == ["id"]
    assert tb.task_type(df["label"]) == "classification"
    assert tb.task_type(df["x"] * 1.37) == "regression"
    train, test, labels = tb.split(df, "label", 0.2, seed=3)
    assert len(test) == 10 and "label" not in test.columns and list(labels.columns) == ["label"]
    again = tb.split(df, "label", 0.2, seed=3)
    assert train.equals(again[0])
    fp = tb.fingerprint({"train": train, "test": test})
    assert fp == tb.fingerprint({"train": again[0], "test": again[1]})
    assert fp != tb.fingerprint({"train": train.assign(x=train["x"] + 1), "test": test})
    with pytest.raises(tb.LoomInputError):
        tb.infer_target(df, None, None, "nope")
    two = pd.DataFrame({"id": [1], "label": [0], "x": [0.0]})  # a sample submission asking for two targets
    with pytest.raises(tb.LoomInputError, match=r"2 target columns \(label, x\)"):
        tb.infer_target(df, df.drop(columns=["label", "x"]), two, None)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\xff\xfe\x00garbage")
    with pytest.raises(tb.LoomInputError, match="cannot read bad.csv"):
        tb.read_table(bad)


def test_importing_the_adapter_is_light():
    import subprocess

    code = ("import sys, loom.adapters.mlops.metaflow as m; "
            "print(any(n in sys.modules for n in ('metaflow', 'pandas', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


FAKE_PYTHON = """#!/bin/sh
# Stands in for LOOM_PYTHON: records argv, cwd and env, then writes the run id like Metaflow.
printf '%s\\n' "$@" > "$LOOM_TEST_RECORD.argv"
pwd > "$LOOM_TEST_RECORD.cwd"
env > "$LOOM_TEST_RECORD.env"
while [ $# -gt 0 ]; do
  if [ "$1" = "--run-id-file" ]; then echo 4242 > "$2"; fi
  shift
done
echo "Metaflow 2.x executing FakeFlow for user:x"
"""


def test_run_flow_argv_passes_params_tags_and_with(tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    flow = tmp_path / "fake_flow.py"
    flow.write_text("from metaflow import FlowSpec\nclass FakeFlow(FlowSpec):\n    pass\n")
    record = tmp_path / "rec"
    monkeypatch.setenv("LOOM_TEST_RECORD", str(record))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-forwarded")
    monkeypatch.delenv("USER", raising=False)
    config = LoomConfig.load(flags={"python": str(fake), "metaflow_with": "kubernetes:cpu=2,memory=4000;retry"})
    pathspec = rt.run_flow(flow, {"source": "/d", "test-fraction": 0.3, "skip": None, "flag": True}, config,
                           tags=["tenant:acme", ""], with_=config.metaflow_with)
    assert pathspec == "FakeFlow/4242"
    argv = (tmp_path / "rec.argv").read_text().split("\n")
    assert argv[:3] == [str(flow.resolve()), "--no-pylint", "run"]
    joined = " ".join(argv)
    assert "--source /d --test-fraction 0.3 --flag true --tag tenant:acme" in joined and "--skip" not in joined
    assert "--with kubernetes:cpu=2,memory=4000 --with retry" in joined
    assert (tmp_path / "rec.cwd").read_text().strip() == str(rt.datastore_root(config))
    env = (tmp_path / "rec.env").read_text()
    assert "METAFLOW_USER=" in env and "sk-never-forwarded" not in env
    assert f"METAFLOW_DATASTORE_SYSROOT_LOCAL={rt.datastore_root(config)}" in env


def test_missing_interpreter_is_a_config_error(tmp_path):
    from loom.domain.errors import ConfigError

    flow = tmp_path / "f.py"
    flow.write_text("class F(FlowSpec): pass\n")
    config = LoomConfig.load(flags={"python": str(tmp_path / "no-python")})
    with pytest.raises(ConfigError, match="LOOM_PYTHON"):
        rt.run_flow(flow, {}, config)


def test_the_sniff_before_an_ingest_reads_a_few_bytes_with_the_stdlib(tmp_path):
    import subprocess

    cases = {"bin.csv": (b"\x00\xff\xfe\x00garbage", "not a text CSV"),
             "empty.csv": (b"\n\n", "no rows or no columns"),
             "fake.parquet": (b"id,x\n1,2\n", "not a Parquet file")}
    for name, (blob, message) in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(tb.LoomInputError, match=message):
            tb.sniff(tmp_path / name)
    latin = tmp_path / "latin.csv"  # cp1252 / Latin-1 text: the step reads it so
    latin.write_bytes("name,city\nJos\xe9,M\xfcnchen\n".encode("latin-1"))
    tb.sniff(latin)
    good = tmp_path / "good.csv"  # a BOM, and a two-byte character cut by the sample's end: both fine
    good.write_bytes(b"\xef\xbb\xbfid,city\n" + "1,Zürich\n".encode() * 10)
    tb.sniff(good, size=len(b"\xef\xbb\xbfid,city\n1,Z") + 1)
    code = f"import sys; from loom.adapters.mlops.metaflow import tabular as tb; tb.sniff({str(good)!r}); " \
           "print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_stream_returns_the_exit_code_and_every_line(tmp_path):
    code = "import sys; print('one'); print('two'); sys.exit(3)"
    lines, rc, stopped, _ = rt._stream([sys.executable, "-c", code], tmp_path, {}, None, None)
    assert (lines, rc, stopped) == (["one", "two"], 3, None)


def test_stream_detaches_on_the_line_and_leaves_the_process_running(tmp_path):
    code = "import time; print('end task', flush=True); time.sleep(30)"
    lines, rc, stopped, proc = rt._stream([sys.executable, "-c", code], tmp_path, {}, None, None,
                                          detach_when=lambda line: line.startswith("end task"))
    try:
        assert stopped == "detached" and rc is None and proc.poll() is None and lines == ["end task"]
    finally:
        rt.kill_group(proc)
    assert proc.returncode is not None


def test_stream_stops_a_run_past_its_timeout_or_when_cancelled(tmp_path):
    import threading

    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    _, _, stopped, proc = rt._stream(sleeper, tmp_path, {}, 0.3, None)
    assert stopped == "timeout" and proc.returncode is not None
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    _, _, stopped, proc = rt._stream(sleeper, tmp_path, {}, None, None, cancel=cancel)
    assert stopped == "cancel" and proc.returncode is not None
