"""CLI hygiene (new-user audit, batch C): a bad LOOM_HOME / LOOM_PYTHON / LOOM_METAFLOW_WITH / --config
file, `deploy` with both sources, the owner without $USER, and messages' grammar and flag names.
Each is one `loom:` line and exit 2 before any work, never an internal error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loom.application.config import LoomConfig
from loom.domain.errors import ConfigError, UsageError
from loom.entrypoints.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "churn"
RUN = ["run", "--search", "baseline", "--mlops", "local", "--data", str(CHURN), "--goal", "g",
       "--metric", "Maximize ROC-AUC", "--steps", "2"]


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loom: "), err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


# 1. LOOM_HOME a file, or a folder Loom cannot write --------------------------------------------
@pytest.mark.parametrize("argv", [["runs"], ["datasets"], RUN, ["ingest", "--source", str(CHURN)]],
                         ids=["runs", "datasets", "run", "ingest"])
def test_a_loom_home_that_is_a_file_is_exit_2_naming_it(argv: list[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "f"
    home.write_text("hi\n")
    monkeypatch.setenv("LOOM_HOME", str(home))
    assert _main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert "LOOM_HOME" in line and str(home) in line and "not a folder" in line
    assert home.read_text() == "hi\n"  # nothing written over the user's file
    monkeypatch.setenv("LOOM_HOME", str(home / "below"))  # a file on its path
    assert _main(argv) == 2
    assert "LOOM_HOME" in _one_line(capsys.readouterr().err)


def test_doctor_reports_a_bad_loom_home_as_a_fail_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "f"
    home.write_text("hi\n")
    monkeypatch.setenv("LOOM_HOME", str(home))
    assert _main(["doctor", "--search", "baseline", "--mlops", "metaflow", "--json"]) == 2
    out = capsys.readouterr()
    checks = json.loads(out.out)["checks"]
    first = checks[0]
    assert first["subject"] == "LOOM_HOME" and first["level"] == "FAIL" and "not a folder" in first["detail"]
    assert "LOOM_HOME" in first["fix"]
    assert "internal error" not in out.err
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "fine"))
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["checks"][0]["level"] == "PASS"


def test_an_os_error_inside_loom_home_maps_to_a_config_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Wherever a verb touches LOOM_HOME after the up-front check, a permission or read-only
    error is LOOM_HOME's one line (exit 2); an OSError elsewhere stays an internal error."""
    from loom.application.local_setup import home_os_error
    from loom.entrypoints.cli.errors import note_home, run_guarded

    home = tmp_path / "home"
    err = home_os_error(PermissionError(13, "Permission denied", str(home / "runs" / "x")), home)
    assert isinstance(err, ConfigError) and "LOOM_HOME" in err.message and "Permission denied" in err.message
    assert home_os_error(OSError(30, "Read-only file system", str(home)), home) is not None
    assert home_os_error(PermissionError(13, "Permission denied", "/etc/shadow"), home) is None

    def touches_home() -> int:
        note_home(home)
        raise PermissionError(13, "Permission denied", str(home / "runs"))

    assert run_guarded(touches_home, []) == 2
    assert "LOOM_HOME" in _one_line(capsys.readouterr().err)

    def elsewhere() -> int:
        note_home(home)
        raise PermissionError(13, "Permission denied", "/elsewhere")

    assert run_guarded(elsewhere, []) == 1
    assert "internal error" in capsys.readouterr().err


def test_a_read_only_loom_home_is_found_before_any_work(tmp_path: Path) -> None:
    from loom.application.local_setup import home_problem

    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    if os.geteuid() != 0:
        assert "not writable" in (home_problem(ro) or "")
        assert "not writable" in (home_problem(ro / "below") or "")
    assert home_problem(tmp_path / "new" / "home") is None  # created later, under a writable folder
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return
    # as root: drop the capabilities that let root write anywhere, as an ordinary user is
    done = subprocess.run(
        [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", sys.executable, "-m",
         "loom.entrypoints.cli.app", "runs"],
        env={**os.environ, "LOOM_HOME": str(ro)}, capture_output=True, text=True, timeout=120,
    )
    if "setpriv:" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 2, done.stderr
    assert "LOOM_HOME" in _one_line(done.stderr) and "not writable" in done.stderr


