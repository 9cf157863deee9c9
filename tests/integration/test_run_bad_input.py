"""`loom run` on bad input: exit 2 and one actionable line, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loom.entrypoints.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
CHURN = str(ROOT / "examples" / "churn")


def _layout(kind: str, tmp: Path) -> str:
    d = tmp / "data"
    d.mkdir()
    if kind == "no_train":
        (d / "test.csv").write_text("id,x\n1,2\n")
    elif kind == "empty_csv":
        (d / "train.csv").write_text("")
    elif kind == "header_only":
        (d / "train.csv").write_text("id,x,y\n")
    elif kind == "text_target":
        (d / "train.csv").write_text("id,x,y\n" + "".join(f"{i},{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(60)))
    elif kind == "negative_target":
        (d / "train.csv").write_text("id,x,y\n" + "".join(f"{i},{i % 7},{i * 0.5 - 9}\n" for i in range(60)))
    elif kind == "multiclass":
        (d / "train.csv").write_text("id,x,y\n" + "".join(f"{i},{i % 7},{i % 3}\n" for i in range(60)))
    return str(d)


CASES = {
    "missing dir": (["--data", "/nonexistent/loom-data"], "does not exist"),
    "empty dir": (["--data", "@empty"], "is empty"),
    "no train.csv": (["--data", "@no_train"], "no train.csv"),
    "empty csv": (["--data", "@empty_csv"], "is empty"),
    "header-only csv": (["--data", "@header_only"], "is empty"),
    "goal missing": (["--data", CHURN, "--goal", " "], "--goal"),
    "unknown metric": (["--data", CHURN, "--metric", "Maximize kappa"], "--metric-name"),
    "metric qualifier": (["--data", CHURN, "--metric", "Maximize accuracy per customer"], "'per customer'"),
    "RMSE on a text target": (["--data", "@text_target", "--metric", "Minimize RMSE of the log"], "numeric target"),
    "unknown target": (["--data", CHURN, "--target", "nope"], "--target 'nope'"),
    "unknown time column": (["--data", CHURN, "--time-column", "nope"], "--time-column 'nope'"),
    "binary F1 on a multiclass target": (["--data", "@multiclass", "--metric", "Maximize F1"], "f1_macro"),
    "Gini on a multiclass target": (["--data", "@multiclass", "--metric", "Maximize normalized Gini"], "ROC-AUC"),
    "Brier on a multiclass target": (["--data", "@multiclass", "--metric", "Minimize Brier score"], "log loss"),
    "median RMSE": (["--data", CHURN, "--metric", "Minimize median RMSE"], "'median'"),
    "F2 on a multiclass target": (["--data", "@multiclass", "--metric", "Maximize F2"], "no averaged F2"),
    "recall alone": (["--data", CHURN, "--metric", "Maximize recall"], '"Maximize F2" (favours recall)'),
    "precision alone": (["--data", CHURN, "--metric", "Maximize precision"], '"Maximize F0.5" (favours precision)'),
    "an F-beta Loom does not compute": (["--data", CHURN, "--metric", "Maximize F3"], "beta 3"),
    "MSLE on a negative target": (["--data", "@negative_target", "--metric", "Minimize MSLE"], "above -1"),
    "unknown search": (["--data", CHURN, "--search", "nope"], "unknown search provider 'nope'"),
    "unknown model provider": (["--data", CHURN, "--search", "aide", "--model-provider", "nope"], "nope"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case: str, tmp_path: Path, workdir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    extra, expected = CASES[case]
    extra = [_layout(a[1:], tmp_path) if a.startswith("@") else a for a in extra]
    flags = {"--search": "baseline", "--mlops": "local", "--goal": "Predict y", "--metric": "Maximize accuracy"}
    flags.update(dict(zip(extra[::2], extra[1::2])))
    argv = ["run", *[token for pair in flags.items() for token in pair]]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("loom: ") and expected in err
    assert not list((Path(workdir)).glob("**/runs/*/nodes"))  # nothing ran


def _resume(run_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--resume", run_id, "--search", "baseline", "--mlops", "local"])
    return int(exc.value.code), capsys.readouterr().err.strip()


@pytest.mark.parametrize("how", ["relative", "absolute", "dot-dot", "nested"])
def test_resume_takes_a_run_id_never_a_path(how: str, clean_env: Path, tmp_path: Path, workdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A folder outside LOOM_HOME/runs that holds a journal is never read, locked or written."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "journal.json").write_text('{"nodes": []}')
    (clean_env / "runs" / "r1").mkdir(parents=True)
    ref = {"relative": os.path.relpath(victim, clean_env / "runs"), "absolute": str(victim),
           "dot-dot": "..", "nested": "r1/" + os.path.relpath(victim, clean_env / "runs" / "r1")}[how]
    code, err = _resume(ref, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "is not a run id" in err
    assert sorted(p.name for p in victim.iterdir()) == ["journal.json"]  # no lock, nothing written


@pytest.mark.parametrize("journal", [
    '{"nodes": []}', '["a", "list"]', '{"task": {"metric": 5}, "nodes": []}', '{"task": {}, "nodes": []}',
    '{"task": null}', 'not json',
])
def test_a_malformed_journal_is_exit_2_naming_the_file(journal: str, clean_env: Path, workdir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = clean_env / "runs" / "20260101-000000-abcdef"
    run_dir.mkdir(parents=True)
    (run_dir / "journal.json").write_text(journal)
    code, err = _resume("20260101-000000-abcdef", capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and str(run_dir / "journal.json") in err