# 2. LOOM_PYTHON that does not start --------------------------------------------------------------
def test_a_bad_loom_python_stops_a_run_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    monkeypatch.setenv("LOOM_PYTHON", "/nonexistent/python")
    assert _main(RUN) == 2
    line = _one_line(capsys.readouterr().err)
    assert "LOOM_PYTHON" in line and "/nonexistent/python" in line
    assert not (clean_env / "runs").exists() or not any((clean_env / "runs").iterdir())  # no run was started
    monkeypatch.setenv("LOOM_PYTHON", str(tmp_path))  # a folder
    assert _main(RUN) == 2
    assert "a folder" in _one_line(capsys.readouterr().err)


def test_doctor_fails_a_bad_loom_python(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOOM_PYTHON", "/nonexistent/python")
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 2
    checks = {c["subject"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["LOOM_PYTHON"]["level"] == "FAIL" and "/nonexistent/python" in checks["LOOM_PYTHON"]["detail"]
    monkeypatch.setenv("LOOM_PYTHON", shutil.which("false") or "/bin/false")  # starts, but is not Python
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 2
    checks = {c["subject"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["LOOM_PYTHON"]["level"] == "FAIL"
    monkeypatch.delenv("LOOM_PYTHON")
    assert _main(["doctor", "--search", "baseline", "--mlops", "local", "--json"]) == 0
    checks = {c["subject"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["LOOM_PYTHON"]["level"] == "PASS" and "Python 3." in checks["LOOM_PYTHON"]["detail"]


# 3. --config edge cases ----------------------------------------------------------------------------
def test_a_config_file_that_is_not_utf8_or_a_directory_is_one_line(workdir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    latin = workdir / "latin.yaml"
    latin.write_bytes("tenant: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml is not UTF-8 text \(byte 0xe9 at offset 11\)"):
        LoomConfig.load(yaml_file=latin)
    folder = workdir / "conf.d"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        LoomConfig.load(yaml_file=folder)
    assert _main(["runs", "--config", str(latin)]) == 2
    assert "UTF-8" in _one_line(capsys.readouterr().err)


def test_an_unknown_yaml_key_is_called_unknown_first(workdir: Path) -> None:
    yml = workdir / "c.yaml"
    yml.write_text("bogus_key: 1\n")
    with pytest.raises(ConfigError) as err:
        LoomConfig.load(yaml_file=yml)
    assert err.value.message.startswith("unknown key 'bogus_key'") and "looks like a secret" not in err.value.message
    yml.write_text("bogus: 1\n")
    with pytest.raises(ConfigError, match=r"^unknown key 'bogus' in .*; known keys: .*budget_steps"):
        LoomConfig.load(yaml_file=yml)
    yml.write_text("anthropic_api_key: sk-ant-xxxxxxxx\n")  # a real secret: said, and where it goes
    with pytest.raises(ConfigError, match=r"^unknown key 'anthropic_api_key'.*export ANTHROPIC_API_KEY"):
        LoomConfig.load(yaml_file=yml)


# 4. LOOM_METAFLOW_WITH naming no decorator -------------------------------------------------------------
def test_metaflow_with_names_only_known_step_decorators() -> None:
    pytest.importorskip("metaflow")
    from loom.adapters.shared import metaflow_runtime as rt

    config = LoomConfig.load(env_file=None)
    assert rt.with_specs("kubernetes:cpu=4,memory=16384; retry:times=2", config) == [
        "kubernetes:cpu=4,memory=16384", "retry:times=2"]
    with pytest.raises(ConfigError, match=r"LOOM_METAFLOW_WITH: 'bogus' is not a Metaflow step decorator.*kubernetes"):
        rt.with_specs("retry;bogus:x=1", config)


def test_a_bad_metaflow_with_stops_a_run_and_fails_doctor(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    pytest.importorskip("metaflow")
    monkeypatch.setenv("LOOM_METAFLOW_WITH", "bogus")
    argv = [*RUN[:4], "metaflow", *RUN[5:]]
    assert _main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert "LOOM_METAFLOW_WITH" in line and "'bogus'" in line
    assert not (clean_env / "runs").exists() or not any((clean_env / "runs").iterdir())
    assert _main(["doctor", "--search", "baseline", "--mlops", "metaflow", "--json"]) == 2
    checks = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["subject"] == "metaflow --with"]
    assert checks and checks[0]["level"] == "FAIL" and "bogus" in checks[0]["detail"]


# 5. validate --positive naming no class ---------------------------------------------------------------
def test_validate_positive_must_name_a_class() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    from loom.adapters.mlops.metaflow.lifecycle.analysis import predictors, validation

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["no", "yes"], size=200)})
    pred = predictors.BaselinePredictor("y", "classification", ["no", "yes"])
    with pytest.raises(UsageError, match=r"--positive 'maybe' is not a class of 'y'; its classes: no, yes"):
        validation.cross_validate(df, "y", "classification", pred, folds=3, positive="maybe")
    assert validation.cross_validate(df, "y", "classification", pred, folds=3, positive=" no")["positive_class"] == "no"
    validation.check_positive("3.5", "regression", [], "y")  # a regression target has no classes to name


# 6. deploy with both --validate and --solution ---------------------------------------------------------
def test_deploy_takes_one_source_not_both() -> None:
    from loom.application.lifecycle.deploy import DeploySolution

    with pytest.raises(UsageError, match="pass one of --validate ValidateFlow/N or --solution RUN, not both"):
        DeploySolution(object())(validate="ValidateFlow/1", solution="x")
    with pytest.raises(UsageError, match="pass one of"):
        DeploySolution(object())()


# 7. owned_by without $USER -------------------------------------------------------------------------------
def test_owner_falls_back_to_the_login_name_of_the_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    pwd = pytest.importorskip("pwd")
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("USERNAME", raising=False)
    assert LoomConfig.load(env_file=None).owned_by == pwd.getpwuid(os.getuid()).pw_name != "unknown"
    monkeypatch.setenv("USER", "ada")
    assert LoomConfig.load(env_file=None).owned_by == "ada"


# 8. grammar and flag names ------------------------------------------------------------------------------------
def test_articles_and_plurals_follow_the_words() -> None:
    from loom.domain.pathspec import Pathspec
    from loom.domain.wording import plural, with_article

    with pytest.raises(UsageError) as err:
        Pathspec.parse("IngestDataset/3").expect_flow("EdaFlow")
    assert err.value.message == "IngestDataset/3 is an IngestDataset run; this needs an EdaFlow pathspec"
    with pytest.raises(UsageError, match="is a FeaturesFlow run; this needs a ValidateFlow pathspec"):
        Pathspec.parse("FeaturesFlow/3").expect_flow("ValidateFlow")
    assert [with_article(w) for w in ("RMSE", "F1", "user", "hour", "regression", "item")] == [
        "an RMSE", "an F1", "a user", "an hour", "a regression", "an item"]
    assert (plural(1, "node"), plural(0, "node"), plural(2, "class", "classes")) == ("1 node", "0 nodes", "2 classes")


@pytest.mark.parametrize(("flag", "value"), [("--steps", "0"), ("--num-drafts", "0"), ("--workers", "0"),
                                             ("--debug-prob", "2")])
def test_a_bad_flag_value_is_named_by_its_flag(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a for a in RUN if a not in ("--steps", "2")] + [flag, value]
    assert _main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"for {flag}:" in line and "budget_" not in line, line


def test_every_flag_in_the_config_table_is_the_one_errors_name() -> None:
    """README's configuration table pairs each LOOM_ variable with its flag: errors name that flag."""
    from loom.entrypoints.cli.common import flag_of

    rows = re.findall(r"^\| (LOOM_[A-Z_]+) \| (--[a-z-]+)(?: /[^|]*)? \|", (ROOT / "README.md").read_text(), re.M)
    assert len(rows) >= 8, rows
    for env, flag in rows:
        assert flag_of(env.removeprefix("LOOM_").lower()) == flag, (env, flag)


def test_every_verb_names_its_config_overrides_by_its_own_flags() -> None:
    """Each `load_config(common, field=param)` in a verb: the flag errors name is that verb's parameter."""
    import ast

    from loom.entrypoints.cli.common import flag_of

    checked = 0
    for path in sorted((ROOT / "src" / "loom" / "entrypoints" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text())
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            params = {a.arg for a in func.args.kwonlyargs + func.args.args}
            for call in [n for n in ast.walk(func) if isinstance(n, ast.Call)]:
                if getattr(call.func, "id", None) != "load_config":
                    continue
                override = ast.literal_eval(call.args[1]) if len(call.args) > 1 else {}
                for kw in call.keywords:
                    if kw.arg is None or not isinstance(kw.value, ast.Name) or kw.value.id not in params:
                        continue
                    flag = override.get(kw.arg) or flag_of(kw.arg)
                    assert flag == "--" + kw.value.id.replace("_", "-"), (path.name, func.name, kw.arg, flag)
                    checked += 1
    assert checked >= 15
